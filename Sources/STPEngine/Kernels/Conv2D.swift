import STPKernelsAVX512

// 2-D convolution in NHWC layout: implicit GEMM on the AVX-512 kernels (ImplicitConv.swift) when
// the CPU allows (forward: any width, wide layers in 64-column panels; weight gradients: at most
// 64 output channels), otherwise im2col and one sgemm per chunk of images.
//
//   input   x      [N, H, W, Cin]          (activations are always compact: Cin is the active count)
//   weight  w      [Cout, KH, KW, Cin]     ("packed": OHWI, the GEMM operand; see packConvWeight)
//   output  y      [N, OH, OW, Cout]       OH = (H + 2*pad - KH) / stride + 1
//
//   forward:   y[p, o]   = sum_k col[p, k] * w[o, k]          p = (n, oy, ox), k = (ky, kx, c)
//   backward:  dw[o, k] += sum_p dy[p, o] * col[p, k]
//              dx = (accumulate ? dx : 0) + input gradient, computed
//                - for stride 1 as a convolution of dy with the flipped, transposed weights
//                  (no col2im scatter, and dx is written directly by the GEMM);
//                - otherwise as dcol = dy * w followed by col2im.
//
// On the AVX-512 path a 3x3 stride-1 convolution runs by Winograd F(2x2, 3x3) (WinogradConv.swift).
// A 1x1, stride-1, unpadded convolution needs no im2col: the input already is the col matrix.
// On the AVX-512 path an output channel count that is not a multiple of 8 runs on zero-padded
// weights (see FastKernels).
// Images are split across workers and processed in chunks so that the col buffer stays bounded;
// with fewer images than workers, the OpenBLAS path shares each image (SharedImageConv.swift).
// `fast` (default FastKernels.available) selects the AVX-512 path where it applies.

public struct ConvGeometry: Equatable, Sendable {
    public var batch: Int, height: Int, width: Int, inChannels: Int
    public var outChannels: Int, kernelH: Int, kernelW: Int, stride: Int, padding: Int
    /// Upper bound of one chunk's col matrix, in floats (tests lower it to exercise chunking).
    public var maxColFloats: Int = ConvGeometry.defaultMaxColFloats
    /// Multiply-accumulates per worker below which a batch with fewer images than workers runs
    /// on one worker instead of splitting rows (tests lower it to exercise the split). On the
    /// spinning WorkerPool a split costs a few microseconds, so every full-width CIFAR layer
    /// (about 2.4M MACs at batch 1) splits: batch-1 ResNet-20 0.50 -> 0.43 ms. (On Dispatch,
    /// which wakes its threads for each section, it made two threads slower than one.)
    public var rowSplitMinimumMACs: Int = 1_000_000
    /// Whether a 3x3 stride-1 convolution may run by Winograd (usesWinograd); tests turn it off
    /// to check the direct kernels on the same shapes.
    public var allowsWinograd: Bool = true

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

    /// Images per chunk for one of `workers` workers, so that a chunk's col matrix holds at most
    /// `maxColFloats` floats.
    public func chunkImages(workers: Int = 1) -> Int {
        let perImage = outHeight * outWidth * patchSize
        let perWorker = (batch + workers - 1) / workers
        return max(1, min(perWorker, maxColFloats / max(perImage, 1)))
    }

    /// Workers that have something to do: never more than there are images (or rows, 1x1).
    public func activeWorkers(_ workers: Int) -> Int {
        isPointwise ? max(1, min(workers, batch * outHeight * outWidth / 64)) : max(1, min(workers, batch))
    }

    /// Floats of col scratch one worker needs.
    public func colFloatsPerWorker(workers: Int) -> Int {
        isPointwise ? 0 : chunkImages(workers: activeWorkers(workers)) * outHeight * outWidth * patchSize
    }

    /// Floats of scratch for all workers (the `col` argument of forward and backward): im2col
    /// chunks, or one zero-padded image per worker on the implicit (AVX-512) path.
    public func colScratchFloats(workers: Int = 1) -> Int {
        max(activeWorkers(workers) * colFloatsPerWorker(workers: workers),
            isPointwise ? 0 : implicitScratchFloats(workers: workers),
            usesWinograd ? winogradScratchFloats(workers: workers) : 0)
    }

    /// Floats of the per-worker weight-gradient partial sums (the `dwScratch` argument of backward).
    public func weightGradientScratchFloats(workers: Int = 1) -> Int { (activeWorkers(workers) - 1) * outChannels * patchSize }

    /// A few CIFAR images' col matrix (1 MiB): small enough to stay in L2 between im2col and the GEMM
    /// that reads it, which measured faster than large chunks (see docs/PERFORMANCE.md).
    public static let defaultMaxColFloats = 256 * 1024
}

/// Unfolds `images` images of x (NHWC) into col[(n, oy, ox), (ky, kx, c)], zero outside the image.
func im2col(_ x: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, col: UnsafeMutablePointer<Float>) {
    let imageIn = g.height * g.width * g.inChannels, imageCol = g.outHeight * g.outWidth * g.patchSize
    for n in 0..<images {
        im2colRows(x + n * imageIn, g, outputRows: 0..<g.outHeight, col: col + n * imageCol)
    }
}

/// Unfolds output rows `outputRows` of one image [H, W, C] into its col matrix
/// [(oy, ox), (ky, kx, c)] (`col` is the image's, row oy * OW at `col + oy * OW * K`), so that
/// workers can unfold one image's rows side by side. For each output pixel and kernel row, the
/// kw taps are adjacent in both the image and the col row, so they are copied as one run where
/// the row lies inside the image.
func im2colRows(_ image: UnsafePointer<Float>, _ g: ConvGeometry, outputRows: Range<Int>, col: UnsafeMutablePointer<Float>) {
    let c = g.inChannels, ow = g.outWidth, k = g.patchSize
    let kw = g.kernelW, run = kw * c
    for oy in outputRows {
        for ox in 0..<ow {
            var dst = col + (oy * ow + ox) * k
            let ix0 = ox * g.stride - g.padding
            let wholeRow = ix0 >= 0 && ix0 + kw <= g.width
            for ky in 0..<g.kernelH {
                let iy = oy * g.stride - g.padding + ky
                if iy < 0 || iy >= g.height {
                    dst.update(repeating: 0, count: run)
                } else if wholeRow {
                    dst.update(from: image + (iy * g.width + ix0) * c, count: run)
                } else {
                    for kx in 0..<kw {
                        let ix = ix0 + kx
                        if ix >= 0 && ix < g.width {
                            (dst + kx * c).update(from: image + (iy * g.width + ix) * c, count: c)
                        } else {
                            (dst + kx * c).update(repeating: 0, count: c)
                        }
                    }
                }
                dst += run
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

/// Splits the images across workers and, per worker, unfolds them chunk by chunk into the
/// worker's part of `col`, calling `body(worker, firstImage, images, col)` for each chunk.
func forEachIm2colChunk(_ g: ConvGeometry, x: UnsafePointer<Float>, col: UnsafeMutablePointer<Float>, workers: Int,
                        requested: Int, _ body: (Int, Int, Int, UnsafeMutablePointer<Float>) -> Void) {
    let chunk = g.chunkImages(workers: workers)
    let colPerWorker = g.colFloatsPerWorker(workers: requested)
    parallelWorkers(workers) { wk in
        let images = splitRange(g.batch, parts: workers, wk)
        let myCol = col + wk * colPerWorker
        var n0 = images.lowerBound
        while n0 < images.upperBound {
            let count = min(chunk, images.upperBound - n0)
            im2col(x + n0 * g.height * g.width * g.inChannels, images: count, g, col: myCol)
            body(wk, n0, count, myCol)
            n0 += count
        }
    }
}

/// dw [n, k] += the sum over workers of their transposed partial gradients [k, ld] (columns
/// n..<ld, a padded product's, are ignored).
func addTransposedPartials(_ partials: UnsafePointer<Float>, workers: Int, k: Int, n: Int, ld: Int,
                           into dw: UnsafeMutablePointer<Float>) {
    for o in 0..<n {
        let row = dw + o * k
        for j in 0..<k {
            var s: Float = 0
            for wk in 0..<workers { s += partials[wk * k * ld + j * ld + o] }
            row[j] += s
        }
    }
}

/// y = conv(x, w). Images are split across `workers`; `col` must hold
/// `g.colScratchFloats(workers:)` floats.
/// With an `epilogue` (eval mode, not with `accumulate`), each block of output pixels gets it
/// right after it is computed.
/// `transposedWeight` (optional, AVX-512 path only): w already transposed and padded, [K, Cout8]
/// (see packTransposedConvWeight), which saves the transposition when the caller has it.
/// `winogradWeight` (optional, with `transposedWeight`): its Winograd transform
/// (winogradTransformWeight), which saves that too when the convolution runs by Winograd.
public func conv2dForward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                          y: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>,
                          workers requested: Int = 1, accumulate: Bool = false, fast: Bool = FastKernels.available,
                          epilogue: ConvEpilogue? = nil, transposedWeight: UnsafePointer<Float>? = nil,
                          winogradWeight: UnsafePointer<Float>? = nil) {
    precondition(epilogue == nil || !accumulate, "conv2dForward: an epilogue applies to a fresh output only")
    let beta: Float = accumulate ? 1 : 0
    let rowsPerImage = g.outHeight * g.outWidth
    let workers = g.activeWorkers(requested)
    let useFast = FastKernels.usableForward(fast, columns: g.outChannels)
    precondition(transposedWeight == nil || useFast, "conv2dForward: a transposed weight is for the AVX-512 path")
    let nPadded = FastKernels.paddedColumns(g.outChannels)
    let ownWeight = useFast && transposedWeight == nil
        ? transposeWeight(w, rows: g.outChannels, columns: g.patchSize, paddedRows: nPadded) : nil
    defer { ownWeight?.deallocate() }
    let wt = transposedWeight ?? ownWeight.map { UnsafePointer($0) }
    if let wt, !g.isPointwise {
        if g.usesWinograd {
            conv2dForwardWinograd(g, x: x, wt: wt, paddedColumns: nPadded, y: y, scratch: col, workers: requested,
                                  accumulate: accumulate, epilogue: epilogue, transformedWeight: winogradWeight)
            return
        }
        conv2dForwardImplicit(g, x: x, wt: wt, paddedColumns: nPadded, y: y, scratch: col, workers: requested,
                              accumulate: accumulate, epilogue: epilogue)
        return
    }
    if let wt, nPadded != g.outChannels {
        // A pointwise product on padded weights: rows go through a small padded buffer.
        let rows = g.batch * rowsPerImage
        parallelWorkers(workers) { wk in
            let r = splitRange(rows, parts: workers, wk)
            let chunk = 256
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: chunk * nPadded)
            defer { buffer.deallocate() }
            var r0 = r.lowerBound
            while r0 < r.upperBound {
                let m = min(chunk, r.upperBound - r0)
                AVX512Kernels.product(m: m, n: nPadded, k: g.patchSize, a: x + r0 * g.patchSize, lda: g.patchSize,
                                      b: wt, c: buffer, ldc: nPadded, accumulate: false)
                let c = g.outChannels
                AVX512Kernels.finishRows(src: buffer, srcStride: nPadded, pixels: m, columns: c, dst: y + r0 * c, accumulate: accumulate,
                                         scale: epilogue?.scale, shift: epilogue?.shift,
                                         residual: epilogue?.residual.map { $0 + r0 * c }, relu: epilogue?.relu ?? false)
                r0 += m
            }
        }
        return
    }
    if wt == nil, g.sharesImageProducts(workers: requested) {
        conv2dForwardSharedImage(g, x: x, w: w, y: y, col: col, workers: requested, accumulate: accumulate,
                                 epilogue: epilogue)
        return
    }
    /// rows x outChannels of y from rows x patchSize of a.
    func product(_ rows: Int, _ a: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        if let wt {
            AVX512Kernels.product(m: rows, n: g.outChannels, k: g.patchSize, a: a, lda: g.patchSize,
                                  b: wt, c: out, ldc: g.outChannels, accumulate: accumulate)
        } else {
            sgemm(transA: false, transB: true, m: rows, n: g.outChannels, k: g.patchSize,
                  a: a, lda: g.patchSize, b: w, ldb: g.patchSize, beta: beta, c: out, ldc: g.outChannels)
        }
    }
    if let wt, g.isPointwise, nPadded == g.outChannels, workers < requested,
       AVX512Kernels.panelCount(columns: nPadded) >= requested {
        // Fewer rows than make a share for each worker (a batch-1 ImageNet network's last
        // stages: 7x7 pixels, up to 2048 channels): the workers split the panels instead.
        let rows = g.batch * rowsPerImage, panels = AVX512Kernels.panelCount(columns: nPadded)
        parallelWorkers(requested) { wk in
            AVX512Kernels.product(m: rows, n: nPadded, k: g.patchSize, a: x, lda: g.patchSize, b: wt, c: y, ldc: nPadded,
                                  accumulate: accumulate, panels: splitRange(panels, parts: requested, wk))
        }
        if let epilogue {
            parallelWorkers(requested) { wk in
                let r = splitRange(rows, parts: requested, wk)
                epilogue.apply(y, first: r.lowerBound, count: r.count, channels: nPadded)
            }
        }
        return
    }
    if g.isPointwise {
        let rows = g.batch * rowsPerImage
        parallelWorkers(workers) { wk in
            let r = splitRange(rows, parts: workers, wk)
            product(r.count, x + r.lowerBound * g.patchSize, y + r.lowerBound * g.outChannels)
            epilogue?.apply(y, first: r.lowerBound, count: r.count, channels: g.outChannels)
        }
        return
    }
    forEachIm2colChunk(g, x: x, col: col, workers: workers, requested: requested) { _, n0, count, myCol in
        product(count * rowsPerImage, myCol, y + n0 * rowsPerImage * g.outChannels)
        epilogue?.apply(y, first: n0 * rowsPerImage, count: count * rowsPerImage, channels: g.outChannels)
    }
}

/// dw += the weight gradient. `col` holds `g.colScratchFloats(workers:)` floats and `dwScratch`
/// `g.weightGradientScratchFloats(workers:)`.
public func conv2dBackwardWeights(_ g: ConvGeometry, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                  dw: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>,
                                  dwScratch: UnsafeMutablePointer<Float>?, workers requested: Int = 1,
                                  fast: Bool = FastKernels.available) {
    let rowsPerImage = g.outHeight * g.outWidth
    let workers = g.activeWorkers(requested)
    let dwCount = g.outChannels * g.patchSize
    if FastKernels.usable(fast, columns: g.outChannels) {
        if g.isPointwise {
            pointwiseWeightsAVX512(g, x: x, dy: dy, dw: dw, workers: workers)
        } else if g.usesWinogradWeightGradient {
            conv2dBackwardWeightsWinograd(g, x: x, dy: dy, dw: dw, scratch: col, workers: requested)
        } else {
            conv2dBackwardWeightsImplicit(g, x: x, dy: dy, dw: dw, scratch: col, workers: requested)
        }
        return
    }
    precondition(workers == 1 || dwScratch != nil, "conv2dBackwardWeights: dwScratch needed for \(workers) workers")
    // Worker 0 accumulates into dw; the others into their own partial sums, added at the end.
    func target(_ wk: Int) -> UnsafeMutablePointer<Float> { wk == 0 ? dw : dwScratch! + (wk - 1) * dwCount }
    if g.isPointwise {
        let rows = g.batch * rowsPerImage
        parallelWorkers(workers) { wk in
            let r = splitRange(rows, parts: workers, wk)
            sgemm(transA: true, transB: false, m: g.outChannels, n: g.patchSize, k: r.count,
                  a: dy + r.lowerBound * g.outChannels, lda: g.outChannels, b: x + r.lowerBound * g.patchSize,
                  ldb: g.patchSize, beta: wk == 0 ? 1 : 0, c: target(wk), ldc: g.patchSize)
        }
    } else {
        forEachIm2colChunk(g, x: x, col: col, workers: workers, requested: requested) { wk, n0, count, myCol in
            // A worker's first chunk overwrites its partial sum; worker 0 always adds to dw.
            let first = n0 == splitRange(g.batch, parts: workers, wk).lowerBound
            sgemm(transA: true, transB: false, m: g.outChannels, n: g.patchSize, k: count * rowsPerImage,
                  a: dy + n0 * rowsPerImage * g.outChannels, lda: g.outChannels, b: myCol, ldb: g.patchSize,
                  beta: (wk > 0 && first) ? 0 : 1, c: target(wk), ldc: g.patchSize)
        }
    }
    for wk in 1..<max(workers, 1) {
        let part = target(wk)
        for i in 0..<dwCount { dw[i] += part[i] }
    }
}

/// The weight gradient of a 1x1 stride-1 convolution on the AVX-512 kernels: each worker reduces
/// its rows into its own transposed partial [K, N], added into dw [N, K] at the end.
private func pointwiseWeightsAVX512(_ g: ConvGeometry, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                    dw: UnsafeMutablePointer<Float>, workers: Int) {
    let n = g.outChannels, k = g.patchSize, rows = g.batch * g.outHeight * g.outWidth
    let nPadded = FastKernels.paddedColumns(n)
    let partials = UnsafeMutablePointer<Float>.allocate(capacity: workers * k * nPadded)
    partials.initialize(repeating: 0, count: workers * k * nPadded)
    defer { partials.deallocate() }
    parallelWorkers(workers) { wk in
        let r = splitRange(rows, parts: workers, wk)
        if nPadded == n {
            AVX512Kernels.weightGradient(rows: r.count, n: n, k: k, x: x + r.lowerBound * k, ldx: k,
                                         g: dy + r.lowerBound * n, d: partials + wk * k * n)
            return
        }
        // Odd widths: the output gradient goes through a small zero-padded buffer.
        let chunk = 256
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: chunk * nPadded)
        defer { buffer.deallocate() }
        var r0 = r.lowerBound
        while r0 < r.upperBound {
            let m = min(chunk, r.upperBound - r0)
            padColumns(dy + r0 * n, rows: m, columns: n, paddedColumns: nPadded, into: buffer)
            AVX512Kernels.weightGradient(rows: m, n: nPadded, k: k, x: x + r0 * k, ldx: k, g: buffer, d: partials + wk * k * nPadded)
            r0 += m
        }
    }
    addTransposedPartials(partials, workers: workers, k: k, n: n, ld: nPadded, into: dw)
}

/// The geometry of the input-gradient convolution of a stride-1 convolution: dy convolved with
/// the flipped weights, input and output channels swapped, padding k - 1 - p.
public func transposedGeometry(_ g: ConvGeometry) -> ConvGeometry {
    var t = ConvGeometry(batch: g.batch, height: g.outHeight, width: g.outWidth, inChannels: g.outChannels,
                         outChannels: g.inChannels, kernel: g.kernelH, stride: 1, padding: g.kernelH - 1 - g.padding)
    t.kernelW = g.kernelW
    t.maxColFloats = g.maxColFloats
    t.allowsWinograd = g.allowsWinograd
    t.rowSplitMinimumMACs = g.rowSplitMinimumMACs
    return t
}

/// Whether the input gradient is computed as a convolution (stride 1, square kernel, padding < k).
public func usesTransposedConvolution(_ g: ConvGeometry) -> Bool {
    !g.isPointwise && g.stride == 1 && g.kernelH == g.kernelW && g.padding < g.kernelH
}

/// wt [Cin, KH, KW, Cout] = w [Cout, KH, KW, Cin] flipped in space, for transposedGeometry.
public func flipTransposeConvWeight(_ w: UnsafePointer<Float>, _ g: ConvGeometry, into wt: UnsafeMutablePointer<Float>) {
    let kh = g.kernelH, kw = g.kernelW, cin = g.inChannels, cout = g.outChannels
    for o in 0..<cout { for ky in 0..<kh { for kx in 0..<kw { for c in 0..<cin {
        wt[((c * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)) * cout + o] = w[((o * kh + ky) * kw + kx) * cin + c]
    } } } }
}

/// Floats of scratch conv2dBackwardData needs in `col` (and in `flipped`, for stride 1).
public func backwardDataScratchFloats(_ g: ConvGeometry, workers: Int) -> (col: Int, flipped: Int) {
    if usesTransposedConvolution(g) {
        return (transposedGeometry(g).colScratchFloats(workers: workers), g.outChannels * g.patchSize)
    }
    return (g.colScratchFloats(workers: workers), 0)
}

/// dx = (accumulate ? dx : 0) + the input gradient; with `bf16` (stride 1) its products in bf16.
public func conv2dBackwardData(_ g: ConvGeometry, w: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                               dx: UnsafeMutablePointer<Float>, accumulate: Bool,
                               col: UnsafeMutablePointer<Float>, flipped: UnsafeMutablePointer<Float>?,
                               workers requested: Int = 1, fast: Bool = FastKernels.available, bf16: Bool = false) {
    let rowsPerImage = g.outHeight * g.outWidth
    let workers = g.activeWorkers(requested)
    if g.isPointwise {
        let rows = g.batch * rowsPerImage
        parallelWorkers(workers) { wk in
            let r = splitRange(rows, parts: workers, wk)
            sgemm(transA: false, transB: false, m: r.count, n: g.patchSize, k: g.outChannels,
                  a: dy + r.lowerBound * g.outChannels, lda: g.outChannels, b: w, ldb: g.patchSize,
                  beta: accumulate ? 1 : 0, c: dx + r.lowerBound * g.patchSize, ldc: g.patchSize)
        }
        return
    }
    if usesTransposedConvolution(g), let flipped {
        flipTransposeConvWeight(w, g, into: flipped)
        if bf16 {
            // The same convolution with bf16 products (BF16Conv.swift).
            let t = transposedGeometry(g)
            conv2dForwardBF16(t, x: dy, operand: packBF16ConvWeight(ohwi: flipped, t), y: dx, workers: requested,
                              accumulate: accumulate)
            return
        }
        conv2dForward(transposedGeometry(g), x: dy, w: flipped, y: dx, col: col, workers: requested,
                      accumulate: accumulate, fast: fast)
        return
    }
    let chunk = g.chunkImages(workers: workers)
    let colPerWorker = g.colFloatsPerWorker(workers: requested)
    let imageSize = g.height * g.width * g.inChannels
    parallelWorkers(workers) { wk in
        let images = splitRange(g.batch, parts: workers, wk)
        if !accumulate { (dx + images.lowerBound * imageSize).update(repeating: 0, count: images.count * imageSize) }
        let myCol = col + wk * colPerWorker
        var n0 = images.lowerBound
        while n0 < images.upperBound {
            let count = min(chunk, images.upperBound - n0)
            sgemm(transA: false, transB: false, m: count * rowsPerImage, n: g.patchSize, k: g.outChannels,
                  a: dy + n0 * rowsPerImage * g.outChannels, lda: g.outChannels, b: w, ldb: g.patchSize,
                  beta: 0, c: myCol, ldc: g.patchSize)
            col2imAccumulate(myCol, images: count, g, dx: dx + n0 * imageSize)
            n0 += count
        }
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

/// The AVX-512 forward operand in one pass: the first `outChannels` x `inChannels` slice of an
/// OIHW weight [fullOut, fullIn, kh, kw], as wt [(kh, kw, inChannels), paddedColumns] (the packed
/// OHWI weight transposed, zero in the columns outChannels..<paddedColumns), in the products'
/// panel layout (AVX512Kernels.panelIndex; dense up to 64 columns).
public func packTransposedConvWeight(_ w: UnsafePointer<Float>, fullIn: Int, kernelH: Int, kernelW: Int,
                                     outChannels: Int, inChannels: Int, paddedColumns: Int,
                                     into wt: UnsafeMutablePointer<Float>) {
    let taps = kernelH * kernelW, filterStride = fullIn * taps, k = taps * inChannels
    // Destination rows are written whole (contiguous within each panel); for one input channel
    // the sources of all taps of every filter share a few cache lines, which stay in L1 across
    // the tap loop.
    for c in 0..<inChannels {
        for t in 0..<taps {
            let j = t * inChannels + c
            let src = w + c * taps + t
            for first in stride(from: 0, to: paddedColumns, by: AVX512Kernels.panelColumns) {
                let dst = wt + AVX512Kernels.panelIndex(row: j, column: first, rows: k, columns: paddedColumns)
                let width = min(AVX512Kernels.panelColumns, paddedColumns - first)
                let filled = max(0, min(width, outChannels - first))
                for o in 0..<filled { dst[o] = src[(first + o) * filterStride] }
                if filled < width { (dst + filled).update(repeating: 0, count: width - filled) }
            }
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
