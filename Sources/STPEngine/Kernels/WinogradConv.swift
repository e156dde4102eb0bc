import Foundation
import STPKernelsAVX512

// 3x3, stride-1, padding-1 convolutions by Winograd F(2x2, 3x3) on the AVX-512 kernels (the
// transforms are in STPKernelsAVX512/Winograd.swift). Every CIFAR ResNet convolution but the stem
// and the two stride-2 ones is of this kind, and so are the input-gradient convolutions of the
// backward pass (stride 1, flipped weights); their weight gradients run in the same domain
// (conv2dBackwardWeightsWinograd). 2.25x fewer multiply-adds than the direct
// (implicit-GEMM) convolution, which on a CPU whose products already run near its FMA peak is
// the only way left to make them much faster (docs/PERFORMANCE.md).
//
//   x   [N, H, W, Cin] -> padded image [H + 2, W + 2, Cin] (one at a time, per worker; one
//                          more zero row or column for an odd output height or width)
//   wt  [9 * Cin, Cout8]  (the transposed weight of the implicit path) -> u [16, Cin, Cout8]
//   per chunk of tile rows: v [16, tiles, Cin16] -> m [16, tiles, Cout8] (16 products) -> y
//   y   [N, H, W, Cout]
//
// Used when the input has at least Winograd.minimumInputChannels (8) channels, for any output
// width (wider than 64 in the products' 64-column panels: ImageNet-size layers). An odd output
// height or width (the 7x7 last stage of an ImageNet-size ResNet) gets a last row or column of
// tiles of which only the first output exists: the padded image has one more zero row or column,
// and the output transform stores what exists (1.72x fewer multiply-adds than direct at 7x7,
// against 2.25x). The weight gradient runs in the Winograd domain for even sizes only
// (usesWinogradWeightGradient). STP_NO_WINOGRAD=1 turns it off, to compare.

public enum Winograd {
    public static let enabled: Bool = ProcessInfo.processInfo.environment["STP_NO_WINOGRAD"] == nil
    /// Fewer input channels make the 16 products too short to beat the direct kernel: the
    /// stem's 3, and a pruned stage's 7 (measured: the ResNet-20 pruned to widths 7/15/31 ran
    /// inference at 3238 img/s with this at 8, 2832 with it at 4).
    static let minimumInputChannels = 8

    /// Floats of v or m per chunk, at most: a chunk's working set stays in L2 between the
    /// transforms and the products.
    static let chunkFloats = 32 * 1024
}

extension ConvGeometry {
    /// Whether conv2dForward runs this convolution by Winograd F(2x2, 3x3) (AVX-512 path only).
    public var usesWinograd: Bool {
        Winograd.enabled && allowsWinograd && kernelH == 3 && kernelW == 3 && stride == 1 && padding == 1
            && inChannels >= Winograd.minimumInputChannels
    }

    /// Whether conv2dBackwardWeights runs in the Winograd domain too: for even output sizes,
    /// where every tile's four outputs exist.
    public var usesWinogradWeightGradient: Bool { usesWinograd && outHeight % 2 == 0 && outWidth % 2 == 0 }

    var winogradTilesPerRow: Int { (outWidth + 1) / 2 }
    var winogradTileRowsPerImage: Int { (outHeight + 1) / 2 }
    /// The padded image the tiles read: the convolution's padding, and one more zero row or
    /// column at the bottom or right when the output height or width is odd.
    var winogradPaddedHeight: Int { 2 * winogradTileRowsPerImage + 2 }
    var winogradPaddedWidth: Int { 2 * winogradTilesPerRow + 2 }
    var winogradPaddedImageFloats: Int { winogradPaddedHeight * winogradPaddedWidth * inChannels }
    var winogradInputStride: Int { (inChannels + 15) / 16 * 16 }

    /// Tile rows per chunk: as many as keep v and m within Winograd.chunkFloats, at least one.
    var winogradChunkTileRows: Int {
        let perTileRow = 16 * winogradTilesPerRow * max(winogradInputStride, FastKernels.paddedColumns(outChannels))
        return max(1, min(winogradTileRowsPerImage, Winograd.chunkFloats / perTileRow))
    }

    /// Floats of one worker's scratch: its padded image (with 16 floats of slack for the
    /// transform's last vector), v and m for one chunk, and the chunk's padded output rows when
    /// Cout is not a multiple of 8.
    var winogradScratchFloatsPerWorker: Int {
        let nPadded = FastKernels.paddedColumns(outChannels)
        let tiles = winogradChunkTileRows * winogradTilesPerRow
        let rows = nPadded == outChannels ? 0 : 4 * tiles * nPadded
        return winogradPaddedImageFloats + 16 + 16 * (winogradXiStride(winogradInputStride) + winogradXiStride(nPadded)) + rows
    }

    /// Floats between the 16 matrices of v or m (`columns` wide) in one chunk: a cache line more
    /// than they fill, so that the transforms' 16 loads or stores, one per matrix, do not all
    /// fall into the same L1 set (with power-of-two strides they did: 8 ways for 16 streams).
    func winogradXiStride(_ columns: Int) -> Int { winogradChunkTileRows * winogradTilesPerRow * columns + 16 }

    /// Floats of scratch conv2dForwardWinograd needs: the transformed weight, then each worker's
    /// (every worker's, as a batch smaller than the workers splits each image between them).
    public func winogradScratchFloats(workers: Int) -> Int {
        16 * inChannels * FastKernels.paddedColumns(outChannels) + max(1, workers) * winogradScratchFloatsPerWorker
    }

    /// Whether the forward pass splits each image's tile rows across the workers: with fewer
    /// images than workers, for convolutions of at least `rowSplitMinimumMACs` per worker.
    func splitsWinogradTileRows(workers: Int) -> Bool {
        batch < workers && winogradTileRowsPerImage >= workers && macs >= workers * rowSplitMinimumMACs
    }
}

/// u [16, Cin, Cout8]: the Winograd transform G g G^T of a transposed weight wt [9 * Cin, Cout8].
public func winogradTransformWeight(_ wt: UnsafePointer<Float>, inChannels: Int, paddedColumns: Int,
                                    into u: UnsafeMutablePointer<Float>) {
    AVX512Kernels.winogradWeights(cin: inChannels, n: paddedColumns, wt: wt, u: u)
}

/// y (=|+=) conv(x, w) for a 3x3, stride-1, padding-1 convolution (g.usesWinograd), with the
/// weight given transposed (`wt` [9 * Cin, Cout8]) and, optionally, already transformed
/// (`transformedWeight` [16, Cin, Cout8]); `scratch` holds g.winogradScratchFloats.
func conv2dForwardWinograd(_ g: ConvGeometry, x: UnsafePointer<Float>, wt: UnsafePointer<Float>, paddedColumns nPadded: Int,
                           y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                           workers requested: Int, accumulate: Bool, epilogue: ConvEpilogue? = nil,
                           transformedWeight: UnsafePointer<Float>? = nil) {
    let cin = g.inChannels, n = g.outChannels, oh = g.outHeight, ow = g.outWidth
    let u = transformedWeight ?? {
        winogradTransformWeight(wt, inChannels: cin, paddedColumns: nPadded, into: scratch)
        return UnsafePointer(scratch)
    }()
    let workerScratch = scratch + 16 * cin * nPadded
    let perWorker = g.winogradScratchFloatsPerWorker
    let tilesPerRow = g.winogradTilesPerRow
    let ldv = g.winogradInputStride, vStride = g.winogradXiStride(ldv), mStride = g.winogradXiStride(nPadded)
    let imageIn = g.height * g.width * cin
    let padRowStride = g.winogradPaddedWidth * cin
    /// Output tile rows ty0..<ty0 + tileRows of `image` from its padded copy `pad`, with worker
    /// `wk`'s v and m.
    func chunk(image: Int, ty0: Int, tileRows: Int, pad: UnsafePointer<Float>, wk: Int) {
        let v = workerScratch + wk * perWorker + g.winogradPaddedImageFloats + 16
        let m = v + 16 * vStride
        let tiles = tileRows * tilesPerRow
        AVX512Kernels.winogradInput(pad: pad, rowStride: padRowStride, channels: cin, firstTileRow: ty0,
                                    tileRows: tileRows, tilesPerRow: tilesPerRow, v: v, ldv: ldv, xiStride: vStride)
        for xi in 0..<16 {
            AVX512Kernels.product(m: tiles, n: nPadded, k: cin, a: v + xi * vStride, lda: ldv,
                                  b: u + xi * cin * nPadded, c: m + xi * mStride, ldc: nPadded, accumulate: false)
        }
        let firstPixel = (image * oh + 2 * ty0) * ow
        let outputRows = min(2 * tileRows, oh - 2 * ty0)
        // The epilogue in registers, before the outputs are stored; an odd width's last vector
        // of each pixel is stored through a mask, straight into the compact output.
        AVX512Kernels.winogradOutput(m: m, xiStride: mStride, n: nPadded, tileRows: tileRows, tilesPerRow: tilesPerRow,
                                     out: y + firstPixel * n, ldo: n, outRowStride: ow * n, accumulate: accumulate,
                                     scale: epilogue?.scale, shift: epilogue?.shift,
                                     residual: epilogue?.residual.map { $0 + firstPixel * n },
                                     relu: epilogue?.relu ?? false, columns: n, outputRows: outputRows, outputColumns: ow)
    }
    let tileRowsPerImage = g.winogradTileRowsPerImage
    if g.splitsWinogradTileRows(workers: requested) {
        // Fewer images than workers (batch-1 inference): the workers share each image's chunks,
        // reading one padded copy.
        let rowsPerChunk = min(g.winogradChunkTileRows, (tileRowsPerImage + requested - 1) / requested)
        for image in 0..<g.batch {
            padImage(x + image * imageIn, g, into: workerScratch,
                     paddedHeight: g.winogradPaddedHeight, paddedWidth: g.winogradPaddedWidth)
            parallelWorkers(requested) { wk in
                var ty0 = wk * rowsPerChunk
                while ty0 < tileRowsPerImage {
                    chunk(image: image, ty0: ty0, tileRows: min(rowsPerChunk, tileRowsPerImage - ty0), pad: workerScratch, wk: wk)
                    ty0 += requested * rowsPerChunk
                }
            }
        }
        return
    }
    let workers = g.activeWorkers(requested)
    parallelWorkers(workers) { wk in
        let pad = workerScratch + wk * perWorker
        for image in splitRange(g.batch, parts: workers, wk) {
            padImage(x + image * imageIn, g, into: pad,
                     paddedHeight: g.winogradPaddedHeight, paddedWidth: g.winogradPaddedWidth)
            var ty0 = 0
            while ty0 < tileRowsPerImage {
                let tileRows = min(g.winogradChunkTileRows, tileRowsPerImage - ty0)
                chunk(image: image, ty0: ty0, tileRows: tileRows, pad: pad, wk: wk)
                ty0 += tileRows
            }
        }
    }
}

/// dw [Cout, 9 * Cin] += the weight gradient of a 3x3, stride-1, padding-1 convolution
/// (g.usesWinogradWeightGradient) by Winograd F(2x2, 3x3): each worker reduces its images into its own du
/// [16, Cin, Cout8], transformed back into a transposed partial [9 * Cin, Cout8] at the end.
/// `scratch` holds g.winogradScratchFloats.
func conv2dBackwardWeightsWinograd(_ g: ConvGeometry, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                   dw: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                   workers requested: Int) {
    precondition(g.usesWinogradWeightGradient, "conv2dBackwardWeightsWinograd: odd output size \(g.outHeight)x\(g.outWidth)")
    let workers = g.activeWorkers(requested)
    let cin = g.inChannels, n = g.outChannels, oh = g.outHeight, ow = g.outWidth, k = g.patchSize
    let nPadded = FastKernels.paddedColumns(n)
    let perWorker = g.winogradScratchFloatsPerWorker
    let workerScratch = scratch + 16 * cin * nPadded
    let tilesPerRow = g.winogradTilesPerRow, chunkRows = g.winogradChunkTileRows
    let ldv = g.winogradInputStride, vStride = g.winogradXiStride(ldv), mStride = g.winogradXiStride(nPadded)
    let imageIn = g.height * g.width * cin
    let padRowStride = g.paddedWidth * cin
    let du = UnsafeMutablePointer<Float>.allocate(capacity: workers * 16 * cin * nPadded)
    du.initialize(repeating: 0, count: workers * 16 * cin * nPadded)
    let partials = UnsafeMutablePointer<Float>.allocate(capacity: workers * k * nPadded)
    partials.initialize(repeating: 0, count: workers * k * nPadded)
    defer { du.deallocate(); partials.deallocate() }
    parallelWorkers(workers) { wk in
        let pad = workerScratch + wk * perWorker
        let v = pad + g.winogradPaddedImageFloats + 16
        let dm = v + 16 * vStride
        let rows: UnsafeMutablePointer<Float>? = nPadded == n ? nil : dm + 16 * mStride
        let myDu = du + wk * 16 * cin * nPadded
        for image in splitRange(g.batch, parts: workers, wk) {
            padImage(x + image * imageIn, g, into: pad)
            var ty0 = 0
            while ty0 < oh / 2 {
                let tileRows = min(chunkRows, oh / 2 - ty0)
                let tiles = tileRows * tilesPerRow
                AVX512Kernels.winogradInput(pad: pad, rowStride: padRowStride, channels: cin, firstTileRow: ty0,
                                            tileRows: tileRows, tilesPerRow: tilesPerRow, v: v, ldv: ldv, xiStride: vStride)
                var grad = dy + (image * oh + 2 * ty0) * ow * n
                if let rows {
                    padColumns(grad, rows: 2 * tileRows * ow, columns: n, paddedColumns: nPadded, into: rows)
                    grad = UnsafePointer(rows)
                }
                AVX512Kernels.winogradOutputGradient(dy: grad, rowStride: ow * nPadded, n: nPadded, tileRows: tileRows,
                                                     tilesPerRow: tilesPerRow, dm: dm, xiStride: mStride)
                for xi in 0..<16 {
                    AVX512Kernels.weightGradient(rows: tiles, n: nPadded, k: cin, x: v + xi * vStride, ldx: ldv,
                                                 g: dm + xi * mStride, d: myDu + xi * cin * nPadded)
                }
                ty0 += tileRows
            }
        }
        AVX512Kernels.winogradWeightsGradient(cin: cin, n: nPadded, du: myDu, dwt: partials + wk * k * nPadded)
    }
    addTransposedPartials(partials, workers: workers, k: k, n: n, ld: nPadded, into: dw)
}
