// The OpenBLAS forward convolution (a CPU without AVX-512, or STP_NO_AVX512=1) when there are
// fewer images than workers, as in batch-1 inference: the workers share each image's product
// instead of one worker taking it while the others wait.
//
//   x    [N, H, W, Cin]   N < workers
//   w    [Cout, K]        the packed OHWI weight, K = KH * KW * Cin
//   col  [OH * OW, K]     one image's im2col matrix (the input itself for a 1x1 stride-1 layer)
//   y    [N, OH, OW, Cout]
//
// Per image, the workers first unfold their share of its output rows (im2col), then split the
// product y_image [P, Cout] = col [P, K] * w^T. OpenBLAS packs both operands of each call, so
// each worker packs the whole of the operand it does not split: the split is by rows when the
// image has more output pixels than the layer has output channels (each worker packs w), by
// output channels otherwise (each packs col), which keeps the repeated packing the smaller.
// Batch-1 ResNet-50 with its wide layers on OpenBLAS, 2 workers: 86 -> 59 ms (docs/PERFORMANCE.md).

extension ConvGeometry {
    /// Whether conv2dForward splits each image's OpenBLAS product across the workers: when some
    /// workers would otherwise idle, for convolutions of at least rowSplitMinimumMACs per worker.
    func sharesImageProducts(workers: Int) -> Bool {
        workers > 1 && activeWorkers(workers) < workers && macs >= workers * rowSplitMinimumMACs
    }
}

/// y (=|+=) conv(x, w) on OpenBLAS, each image's product shared by `workers` workers, then the
/// epilogue if given. `col` holds at least one image's col matrix (g.colScratchFloats).
func conv2dForwardSharedImage(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                              y: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>, workers: Int,
                              accumulate: Bool, epilogue: ConvEpilogue?) {
    let pixels = g.outHeight * g.outWidth, n = g.outChannels, k = g.patchSize
    let imageIn = g.height * g.width * g.inChannels
    let splitRows = pixels >= n
    for image in 0..<g.batch {
        let input = x + image * imageIn
        if !g.isPointwise {
            parallelWorkers(workers) { wk in
                im2colRows(input, g, outputRows: splitRange(g.outHeight, parts: workers, wk), col: col)
            }
        }
        let a = g.isPointwise ? input : UnsafePointer(col)
        let first = image * pixels
        let out = y + first * n
        parallelWorkers(workers) { wk in
            if splitRows {
                let r = splitRange(pixels, parts: workers, wk)
                sgemm(transA: false, transB: true, m: r.count, n: n, k: k, a: a + r.lowerBound * k, lda: k,
                      b: w, ldb: k, beta: accumulate ? 1 : 0, c: out + r.lowerBound * n, ldc: n)
                epilogue?.apply(y, first: first + r.lowerBound, count: r.count, channels: n)
            } else {
                // Whole 16-channel blocks per worker, so the kernels' vectors stay aligned to them.
                let blocks = splitRange((n + 15) / 16, parts: workers, wk)
                let lower = min(n, blocks.lowerBound * 16), upper = min(n, blocks.upperBound * 16)
                sgemm(transA: false, transB: true, m: pixels, n: upper - lower, k: k, a: a, lda: k,
                      b: w + lower * k, ldb: k, beta: accumulate ? 1 : 0, c: out + lower, ldc: n)
            }
        }
        if !splitRows, let epilogue {
            parallelWorkers(workers) { wk in
                let r = splitRange(pixels, parts: workers, wk)
                epilogue.apply(y, first: first + r.lowerBound, count: r.count, channels: n)
            }
        }
    }
}
