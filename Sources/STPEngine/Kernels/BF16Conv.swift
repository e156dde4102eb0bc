import STPKernelsAVX512

// Convolutions with bfloat16 products (BF16Kernels), float32 in and out.
//
//   input   x   [N, H, W, Cin] float32 -> per worker, the zero-padded image in bf16
//   weight  BF16ConvOperand: the OHWI weight packed in bf16 pairs (once per weight version)
//   output  y   [N, OH, OW, Cout] float32 (=|+=), then relu?(y * scale + shift + residual?) in
//               eval mode (the epilogue)
//
//   direct:    y[p, o] = sum_k field_p[k] * w[o, k], the receptive field of each output pixel read
//              in place from the padded image (the implicit GEMM of ImplicitConv.swift, in bf16)
//   Winograd:  (3x3, stride 1, padding 1, g.usesWinograd) the float32 transforms of
//              WinogradConv.swift around 16 bf16 products M_xi = V_xi * U_xi; V is rounded to
//              bf16 as the input transform stores it, U once per weight version
//
// Used for the forward pass of every convolution (eval and training) and for the input gradient
// of a stride-1 convolution (a convolution of dy with the flipped weights) under
// ComputePrecision. The weight gradient, batch norm and the optimizer stay float32, and so do the
// activations saved for the backward pass.
//
// Each product rounds its two operands to bf16 (8 significant bits, relative error 2^-8) and
// accumulates in float32, so a direct convolution's output differs from float32's by at most
// about 2^-7 * sum_k |x_k w_k| (the tests check that bound); Winograd's operands are the
// transformed ones, whose sums are up to 4x (V) and 2.25x (U) larger than the direct ones.

/// The bf16 operand of one convolution's weight slice, for one path (direct or Winograd).
struct BF16ConvOperand {
    var values: [UInt16]
    /// Values between the 16 Winograd matrices (0 for the direct path).
    var xiStride: Int
}

/// The bf16 operand of the convolution `g` from its OHWI weight `w` [Cout, KH, KW, Cin] (the
/// float32 path's packed operand, or the flipped weight of an input gradient).
func packBF16ConvWeight(ohwi w: UnsafePointer<Float>, _ g: ConvGeometry) -> BF16ConvOperand {
    let k = g.patchSize, n = g.outChannels
    if g.usesWinograd {
        // The float32 transform G g G^T, then each of its 16 [Cin, Cout8] matrices packed.
        let nPadded = FastKernels.paddedColumns(n), cin = g.inChannels
        let wt = transposeWeight(w, rows: n, columns: k, paddedRows: nPadded)
        let u = UnsafeMutablePointer<Float>.allocate(capacity: 16 * cin * nPadded)
        let dense = UnsafeMutablePointer<Float>.allocate(capacity: cin * nPadded)
        defer { wt.deallocate(); u.deallocate(); dense.deallocate() }
        winogradTransformWeight(wt, inChannels: cin, paddedColumns: nPadded, into: u)
        let xiStride = BF16Kernels.packedCount(segments: 1, segmentLength: cin, columns: n)
        var values = [UInt16](repeating: 0, count: 16 * xiStride)
        values.withUnsafeMutableBufferPointer { out in
            for xi in 0..<16 {
                let matrix = u + xi * cin * nPadded
                // u's matrices are in the float32 products' panel layout; gathered dense first.
                for ci in 0..<cin {
                    for o in 0..<nPadded {
                        dense[ci * nPadded + o] = matrix[AVX512Kernels.panelIndex(row: ci, column: o, rows: cin, columns: nPadded)]
                    }
                }
                BF16Kernels.pack(dense, rowStride: nPadded, columnStride: 1, segments: 1, segmentLength: cin, columns: n,
                                 into: out.baseAddress! + xi * xiStride)
            }
        }
        return BF16ConvOperand(values: values, xiStride: xiStride)
    }
    let segmentLength = g.kernelW * g.inChannels
    var values = [UInt16](repeating: 0, count: BF16Kernels.packedCount(segments: g.kernelH, segmentLength: segmentLength, columns: n))
    values.withUnsafeMutableBufferPointer { out in
        // B[kk, o] = w[o * K + kk]: rows (ky, kx, c), one segment per kernel row.
        BF16Kernels.pack(w, rowStride: 1, columnStride: k, segments: g.kernelH, segmentLength: segmentLength, columns: n,
                         into: out.baseAddress!)
    }
    return BF16ConvOperand(values: values, xiStride: 0)
}

/// The bf16 operand of the slice `g` of `w` [Cout_full, fullIn, KH, KW] (PyTorch's OIHW).
func packBF16ConvWeight(_ w: UnsafePointer<Float>, fullIn: Int, _ g: ConvGeometry) -> BF16ConvOperand {
    let ohwi = UnsafeMutablePointer<Float>.allocate(capacity: g.outChannels * g.patchSize)
    defer { ohwi.deallocate() }
    packConvWeight(w, fullIn: fullIn, kernelH: g.kernelH, kernelW: g.kernelW, outChannels: g.outChannels,
                   inChannels: g.inChannels, into: ohwi)
    return packBF16ConvWeight(ohwi: ohwi, g)
}

/// Writes image `x` [H, W, C] into `pad` [hp, wp, C] in bf16 with a zero border (hp, wp at least
/// the convolution's padded size; rows and columns past it zero too), as padImage does in float32.
func padImageBF16(_ x: UnsafePointer<Float>, _ g: ConvGeometry, into pad: UnsafeMutablePointer<UInt16>,
                  paddedHeight hp: Int, paddedWidth wp: Int) {
    let c = g.inChannels, p = g.padding
    pad.update(repeating: 0, count: p * wp * c)
    for y in 0..<g.height {
        let row = pad + ((y + p) * wp) * c
        row.update(repeating: 0, count: p * c)
        BF16Kernels.convert(x + y * g.width * c, row + p * c, count: g.width * c)
        (row + (p + g.width) * c).update(repeating: 0, count: (wp - p - g.width) * c)
    }
    (pad + ((g.height + p) * wp) * c).update(repeating: 0, count: (hp - p - g.height) * wp * c)
}

/// y (=|+= when `accumulate`) conv(x, w) with bf16 products, then the epilogue if given (eval
/// mode, not with `accumulate`); `operand` from packBF16ConvWeight for `g`.
func conv2dForwardBF16(_ g: ConvGeometry, x: UnsafePointer<Float>, operand: BF16ConvOperand, y: UnsafeMutablePointer<Float>,
                       workers requested: Int, accumulate: Bool = false, epilogue: ConvEpilogue? = nil) {
    precondition(epilogue == nil || !accumulate, "conv2dForwardBF16: an epilogue applies to a fresh output only")
    operand.values.withUnsafeBufferPointer { values in
        let b = values.baseAddress!
        if g.usesWinograd {
            conv2dForwardWinogradBF16(g, x: x, u: b, xiStride: operand.xiStride, y: y, workers: requested,
                                      accumulate: accumulate, epilogue: epilogue)
        } else {
            conv2dForwardDirectBF16(g, x: x, b: b, y: y, workers: requested, accumulate: accumulate, epilogue: epilogue)
        }
    }
}

private func conv2dForwardDirectBF16(_ g: ConvGeometry, x: UnsafePointer<Float>, b: UnsafePointer<UInt16>,
                                     y: UnsafeMutablePointer<Float>, workers requested: Int, accumulate: Bool,
                                     epilogue: ConvEpilogue?) {
    let oh = g.outHeight, ow = g.outWidth, n = g.outChannels, c = g.inChannels
    let imageIn = g.height * g.width * c, padFloats = g.paddedImageFloats
    let pixelStride = g.stride * c, segmentStride = g.paddedWidth * c, segmentLength = g.kernelW * c
    func outputRows(image: Int, rows: Range<Int>, pad: UnsafePointer<UInt16>) {
        for oy in rows {
            let first = (image * oh + oy) * ow
            let out = y + first * n
            BF16Kernels.fieldProduct(cols: ow, n: n, a: pad + oy * g.stride * segmentStride, pixelStride: pixelStride,
                                     segmentStride: segmentStride, segments: g.kernelH, segmentLength: segmentLength,
                                     packed: b, c: out, ldc: n, accumulate: accumulate)
            if let epilogue {
                AVX512Kernels.finishRows(src: out, srcStride: n, pixels: ow, columns: n, dst: out, accumulate: false,
                                         scale: epilogue.scale, shift: epilogue.shift,
                                         residual: epilogue.residual.map { $0 + first * n }, relu: epilogue.relu)
            }
        }
    }
    if g.splitsImageRows(workers: requested) {
        // Fewer images than workers (batch-1 inference): the workers share each image's rows.
        let workers = min(requested, oh)
        let pad = UnsafeMutablePointer<UInt16>.allocate(capacity: padFloats)
        defer { pad.deallocate() }
        for image in 0..<g.batch {
            padImageBF16(x + image * imageIn, g, into: pad, paddedHeight: g.paddedHeight, paddedWidth: g.paddedWidth)
            parallelWorkers(workers) { wk in outputRows(image: image, rows: splitRange(oh, parts: workers, wk), pad: pad) }
        }
        return
    }
    let workers = g.activeWorkers(requested)
    parallelWorkers(workers) { wk in
        let pad = UnsafeMutablePointer<UInt16>.allocate(capacity: padFloats)
        defer { pad.deallocate() }
        for image in splitRange(g.batch, parts: workers, wk) {
            padImageBF16(x + image * imageIn, g, into: pad, paddedHeight: g.paddedHeight, paddedWidth: g.paddedWidth)
            outputRows(image: image, rows: 0..<oh, pad: pad)
        }
    }
}

private func conv2dForwardWinogradBF16(_ g: ConvGeometry, x: UnsafePointer<Float>, u: UnsafePointer<UInt16>, xiStride uStride: Int,
                                       y: UnsafeMutablePointer<Float>, workers requested: Int, accumulate: Bool,
                                       epilogue: ConvEpilogue?) {
    let cin = g.inChannels, n = g.outChannels, oh = g.outHeight, ow = g.outWidth
    let nPadded = FastKernels.paddedColumns(n)
    let tilesPerRow = g.winogradTilesPerRow, tileRowsPerImage = g.winogradTileRowsPerImage
    let ldv = g.winogradInputStride, vStride = g.winogradXiStride(ldv), mStride = g.winogradXiStride(nPadded)
    let imageIn = g.height * g.width * cin
    let padRowStride = g.winogradPaddedWidth * cin
    /// One worker's buffers: its padded float32 image (16 floats of slack for the transform's
    /// last vector), v in bf16 and m in float32 for one chunk of tile rows.
    struct Buffers {
        let pad: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<UInt16>, m: UnsafeMutablePointer<Float>
        init(_ g: ConvGeometry, vStride: Int, mStride: Int) {
            pad = .allocate(capacity: g.winogradPaddedImageFloats + 16)
            pad.initialize(repeating: 0, count: g.winogradPaddedImageFloats + 16)
            v = .allocate(capacity: 16 * vStride)
            m = .allocate(capacity: 16 * mStride)
        }
        func free() { pad.deallocate(); v.deallocate(); m.deallocate() }
    }
    func chunk(image: Int, ty0: Int, tileRows: Int, pad: UnsafePointer<Float>, buffers: Buffers) {
        let tiles = tileRows * tilesPerRow
        AVX512Kernels.winogradInputBF16(pad: pad, rowStride: padRowStride, channels: cin, firstTileRow: ty0,
                                        tileRows: tileRows, tilesPerRow: tilesPerRow, v: buffers.v, ldv: ldv, xiStride: vStride)
        for xi in 0..<16 {
            BF16Kernels.fieldProduct(cols: tiles, n: n, a: buffers.v + xi * vStride, pixelStride: ldv, segmentStride: 0,
                                     segments: 1, segmentLength: cin, packed: u + xi * uStride,
                                     c: buffers.m + xi * mStride, ldc: nPadded, accumulate: false)
        }
        let firstPixel = (image * oh + 2 * ty0) * ow
        AVX512Kernels.winogradOutput(m: buffers.m, xiStride: mStride, n: nPadded, tileRows: tileRows, tilesPerRow: tilesPerRow,
                                     out: y + firstPixel * n, ldo: n, outRowStride: ow * n, accumulate: accumulate,
                                     scale: epilogue?.scale, shift: epilogue?.shift,
                                     residual: epilogue?.residual.map { $0 + firstPixel * n }, relu: epilogue?.relu ?? false,
                                     columns: n, outputRows: min(2 * tileRows, oh - 2 * ty0), outputColumns: ow)
    }
    if g.splitsWinogradTileRows(workers: requested) {
        let rowsPerChunk = min(g.winogradChunkTileRows, (tileRowsPerImage + requested - 1) / requested)
        let shared = Buffers(g, vStride: vStride, mStride: mStride)
        defer { shared.free() }
        for image in 0..<g.batch {
            padImage(x + image * imageIn, g, into: shared.pad,
                     paddedHeight: g.winogradPaddedHeight, paddedWidth: g.winogradPaddedWidth)
            parallelWorkers(requested) { wk in
                let own = Buffers(g, vStride: vStride, mStride: mStride)
                defer { own.free() }
                var ty0 = wk * rowsPerChunk
                while ty0 < tileRowsPerImage {
                    chunk(image: image, ty0: ty0, tileRows: min(rowsPerChunk, tileRowsPerImage - ty0), pad: shared.pad, buffers: own)
                    ty0 += requested * rowsPerChunk
                }
            }
        }
        return
    }
    let workers = g.activeWorkers(requested)
    parallelWorkers(workers) { wk in
        let own = Buffers(g, vStride: vStride, mStride: mStride)
        defer { own.free() }
        for image in splitRange(g.batch, parts: workers, wk) {
            padImage(x + image * imageIn, g, into: own.pad,
                     paddedHeight: g.winogradPaddedHeight, paddedWidth: g.winogradPaddedWidth)
            var ty0 = 0
            while ty0 < tileRowsPerImage {
                let tileRows = min(g.winogradChunkTileRows, tileRowsPerImage - ty0)
                chunk(image: image, ty0: ty0, tileRows: tileRows, pad: own.pad, buffers: own)
                ty0 += tileRows
            }
        }
    }
}
