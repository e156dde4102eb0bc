import STPKernelsAVX512

// Implicit-GEMM convolution on the AVX-512 kernels: instead of unfolding each image into an
// im2col matrix (9x its size for a 3x3 kernel, written and read again), each worker copies one
// image into a zero-padded buffer and the kernels read every pixel's receptive field from there.
//
//   x   [N, H, W, Cin] -> padded image [H + 2p, W + 2p, Cin] (one at a time, per worker)
//   wt  [KH * KW * Cin, Cout]  (the packed OHWI weight, transposed)
//   y   [N, OH, OW, Cout]
// Used when FastKernels allows and Cout is a multiple of 16 (up to 64), for every kernel size and
// stride; 1x1 stride-1 convolutions need no padding and use the plain products.

extension ConvGeometry {
    var paddedHeight: Int { height + 2 * padding }
    var paddedWidth: Int { width + 2 * padding }
    var paddedImageFloats: Int { paddedHeight * paddedWidth * inChannels }

    var receptiveField: ReceptiveField {
        ReceptiveField(pixelStride: stride * inChannels, segmentStride: paddedWidth * inChannels,
                       segments: kernelH, segmentLength: kernelW * inChannels)
    }

    /// Floats of scratch the implicit forward and weight-gradient passes need (one padded image
    /// per worker).
    public func implicitScratchFloats(workers: Int) -> Int { activeWorkers(workers) * paddedImageFloats }
}

/// Writes image `x` [H, W, C] into `pad` [H + 2p, W + 2p, C] with a zero border.
func padImage(_ x: UnsafePointer<Float>, _ g: ConvGeometry, into pad: UnsafeMutablePointer<Float>) {
    let c = g.inChannels, p = g.padding, wp = g.paddedWidth
    if p == 0 {
        pad.update(from: x, count: g.height * g.width * c)
        return
    }
    pad.update(repeating: 0, count: p * wp * c)
    for y in 0..<g.height {
        let row = pad + ((y + p) * wp) * c
        row.update(repeating: 0, count: p * c)
        (row + p * c).update(from: x + y * g.width * c, count: g.width * c)
        (row + (p + g.width) * c).update(repeating: 0, count: p * c)
    }
    (pad + ((g.height + p) * wp) * c).update(repeating: 0, count: p * wp * c)
}

/// y (=|+=) conv(x, w) with the weight given transposed (`wt` [K, Cout]).
func conv2dForwardImplicit(_ g: ConvGeometry, x: UnsafePointer<Float>, wt: UnsafePointer<Float>,
                           y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                           workers requested: Int, accumulate: Bool) {
    let workers = g.activeWorkers(requested)
    let oh = g.outHeight, ow = g.outWidth, n = g.outChannels
    let field = g.receptiveField
    let imageIn = g.height * g.width * g.inChannels
    parallelWorkers(workers) { wk in
        let pad = scratch + wk * g.paddedImageFloats
        for image in splitRange(g.batch, parts: workers, wk) {
            padImage(x + image * imageIn, g, into: pad)
            for oy in 0..<oh {
                AVX512Kernels.convolutionRow(cols: ow, n: n, a: pad + oy * g.stride * field.segmentStride, field: field,
                                             b: wt, c: y + ((image * oh + oy) * ow) * n, accumulate: accumulate)
            }
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
    let field = g.receptiveField
    let imageIn = g.height * g.width * g.inChannels
    let partials = UnsafeMutablePointer<Float>.allocate(capacity: workers * k * n)
    partials.initialize(repeating: 0, count: workers * k * n)
    defer { partials.deallocate() }
    parallelWorkers(workers) { wk in
        let pad = scratch + wk * g.paddedImageFloats
        for image in splitRange(g.batch, parts: workers, wk) {
            padImage(x + image * imageIn, g, into: pad)
            AVX512Kernels.convolutionWeightGradient(rows: oh, rowStride: g.stride * field.segmentStride, cols: ow, n: n,
                                                    x: pad, field: field, g: dy + image * oh * ow * n,
                                                    d: partials + wk * k * n)
        }
    }
    addTransposedPartials(partials, workers: workers, k: k, n: n, into: dw)
}
