import Testing
@testable import STPEngine
@testable import STPMethod

// The analytic cost tables against the engine's per-layer count, for every architecture of
// small spaces (both block kinds, both shortcuts, both stems), and against the parameters of the
// network that extraction builds.

@Test(arguments: [
    tinyBasicSpec(.zeroPad), tinyBasicSpec(.projection),
    tinyBottleneckSpec(.projection), tinyBottleneckSpec(.zeroPad), tinyBottleneckSpec(.projection, stem: .imagenet),
])
func analyticCostEqualsModelSummaryForEveryArchitecture(spec: ResNetSpec) throws {
    let s = space(spec)
    let all = try s.allArchitectures()
    #expect(all.count == s.exactCount)
    #expect(Set(all).count == all.count, "enumeration has no repeats")
    for a in all {
        let analytic = s.cost.cost(of: a)
        let subnet = ModelSummary(spec: spec, subnet: try a.subnet(for: spec))
        let extracted = ModelSummary(spec: try Extraction.extractedSpec(of: spec, architecture: a))
        #expect(analytic == ArchitectureCost(macs: subnet.totalMACs, parameters: subnet.totalParameters), "\(a)")
        #expect(analytic == ArchitectureCost(macs: extracted.totalMACs, parameters: extracted.totalParameters), "\(a)")
        #expect(s.cost.macs(of: a) == analytic.macs)
        #expect(s.cost.cost(of: try a.subnet(for: spec)) == analytic)
    }
    let macs = all.map { s.cost.macs(of: $0) }
    #expect(macs.min() == s.cost.macs(of: s.smallest))
    #expect(macs.max() == s.cost.macs(of: s.largest))
}

@Test func analyticCostEqualsTheBuiltExtractedNetwork() throws {
    // Three width choices per block keep this to a few hundred network builds.
    for spec in [tinyBasicSpec(.projection), tinyBottleneckSpec(.zeroPad)] {
        let s = space(spec, ArchitectureSpaceOptions(widthRatios: [0.25, 0.625, 1.0]))
        let all = try s.allArchitectures()
        #expect(all.count >= 72)
        for a in all {
            let built = ResNet(spec: try Extraction.extractedSpec(of: spec, architecture: a))
            #expect(built.parameterCount == s.cost.cost(of: a).parameters, "\(a)")
        }
    }
}

@Test func fullResNetCostsMatchTheLiterature() throws {
    let r20 = CostModel(spec: try ResNetSpec.named("resnet20"))
    #expect(r20.full == ArchitectureCost(macs: 40_551_040, parameters: 269_722))
    let r50 = CostModel(spec: try ResNetSpec.named("resnet50", classes: 1000))
    #expect(r50.full.parameters == 25_557_032)
    let r56 = try ResNetSpec.named("resnet56")
    let s = space(r56)
    var rng = SeededRandom(seed: 1)
    for _ in 0..<20 {
        let a = s.randomArchitecture(using: &rng)
        let summary = ModelSummary(spec: r56, subnet: try a.subnet(for: r56))
        #expect(s.cost.cost(of: a) == ArchitectureCost(macs: summary.totalMACs, parameters: summary.totalParameters))
    }
}

@Test func countsFormatWithDirectedRounding() {
    #expect(CountFormat.string(40_551_040) == "40.55M")
    #expect(CountFormat.string(5_100_000) == "5.1M")
    #expect(CountFormat.string(5_101_000, rounding: .up) == "5.11M")
    #expect(CountFormat.string(5_109_000, rounding: .down) == "5.1M")
    #expect(CountFormat.string(1_200_000_000) == "1.2G")
    #expect(CountFormat.string(20_000) == "20K")
    #expect(CountFormat.string(1_050_000) == "1.05M")
    #expect(CountFormat.string(999) == "999")
}
