import STPTestSupport
import Testing
@testable import STPEngine
@testable import STPMethod

// The architecture space: allowed widths, size, pins, and that every operator stays inside it.

@Test func allowedWidthsRoundToTheDivisor() throws {
    let r20 = try ResNetSpec.named("resnet20")
    #expect(space(r20).allowedWidths(stage: 0, position: 0) == [4, 6, 8, 10, 12, 14, 16])
    #expect(space(r20).allowedWidths(stage: 2, position: 1) == [16, 24, 32, 40, 48, 56, 64])
    #expect(space(r20, ArchitectureSpaceOptions(divisor: 8)).allowedWidths(stage: 0, position: 0) == [8, 16])
    #expect(space(r20, ArchitectureSpaceOptions(divisor: 16)).allowedWidths(stage: 1, position: 0) == [16, 32])
    #expect(space(tinyBasicSpec(), ArchitectureSpaceOptions(divisor: 16)).allowedWidths(stage: 0, position: 0) == [4],
            "never wider than the block")
    #expect(space(tinyBasicSpec()).allowedWidths(stage: 1, position: 0) == [2, 3, 4, 5, 6], "halves round away from zero")
    #expect(ArchitectureSpace.round(ratio: 0.375, full: 6, divisor: 1) == 2)
    #expect(ArchitectureSpace.round(ratio: 0.25, full: 16, divisor: 4) == 4)
    #expect(ArchitectureSpace.round(ratio: 0.1, full: 16, divisor: 4) == 4, "at least the divisor")
}

@Test func badOptionsAreRejectedWithTheExpectation() {
    let spec = tinyBasicSpec()
    func message(_ o: ArchitectureSpaceOptions) -> String {
        errorMessage { _ = try ArchitectureSpace(spec: spec, options: o) } ?? "no error"
    }
    #expect(message(ArchitectureSpaceOptions(widthRatios: [0, 0.5])).contains("each in (0, 1]"))
    #expect(message(ArchitectureSpaceOptions(widthRatios: [])).contains("non-empty"))
    #expect(message(ArchitectureSpaceOptions(divisor: 0)).contains("positive integer"))
    #expect(message(ArchitectureSpaceOptions(minDepths: [1, 1])).contains("2 minimum depths for 3 stages"))
    #expect(message(ArchitectureSpaceOptions(minDepths: [0, 1, 1])).contains("at least 1"))
    #expect(message(ArchitectureSpaceOptions(pinnedStages: [3])).contains("stages 0...2"))
    #expect(message(ArchitectureSpaceOptions(pinnedBlocks: [5])).contains("blocks 0...4"))
}

@Test func spaceSizeCountsEveryArchitecture() throws {
    let s = space(tinyBasicSpec())
    // Stage 1: 4 + 4*4, stage 2: 5, stage 3: 7 + 7*7.
    #expect(s.exactCount == 20 * 5 * 56)
    #expect(s.count == 5600)
    let pinned = space(tinyBasicSpec(), ArchitectureSpaceOptions(minDepth: 2, stageCount: 3, pinnedStages: [1]))
    #expect(pinned.exactCount == 16 * 1 * 49)
    #expect(try pinned.allArchitectures().count == 784)
    let r110 = space(try ResNetSpec.named("resnet110"))
    #expect(r110.exactCount == nil, "too many for an Int")
    #expect(r110.count > 1e40 && r110.count.isFinite)
    #expect(throws: STPError.self) { _ = try r110.allArchitectures() }
}

@Test func smallestAndLargestAreTheExtremes() throws {
    let s = space(tinyBasicSpec(), ArchitectureSpaceOptions(widthRatios: [0.5, 0.75], minDepths: [1, 1, 2]))
    #expect(s.smallest.widths == [[2], [3], [4, 4]])
    #expect(s.largest.widths == [[3, 3], [5], [6, 6]])
    #expect(s.contains(s.smallest) && s.contains(s.largest))
    #expect(!s.contains(Architecture.full(tinyBasicSpec())), "1.0 is not among the ratios")
}

/// Spaces with and without pins and minimum depths, for the property tests.
private func operatorSpaces() -> [ArchitectureSpace] {
    [
        space(tinyBasicSpec()),
        space(tinyBasicSpec(), ArchitectureSpaceOptions(divisor: 4, minDepths: [2, 1, 1], pinnedBlocks: [4])),
        space(tinyBasicSpec(), ArchitectureSpaceOptions(widthRatios: [0.5, 1], pinnedStages: [0])),
        space(try! ResNetSpec.named("resnet56")),
    ]
}

@Test func mutationAndCrossoverAlwaysYieldValidArchitectures() throws {
    for s in operatorSpaces() {
        var rng = SeededRandom(seed: 2024)
        var changed = 0
        for seed in 0..<300 {
            var r = SeededRandom(seed: UInt64(seed))
            let a = s.randomArchitecture(using: &r), b = s.randomArchitecture(using: &r)
            for p in [0.1, 0.25, 1.0] {
                let m = s.mutate(a, probability: p, using: &rng)
                try s.validate(m)
                if m != a { changed += 1 }
            }
            #expect(s.mutate(a, probability: 0, using: &rng) == a)
            let c = s.crossover(a, b, using: &rng)
            try s.validate(c)
            for (st, widths) in c.widths.enumerated() {
                for (i, k) in widths.enumerated() {
                    let fromParents = [a, b].compactMap { i < $0.widths[st].count ? $0.widths[st][i] : nil }
                    #expect(fromParents.contains(k), "a crossover gene comes from a parent")
                }
            }
        }
        #expect(changed > 300, "mutation changes architectures")
    }
}

@Test func samplingRespectsPinsAndMinimumDepth() throws {
    let s = space(tinyBasicSpec(), ArchitectureSpaceOptions(minDepths: [2, 1, 1], pinnedStages: [1], pinnedBlocks: [3]))
    var rng = SeededRandom(seed: 9)
    var depthsSeen = Set<Int>()
    for i in 0..<500 {
        let a = i % 2 == 0 ? s.randomArchitecture(using: &rng) : s.stratifiedArchitecture(using: &rng)
        try s.validate(a)
        #expect(a.depths[0] == 2)
        #expect(a.widths[1] == [6])
        #expect(a.widths[2][0] == 8)
        depthsSeen.insert(a.depths[2])
    }
    #expect(depthsSeen == [1, 2], "unpinned depths vary")
}

@Test func stratifiedSamplingSeesLowFlopsMoreOftenThanUniform() throws {
    let s = space(try ResNetSpec.named("resnet20"))
    let lo = Double(s.cost.macs(of: s.smallest)), hi = Double(s.cost.macs(of: s.largest))
    let n = 1000
    func lowFraction(_ sample: (inout SeededRandom) -> Architecture) throws -> Double {
        var rng = SeededRandom(seed: 77)
        var low = 0
        for _ in 0..<n {
            let a = sample(&rng)
            try s.validate(a)
            if Double(s.cost.macs(of: a)) < lo + 0.1 * (hi - lo) { low += 1 }
        }
        return Double(low) / Double(n)
    }
    let uniform = try lowFraction { s.randomArchitecture(using: &$0) }
    let stratified = try lowFraction { s.stratifiedArchitecture(using: &$0) }
    // The lowest tenth of the FLOPs range: about 10% of stratified samples.
    #expect(stratified > 0.07 && stratified < 0.13, "stratified \(stratified), uniform \(uniform)")
    #expect(stratified > 2 * uniform, "stratified \(stratified), uniform \(uniform)")
}

@Test func repairBringsArchitecturesIntoFlopsWindows() throws {
    for s in operatorSpaces() {
        let lo = s.cost.macs(of: s.smallest), hi = s.cost.macs(of: s.largest)
        var rng = SeededRandom(seed: 31)
        var found = 0
        for i in 0..<100 {
            let target = lo + (hi - lo) * (i % 10 + 1) / 11
            let window = Int(Double(target) * 0.9)...target
            let start = s.randomArchitecture(using: &rng)
            if let r = s.repair(start, into: window, using: &rng) {
                try s.validate(r)
                #expect(window.contains(s.cost.macs(of: r)))
                found += 1
            }
            if let f = s.fit(start, into: window, using: &rng) {
                try s.validate(f)
                #expect(window.contains(s.cost.macs(of: f)))
            }
        }
        #expect(found > 50, "repair usually succeeds in a 10% window (\(found))")
        #expect(s.repair(s.largest, into: 0...(lo - 1), using: &rng) == nil, "below the smallest: impossible")
        let inside = s.randomArchitecture(using: &rng)
        let m = s.cost.macs(of: inside)
        #expect(s.fit(inside, into: m...m, using: &rng) == inside, "already inside: unchanged")
    }
}

@Test func samplingIsDeterministicForASeed() {
    let s = space(try! ResNetSpec.named("resnet20"))
    var a = SeededRandom(seed: 3), b = SeededRandom(seed: 3)
    for _ in 0..<20 {
        #expect(s.stratifiedArchitecture(using: &a) == s.stratifiedArchitecture(using: &b))
        let x = s.randomArchitecture(using: &a), y = s.randomArchitecture(using: &b)
        #expect(s.mutate(x, probability: 0.3, using: &a) == s.mutate(y, probability: 0.3, using: &b))
    }
}
