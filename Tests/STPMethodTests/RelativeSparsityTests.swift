import Testing
@testable import STPEngine
@testable import STPMethod

// Relative sparsity on weights whose kept and dropped parts have known magnitudes.

@Test func relativeSparsityMeasuresKeptAgainstDroppedFilters() throws {
    let spec = tinyBasicSpec()          // blocks [2, 1, 2], planes 4/6/8
    let model = ResNet(spec: spec, seed: 1)
    // Every conv weight: |w| = 2 for the first half of the output filters, 1 for the rest;
    // every BN gamma: 3 for the first half, 1 for the rest.
    for b in model.blocks {
        for u in b.allUnits {
            let w = u.conv.weight, per = w.count / u.conv.outChannels
            for o in 0..<u.conv.outChannels { for j in 0..<per { w.pointer[o * per + j] = (o < u.conv.outChannels / 2 ? 2 : 1) * (j % 2 == 0 ? 1 : -1) } }
            for c in 0..<u.bn.channels { u.bn.gamma.pointer[c] = c < u.bn.channels / 2 ? 3 : -1 }
        }
    }
    let half = try Architecture(widths: [[2, 2], [3], [4]])   // half width, stage 3 drops its second block
    let report = try RelativeSparsity.measure(model, architecture: half)
    #expect(report.layers.count == 4)       // conv1 of the 4 kept blocks
    for l in report.layers {
        #expect(l.weightRatio.map { abs($0 - 2) < 1e-9 } == true, "\(l.name): \(String(describing: l.weightRatio))")
        #expect(l.gammaRatio.map { abs($0 - 3) < 1e-9 } == true)
        #expect(l.droppedMeanAbs.map { abs($0 - 1) < 1e-9 } == true)
        #expect(abs(l.keptMeanAbs - 2) < 1e-9)
    }
    #expect(abs((report.meanWeightRatio ?? 0) - 2) < 1e-9)
    // Stage 3: both blocks have mean |w| 1.5, so kept/dropped blocks is 1; stages 1 and 2 drop no block.
    #expect(report.stages.map(\.keptBlocks) == [2, 1, 1])
    #expect(report.stages[2].blockRatio.map { abs($0 - 1) < 1e-9 } == true)
    #expect(report.stages[0].blockRatio == nil)
    #expect(report.table().contains("blocks.0.conv1"))

    // The full network drops nothing: no ratios.
    let full = try RelativeSparsity.measure(model, architecture: Architecture.full(spec))
    #expect(full.layers.allSatisfy { $0.weightRatio == nil && $0.gammaRatio == nil })
    #expect(full.meanWeightRatio == nil)
}
