import STPTestSupport
import Testing
@testable import STPEngine

// Winograd F(2x2, 3x3) (WinogradConv.swift) against the im2col + OpenBLAS reference: the forward
// pass (fresh and accumulated, one and two workers, with the fused eval batch norm), and the
// input gradient of the backward pass, which runs through it as a convolution with flipped
// weights, and the weight gradient computed in the Winograd domain. Tolerance as for the other kernels: the sums differ by float rounding (1e-5 relative
// for 576-term sums), a wrong transform by O(1). Shapes: 16/32/64 channels (the full CIFAR widths), odd input and output widths
// (a pruned network's), and images large enough to be processed in several chunks of tile rows.

private let winogradCases: [(cout: Int, cin: Int, height: Int, width: Int)] = [
    (16, 16, 6, 10), (32, 32, 4, 8), (64, 64, 8, 32), (7, 15, 6, 6), (23, 33, 4, 12), (16, 8, 2, 2), (48, 17, 8, 4),
    // Wider than 64 output channels: the weights and products in 64-column panels, the last
    // one 32 wide, or 8 wide with a masked last vector (130 on 136 padded columns).
    (96, 16, 4, 6), (130, 24, 6, 4),
    // Forward widths of 8 more than a multiple of 16 end in a half vector: exactly 8 and 40, and
    // wide with a last panel of 24.
    (8, 16, 6, 10), (40, 16, 4, 6), (88, 16, 4, 4),
    // Odd output sizes (an ImageNet-size last stage is 7x7): the last tile row or column has one
    // output of two; forward and input gradient by Winograd, the weight gradient directly.
    (16, 16, 7, 7), (24, 16, 5, 6), (96, 16, 6, 5), (7, 15, 3, 9), (64, 32, 9, 7),
]

@Test func winogradRunsExactlyTheThreeByThreeStrideOneConvolutions() {
    func g(_ cin: Int, _ h: Int, _ w: Int, kernel: Int = 3, stride: Int = 1, padding: Int = 1) -> ConvGeometry {
        ConvGeometry(batch: 2, height: h, width: w, inChannels: cin, outChannels: 16, kernel: kernel, stride: stride, padding: padding)
    }
    #expect(g(16, 32, 32).usesWinograd == Winograd.enabled)
    #expect(!g(16, 32, 32, stride: 2).usesWinograd)
    #expect(g(16, 7, 8).usesWinograd == Winograd.enabled)   // odd output height: forward only
    #expect(!g(16, 7, 8).usesWinogradWeightGradient && !g(16, 8, 7).usesWinogradWeightGradient)
    #expect(g(16, 32, 32).usesWinogradWeightGradient == Winograd.enabled)
    #expect(!g(3, 32, 32).usesWinograd)         // the stem: too few input channels
    #expect(!g(16, 32, 32, kernel: 1, padding: 0).usesWinograd)
    #expect(g(16, 32, 32).colScratchFloats(workers: 2) >= g(16, 32, 32).winogradScratchFloats(workers: 2))
}

@Test(.enabled(if: FastKernels.available && Winograd.enabled, "needs AVX-512F and STP_NO_WINOGRAD unset"),
      arguments: winogradCases.indices)
func winogradForwardMatchesTheReferenceConvolution(_ index: Int) {
    let c = winogradCases[index]
    let g = ConvGeometry(batch: 3, height: c.height, width: c.width, inChannels: c.cin, outChannels: c.cout,
                         kernel: 3, stride: 1, padding: 1)
    #expect(g.usesWinograd)
    let x = gaussians(g.inputCount, seed: 80)
    let w = gaussians(g.outChannels * g.patchSize, seed: 81, scale: 0.3)
    let scale = gaussians(c.cout, seed: 82), shift = gaussians(c.cout, seed: 83)
    let residual = gaussians(g.outputCount, seed: 84)
    /// fused: 0 none, 1 batch norm + residual + ReLU, 2 batch norm alone.
    func forward(fast: Bool, workers: Int, accumulate: Bool, fused: Int) -> [Float] {
        var y = [Float](repeating: accumulate ? 0.5 : .nan, count: g.outputCount)
        var col = [Float](repeating: 0, count: max(1, g.colScratchFloats(workers: workers)))
        x.withPointer { xp in w.withPointer { wp in y.withMutablePointer { yp in col.withMutablePointer { cp in
        scale.withPointer { sp in shift.withPointer { hp in residual.withPointer { rp in
            let epilogue = fused == 0 ? nil : ConvEpilogue(scale: sp, shift: hp, residual: fused == 1 ? rp : nil, relu: fused == 1)
            conv2dForward(g, x: xp, w: wp, y: yp, col: cp, workers: workers, accumulate: accumulate, fast: fast,
                          epilogue: epilogue)
        } } } } } } }
        return y
    }
    for workers in [1, 2] {
        for (accumulate, fused) in [(false, 0), (true, 0), (false, 1), (false, 2)] {
            let a = forward(fast: true, workers: workers, accumulate: accumulate, fused: fused)
            let b = forward(fast: false, workers: 1, accumulate: accumulate, fused: fused)
            expectClose(a, b, relative: 1e-4, absolute: 1e-4, "\(c), \(workers) workers, accumulate \(accumulate), fused \(fused)")
        }
    }
}

@Test(.enabled(if: FastKernels.available && Winograd.enabled, "needs AVX-512F and STP_NO_WINOGRAD unset"),
      arguments: winogradCases.indices)
func winogradInputGradientMatchesTheReferenceConvolution(_ index: Int) {
    let c = winogradCases[index]
    // The input gradient is a convolution of dy (cout channels) into cin channels.
    let g = ConvGeometry(batch: 2, height: c.height, width: c.width, inChannels: c.cout, outChannels: c.cin,
                         kernel: 3, stride: 1, padding: 1)
    #expect(transposedGeometry(g).usesWinograd == (c.cin >= 8))
    let w = gaussians(g.outChannels * g.patchSize, seed: 85, scale: 0.3)
    let dy = gaussians(g.outputCount, seed: 86)
    func inputGradient(fast: Bool, workers: Int, accumulate: Bool) -> [Float] {
        var dx = [Float](repeating: accumulate ? -0.25 : .nan, count: g.inputCount)
        let need = backwardDataScratchFloats(g, workers: workers)
        var col = [Float](repeating: 0, count: max(1, need.col)), flipped = [Float](repeating: 0, count: max(1, need.flipped))
        w.withPointer { wp in dy.withPointer { dyp in dx.withMutablePointer { dxp in
        col.withMutablePointer { cp in flipped.withMutablePointer { fp in
            conv2dBackwardData(g, w: wp, dy: dyp, dx: dxp, accumulate: accumulate, col: cp, flipped: fp,
                               workers: workers, fast: fast)
        } } } } }
        return dx
    }
    for workers in [1, 2] {
        for accumulate in [false, true] {
            let a = inputGradient(fast: true, workers: workers, accumulate: accumulate)
            let b = inputGradient(fast: false, workers: 1, accumulate: accumulate)
            expectClose(a, b, relative: 1e-4, absolute: 1e-4, "\(c), \(workers) workers, accumulate \(accumulate)")
        }
    }
}

@Test(.enabled(if: FastKernels.available && Winograd.enabled, "needs AVX-512F and STP_NO_WINOGRAD unset"),
      arguments: winogradCases.indices)
func winogradWeightGradientMatchesTheReferenceConvolution(_ index: Int) {
    let c = winogradCases[index]
    let g = ConvGeometry(batch: 3, height: c.height, width: c.width, inChannels: c.cin, outChannels: c.cout,
                         kernel: 3, stride: 1, padding: 1)
    let x = gaussians(g.inputCount, seed: 87)
    let dy = gaussians(g.outputCount, seed: 88)
    func weightGradient(fast: Bool, workers: Int) -> [Float] {
        var dw = [Float](repeating: 0.25, count: g.outChannels * g.patchSize)
        var col = [Float](repeating: 0, count: max(1, g.colScratchFloats(workers: workers)))
        var scratch = [Float](repeating: 0, count: max(1, g.weightGradientScratchFloats(workers: workers)))
        x.withPointer { xp in dy.withPointer { dyp in dw.withMutablePointer { dwp in col.withMutablePointer { cp in
        scratch.withMutablePointer { sp in
            conv2dBackwardWeights(g, x: xp, dy: dyp, dw: dwp, col: cp, dwScratch: sp, workers: workers, fast: fast)
        } } } } }
        return dw
    }
    let reference = weightGradient(fast: false, workers: 1)
    for workers in [1, 2] {
        let a = weightGradient(fast: true, workers: workers)
        expectClose(a, reference, relative: 1e-4, absolute: 1e-4, "\(c), \(workers) workers")
    }
}

/// Training batches: many images per call, so the kernels walk several chunks of images (the
/// cases above use two or three). A data-parallel run found 2 x 32 images differing from 64.
@Test(.enabled(if: FastKernels.available && Winograd.enabled, "needs AVX-512F and STP_NO_WINOGRAD unset"),
      arguments: [(32, 8), (64, 8), (17, 8), (8, 32)])
func winogradMatchesTheReferenceOnTrainingSizedBatches(_ batch: Int, _ size: Int) {
    let channels = size == 8 ? 32 : 16
    let g = ConvGeometry(batch: batch, height: size, width: size, inChannels: channels, outChannels: channels,
                         kernel: 3, stride: 1, padding: 1)
    let x = gaussians(g.inputCount, seed: 90)
    let w = gaussians(g.outChannels * g.patchSize, seed: 91, scale: 0.3)
    let dy = gaussians(g.outputCount, seed: 92)
    func run(fast: Bool, workers: Int) -> (y: [Float], dx: [Float], dw: [Float]) {
        var y = [Float](repeating: .nan, count: g.outputCount)
        var dx = [Float](repeating: .nan, count: g.inputCount)
        var dw = [Float](repeating: 0, count: g.outChannels * g.patchSize)
        let need = backwardDataScratchFloats(g, workers: workers)
        var col = [Float](repeating: 0, count: max(1, need.col, g.colScratchFloats(workers: workers)))
        var flipped = [Float](repeating: 0, count: max(1, need.flipped))
        var scratch = [Float](repeating: 0, count: max(1, g.weightGradientScratchFloats(workers: workers)))
        x.withPointer { xp in w.withPointer { wp in dy.withPointer { dyp in
        y.withMutablePointer { yp in dx.withMutablePointer { dxp in dw.withMutablePointer { dwp in
        col.withMutablePointer { cp in flipped.withMutablePointer { fp in scratch.withMutablePointer { sp in
            conv2dForward(g, x: xp, w: wp, y: yp, col: cp, workers: workers, fast: fast)
            conv2dBackwardData(g, w: wp, dy: dyp, dx: dxp, accumulate: false, col: cp, flipped: fp, workers: workers, fast: fast)
            conv2dBackwardWeights(g, x: xp, dy: dyp, dw: dwp, col: cp, dwScratch: sp, workers: workers, fast: fast)
        } } } } } } } } }
        return (y, dx, dw)
    }
    let reference = run(fast: false, workers: 1)
    for workers in [1, 2] {
        let a = run(fast: true, workers: workers)
        expectClose(a.y, reference.y, relative: 1e-4, absolute: 1e-4, "forward, batch \(batch), \(size) px, \(workers) workers")
        expectClose(a.dx, reference.dx, relative: 1e-4, absolute: 1e-4, "input gradient, batch \(batch), \(size) px, \(workers) workers")
        expectClose(a.dw, reference.dw, relative: 1e-4, absolute: 1e-3, "weight gradient, batch \(batch), \(size) px, \(workers) workers")
    }
}
