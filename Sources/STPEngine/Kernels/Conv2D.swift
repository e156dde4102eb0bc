// 2-D convolution in NHWC layout, by im2col and one sgemm per chunk of images.
//
//   input   x      [N, H, W, Cin]          (activations are always compact: Cin is the active count)
//   weight  w      [Cout, KH, KW, Cin]     ("packed": OHWI, the GEMM operand; see ConvWeights)
//   output  y      [N, OH, OW, Cout]       OH = (H + 2*pad - KH) / stride + 1
//
//   forward:   y[p, o]   = sum_k col[p, k] * w[o, k]          p = (n, oy, ox), k = (ky, kx, c)
//   backward:  dw[o, k] += sum_p dy[p, o] * col[p, k]
//              dcol[p, k] = sum_o dy[p, o] * w[o, k];  dx = col2im(dcol)   (accumulated into dx)
//
// A 1x1, stride-1, unpadded convolution needs no im2col: the input already is the col matrix.
// Images are processed in chunks so that the col buffer stays bounded (ConvGeometry.chunkImages).

public struct ConvGeometry: Equatable, Sendable {
    public var batch: Int, height: Int, width: Int, inChannels: Int
    public var outChannels: Int, kernelH: Int, kernelW: Int, stride: Int, padding: Int
    /// Upper bound of one chunk's col matrix, in floats (tests lower it to exercise chunking).
    public var maxColFloats: Int = ConvGeometry.defaultMaxColFloats

    public init(batch: Int, height: Int, width: Int, inChannels: Int, outChannels: Int,
                kernel: Int, stride: Int, padding: Int) {
        self.batch = batch; self.height = height; self.width = width; self.inChannels = inChannels
        self.outChannels = outChannels; self.kernelH = kernel; self.kernelW = kernel
        self.stride = stride; self.padding = padding
    }

    public var outHeight: Int { (height + 2 * padding - kernelH) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernelW) / stride + 1 }
    /// Length of one im2col row: the reduction dimension of the GEMM.
    public var patchSize: Int { kernelH * kernelW * inChannels }
    public var inputCount: Int { batch * height * width * inChannels }
    public var outputCount: Int { batch * outHeight * outWidth * outChannels }
    public var isPointwise: Bool { kernelH == 1 && kernelW == 1 && stride == 1 && padding == 0 }
    /// Multiply-accumulates of one forward pass.
    public var macs: Int { batch * outHeight * outWidth * outChannels * patchSize }

    /// Images per chunk so that one chunk's col matrix holds at most `maxColFloats` floats.
    public func chunkImages() -> Int {
        let perImage = outHeight * outWidth * patchSize
        return max(1, min(batch, maxColFloats / max(perImage, 1)))
    }

    /// Floats of col scratch this convolution needs.
    public var colScratchFloats: Int { isPointwise ? 0 : chunkImages() * outHeight * outWidth * patchSize }

    public static let defaultMaxColFloats = 6 * 1024 * 1024
}

/// Unfolds `images` images of x (NHWC) into col[(n, oy, ox), (ky, kx, c)], zero outside the image.
func im2col(_ x: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, col: UnsafeMutablePointer<Float>) {
    let c = g.inChannels, oh = g.outHeight, ow = g.outWidth, k = g.patchSize
    for n in 0..<images {
        let image = x + n * g.height * g.width * c
        for oy in 0..<oh {
            for ox in 0..<ow {
                var dst = col + ((n * oh + oy) * ow + ox) * k
                for ky in 0..<g.kernelH {
                    let iy = oy * g.stride - g.padding + ky
                    for kx in 0..<g.kernelW {
                        let ix = ox * g.stride - g.padding + kx
                        if iy >= 0 && iy < g.height && ix >= 0 && ix < g.width {
                            dst.update(from: image + (iy * g.width + ix) * c, count: c)
                        } else {
                            dst.update(repeating: 0, count: c)
                        }
                        dst += c
                    }
                }
            }
        }
    }
}

/// Folds col back onto dx, adding every patch element to the pixel it came from.
func col2imAccumulate(_ col: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, dx: UnsafeMutablePointer<Float>) {
    let c = g.inChannels, oh = g.outHeight, ow = g.outWidth, k = g.patchSize
    for n in 0..<images {
        let image = dx + n * g.height * g.width * c
        for oy in 0..<oh {
            for ox in 0..<ow {
                var src = col + ((n * oh + oy) * ow + ox) * k
                for ky in 0..<g.kernelH {
                    let iy = oy * g.stride - g.padding + ky
                    for kx in 0..<g.kernelW {
                        let ix = ox * g.stride - g.padding + kx
                        if iy >= 0 && iy < g.height && ix >= 0 && ix < g.width {
                            let dst = image + (iy * g.width + ix) * c
                            for i in 0..<c { dst[i] += src[i] }
                        }
                        src += c
                    }
                }
            }
        }
    }
}

/// y = conv(x, w). `col` must hold `g.colScratchFloats` floats.
public func conv2dForward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                          y: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>) {
    let rowsPerImage = g.outHeight * g.outWidth
    if g.isPointwise {
        sgemm(transA: false, transB: true, m: g.batch * rowsPerImage, n: g.outChannels, k: g.patchSize,
              a: x, lda: g.patchSize, b: w, ldb: g.patchSize, beta: 0, c: y, ldc: g.outChannels)
        return
    }
    let chunk = g.chunkImages()
    var n0 = 0
    while n0 < g.batch {
        let images = min(chunk, g.batch - n0)
        im2col(x + n0 * g.height * g.width * g.inChannels, images: images, g, col: col)
        sgemm(transA: false, transB: true, m: images * rowsPerImage, n: g.outChannels, k: g.patchSize,
              a: col, lda: g.patchSize, b: w, ldb: g.patchSize,
              beta: 0, c: y + n0 * rowsPerImage * g.outChannels, ldc: g.outChannels)
        n0 += images
    }
}

/// dw += conv weight gradient; dx += input gradient when `dx` is given.
public func conv2dBackward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                           dy: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>,
                           dx: UnsafeMutablePointer<Float>?, col: UnsafeMutablePointer<Float>) {
    let rowsPerImage = g.outHeight * g.outWidth
    if g.isPointwise {
        let rows = g.batch * rowsPerImage
        sgemm(transA: true, transB: false, m: g.outChannels, n: g.patchSize, k: rows,
              a: dy, lda: g.outChannels, b: x, ldb: g.patchSize, beta: 1, c: dw, ldc: g.patchSize)
        if let dx {
            sgemm(transA: false, transB: false, m: rows, n: g.patchSize, k: g.outChannels,
                  a: dy, lda: g.outChannels, b: w, ldb: g.patchSize, beta: 1, c: dx, ldc: g.patchSize)
        }
        return
    }
    let chunk = g.chunkImages()
    var n0 = 0
    while n0 < g.batch {
        let images = min(chunk, g.batch - n0)
        let rows = images * rowsPerImage
        let dyChunk = dy + n0 * rowsPerImage * g.outChannels
        im2col(x + n0 * g.height * g.width * g.inChannels, images: images, g, col: col)
        sgemm(transA: true, transB: false, m: g.outChannels, n: g.patchSize, k: rows,
              a: dyChunk, lda: g.outChannels, b: col, ldb: g.patchSize, beta: 1, c: dw, ldc: g.patchSize)
        if let dx {
            // col is free again: reuse it for the input-gradient patches.
            sgemm(transA: false, transB: false, m: rows, n: g.patchSize, k: g.outChannels,
                  a: dyChunk, lda: g.outChannels, b: w, ldb: g.patchSize, beta: 0, c: col, ldc: g.patchSize)
            col2imAccumulate(col, images: images, g, dx: dx + n0 * g.height * g.width * g.inChannels)
        }
        n0 += images
    }
}

// MARK: - Weight packing: shared OIHW weights <-> the OHWI GEMM operand of an active slice

/// Copies the first `outChannels` x `inChannels` slice of an OIHW weight [fullOut, fullIn, kh, kw]
/// into OHWI order [outChannels, kh, kw, inChannels]. This is how a subnet runs on a slice of the
/// shared weights: by copying the slice, never by masking.
public func packConvWeight(_ w: UnsafePointer<Float>, fullIn: Int, kernelH: Int, kernelW: Int,
                           outChannels: Int, inChannels: Int, into packed: UnsafeMutablePointer<Float>) {
    let taps = kernelH * kernelW
    for o in 0..<outChannels {
        let src = w + o * fullIn * taps
        let dst = packed + o * taps * inChannels
        for c in 0..<inChannels {
            for t in 0..<taps { dst[t * inChannels + c] = src[c * taps + t] }
        }
    }
}

/// Adds a packed OHWI gradient slice back into the full OIHW gradient.
public func unpackConvGradientAccumulate(_ packed: UnsafePointer<Float>, fullIn: Int, kernelH: Int, kernelW: Int,
                                         outChannels: Int, inChannels: Int, into dw: UnsafeMutablePointer<Float>) {
    let taps = kernelH * kernelW
    for o in 0..<outChannels {
        let src = packed + o * taps * inChannels
        let dst = dw + o * fullIn * taps
        for c in 0..<inChannels {
            for t in 0..<taps { dst[c * taps + t] += src[t * inChannels + c] }
        }
    }
}
