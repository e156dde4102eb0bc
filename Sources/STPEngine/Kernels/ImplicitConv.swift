import STPKernelsAVX512

// Implicit-GEMM convolution on the AVX-512 kernels: instead of unfolding each image into an
// im2col matrix (9x its size for a 3x3 kernel, written and read again), each worker copies one
// image into a zero-padded buffer and the kernels read every pixel's receptive field from there.
//
//   x   [N, H, W, Cin] -> padded image [H + 2p, W + 2p, Cin] (one at a time, per worker)
//   wt  [KH * KW * Cin, Cout8]   (the packed OHWI weight, transposed; Cout8 = Cout rounded up
//                                to a multiple of 8, the extra columns zero; in 64-column panels
//                                when wider, see AVX512Kernels.panelIndex)
//   y   [N, OH, OW, Cout]
// Used when FastKernels allows (forward: any Cout; weight gradient: up to 64), for every kernel
// size and stride; 1x1 stride-1
// convolutions need no padding and use the plain products. When Cout8 > Cout, each output row
// is computed into a padded row buffer and compacted into y (and the weight gradient reads dy
// through a padded copy of each image's gradient).

extension ConvGeometry {
    var paddedHeight: Int { height + 2 * padding }
    var paddedWidth: Int { width + 2 * padding }
    var paddedImageFloats: Int { paddedHeight * paddedWidth * inChannels }

    var receptiveField: ReceptiveField {
        ReceptiveField(pixelStride: stride * inChannels, segmentStride: paddedWidth * inChannels,
                       segments: kernelH, segmentLength: kernelW * inChannels)
    }

    /// Whether the implicit forward pass splits each image's rows across the workers: only
    /// with fewer images than workers, and for large convolutions (see conv2dForwardImplicit).
    func splitsImageRows(workers: Int) -> Bool {
        batch < workers && outHeight >= 2 * workers && macs >= workers * rowSplitMinimumMACs
    }

    /// Floats of scratch the implicit forward and weight-gradient passes need (one padded image
    /// per worker).
    public func implicitScratchFloats(workers: Int) -> Int { activeWorkers(workers) * paddedImageFloats }
}

/// Writes image `x` [H, W, C] into `pad` [H + 2p, W + 2p, C] with a zero border; with
/// `paddedHeight` / `paddedWidth` larger than that (Winograd's tiles of an odd output size), the
/// rows and columns past it are zero too.
func padImage(_ x: UnsafePointer<Float>, _ g: ConvGeometry, into pad: UnsafeMutablePointer<Float>,
              paddedHeight: Int? = nil, paddedWidth: Int? = nil) {
    let c = g.inChannels, p = g.padding, hp = paddedHeight ?? g.paddedHeight, wp = paddedWidth ?? g.paddedWidth
    precondition(hp >= g.paddedHeight && wp >= g.paddedWidth, "padImage: \(hp)x\(wp) is smaller than the padding")
    if p == 0 && hp == g.height && wp == g.width {
        pad.update(from: x, count: g.height * g.width * c)
        return
    }
    pad.update(repeating: 0, count: p * wp * c)
    for y in 0..<g.height {
        let row = pad + ((y + p) * wp) * c
        row.update(repeating: 0, count: p * c)
        (row + p * c).update(from: x + y * g.width * c, count: g.width * c)
        (row + (p + g.width) * c).update(repeating: 0, count: (wp - p - g.width) * c)
    }
    (pad + ((g.height + p) * wp) * c).update(repeating: 0, count: (hp - p - g.height) * wp * c)
}

/// y (=|+=) conv(x, w) with the weight given transposed (`wt` [K, Cout]).
func conv2dForwardImplicit(_ g: ConvGeometry, x: UnsafePointer<Float>, wt: UnsafePointer<Float>, paddedColumns nPadded: Int,
                           y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                           workers requested: Int, accumulate: Bool, epilogue: ConvEpilogue? = nil) {
    let oh = g.outHeight, ow = g.outWidth, n = g.outChannels
    let field = g.receptiveField
    let imageIn = g.height * g.width * g.inChannels
    /// Output rows `rows` of `image` from its padded copy `pad`; `row` is a padded row buffer
    /// when Cout is not a multiple of 8.
    func outputRows(image: Int, rows: Range<Int>, pad: UnsafePointer<Float>, row: UnsafeMutablePointer<Float>?) {
        for oy in rows {
            let first = (image * oh + oy) * ow
            let a = pad + oy * g.stride * field.segmentStride, out = y + first * n
            let residual = epilogue?.residual.map { $0 + first * n }
            if let row {
                // Compacted and finished in one pass: an odd width's last vector through a mask.
                AVX512Kernels.convolutionRow(cols: ow, n: nPadded, a: a, field: field, b: wt, c: row, accumulate: false)
                AVX512Kernels.finishRows(src: row, srcStride: nPadded, pixels: ow, columns: n, dst: out, accumulate: accumulate,
                                         scale: epilogue?.scale, shift: epilogue?.shift, residual: residual,
                                         relu: epilogue?.relu ?? false)
            } else {
                AVX512Kernels.convolutionRow(cols: ow, n: n, a: a, field: field, b: wt, c: out, accumulate: accumulate)
                if let epilogue {
                    AVX512Kernels.finishRows(src: out, srcStride: n, pixels: ow, columns: n, dst: out, accumulate: false,
                                             scale: epilogue.scale, shift: epilogue.shift, residual: residual, relu: epilogue.relu)
                }
            }
        }
    }
    if g.splitsImageRows(workers: requested) {
        // Fewer images than workers (batch-1 inference): the workers share each image's rows,
        // for convolutions of at least rowSplitMinimumMACs per worker (see ConvGeometry).
        let workers = min(requested, oh)
        for image in 0..<g.batch {
            padImage(x + image * imageIn, g, into: scratch)
            parallelWorkers(workers) { wk in
                let row: UnsafeMutablePointer<Float>? = nPadded == n ? nil : .allocate(capacity: ow * nPadded)
                defer { row?.deallocate() }
                outputRows(image: image, rows: splitRange(oh, parts: workers, wk), pad: scratch, row: row)
            }
        }
        return
    }
    let workers = g.activeWorkers(requested)
    parallelWorkers(workers) { wk in
        let pad = scratch + wk * g.paddedImageFloats
        let row: UnsafeMutablePointer<Float>? = nPadded == n ? nil : .allocate(capacity: ow * nPadded)
        defer { row?.deallocate() }
        for image in splitRange(g.batch, parts: workers, wk) {
            padImage(x + image * imageIn, g, into: pad)
            outputRows(image: image, rows: 0..<oh, pad: pad, row: row)
        }
    }
}

/// dw [Cout, K] += the weight gradient, each worker reducing its images into its own transposed
/// partial [K, Cout].
func conv2dBackwardWeightsImplicit(_ g: ConvGeometry, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                   dw: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                   workers requested: Int) {
    let workers = g.activeWorkers(requested)
    let oh = g.outHeight, ow = g.outWidth, n = g.outChannels, k = g.patchSize
    let nPadded = FastKernels.paddedColumns(n)
    let field = g.receptiveField
    let imageIn = g.height * g.width * g.inChannels
    let partials = UnsafeMutablePointer<Float>.allocate(capacity: workers * k * nPadded)
    partials.initialize(repeating: 0, count: workers * k * nPadded)
    defer { partials.deallocate() }
    parallelWorkers(workers) { wk in
        let pad = scratch + wk * g.paddedImageFloats
        let paddedDy: UnsafeMutablePointer<Float>? = nPadded == n ? nil : .allocate(capacity: oh * ow * nPadded)
        defer { paddedDy?.deallocate() }
        for image in splitRange(g.batch, parts: workers, wk) {
            padImage(x + image * imageIn, g, into: pad)
            var grad = dy + image * oh * ow * n
            if let paddedDy {
                padColumns(grad, rows: oh * ow, columns: n, paddedColumns: nPadded, into: paddedDy)
                grad = UnsafePointer(paddedDy)
            }
            AVX512Kernels.convolutionWeightGradient(rows: oh, rowStride: g.stride * field.segmentStride, cols: ow, n: nPadded,
                                                    x: pad, field: field, g: grad, d: partials + wk * k * nPadded)
        }
    }
    addTransposedPartials(partials, workers: workers, k: k, n: n, ld: nPadded, into: dw)
}
