import Foundation
import STPTestSupport
import Testing
@testable import STPEngine
@testable import STPMethod

// Latency budgets (issue 12): their syntax, their resolution against a latency table, the search
// and the repair in nanoseconds, and the profiler that measures the table. No test asserts a
// time: the tables here are synthetic, or measured and then checked only for their shape.

private let r20 = space(try! ResNetSpec.named("resnet20"))

/// A synthetic table for `space`: block b at width k takes (b + 1) * 1000 * k ns, plus 5 us.
private func syntheticTable(_ space: ArchitectureSpace, batch: Int = 1) -> LatencyTable {
    LatencyTable(batch: batch, threads: 1, baseNanoseconds: 5_000, widths: space.allowedWidths,
                 blockNanoseconds: space.allowedWidths.enumerated().map { b, ws in ws.map { (b + 1) * 1000 * $0 } },
                 check: nil)
}

@Test(arguments: [
    ("1.5ms", Budget.latency(nanoseconds: 1_500_000)),
    ("1.5 ms", .latency(nanoseconds: 1_500_000)),
    ("800us", .latency(nanoseconds: 800_000)),
    ("800µs", .latency(nanoseconds: 800_000)),
    ("0.002s", .latency(nanoseconds: 2_000_000)),
    ("2x-faster", .speedup(factor: 2)),
    ("2.5x faster", .speedup(factor: 2.5)),
    ("3X", .speedup(factor: 3)),
    ("20M MACs", .macs(20_000_000)),
    ("20 MFLOPs", .macs(20_000_000)),
])
func latencyBudgetFormsParse(text: String, budget: Budget) throws {
    #expect(try Budget.parse(text) == budget)
}

@Test(arguments: [
    ("1x-faster", "a speed-up must be more than 1x"),
    ("0.5x", "a speed-up must be more than 1x"),
    ("0ms", "a latency must be positive"),
    ("-1ms", "a latency must be positive"),
    ("fastms", "'fast' is not a number"),
    ("x-faster", "is not a number"),
])
func badLatencyBudgetsSayWhy(text: String, expected: String) {
    let message = errorMessage { _ = try Budget.parse(text) } ?? "no error"
    #expect(message.contains(expected), "'\(text)': \(message)")
    #expect(message.contains("1.5ms or 2x-faster"), "\(message)")
}

@Test func theMACsMeasureIsTheCostModel() {
    var rng = SeededRandom(seed: 3)
    let measure = CostMeasure.macs(r20.cost)
    for _ in 0..<200 {
        let a = r20.randomArchitecture(using: &rng)
        #expect(measure.value(of: a) == r20.cost.macs(of: a))
    }
}

@Test func aLatencyTablePredictsBasePlusKeptBlocksAndInterpolates() throws {
    let table = syntheticTable(r20)
    let a = try Architecture(parsing: "d=1,2,3 w=8|24,32|64,48,40")
    let expected = 5_000 + 1000 * (1 * 8 + 4 * 24 + 5 * 32 + 7 * 64 + 8 * 48 + 9 * 40)
    #expect(table.nanoseconds(of: a, stageStarts: r20.cost.stageStarts) == expected)
    // Width 5 of block 0 (measured: 4 and 6) interpolates; beyond the range it extrapolates.
    #expect(table.blockNanoseconds(0, width: 5) == 5_000)
    #expect(table.blockNanoseconds(0, width: 17) == 17_000)
}

@Test func latencyBudgetsResolveAgainstTheTable() throws {
    let table = syntheticTable(r20)
    let measure = CostMeasure.latency(table, stageStarts: r20.cost.stageStarts)
    let full = measure.value(of: r20.largest)
    let twice = try Budget.resolve("2x-faster", for: r20, latency: table)
    #expect(twice.measure == .latency)
    #expect(twice.target == full / 2)
    #expect(twice.full == full)
    #expect(twice.targetMACs == nil)
    #expect(twice.window.upperBound == full / 2)
    #expect("\(twice)".contains("at batch 1"), "\(twice)")
    let absolute = try Budget.resolve("0.5ms", for: r20, latency: table)
    #expect(absolute.target == 500_000)

    let smallest = measure.value(of: r20.smallest)
    let tooFast = errorMessage { _ = try Budget.resolve("\(Double(smallest) / 2e6)ms", for: r20, latency: table) } ?? "no error"
    #expect(tooFast.contains("faster than the smallest architecture"), "\(tooFast)")
    #expect(tooFast.contains("possible range on this machine"), "\(tooFast)")
    let nothing = errorMessage { _ = try Budget.resolve("1000ms", for: r20, latency: table) } ?? "no error"
    #expect(nothing.contains("does not prune anything"), "\(nothing)")
    let noTable = errorMessage { _ = try Budget.resolve("2x-faster", for: r20) } ?? "no error"
    #expect(noTable.contains("is a latency budget: stp prune takes those"), "\(noTable)")
    // FLOPs budgets resolve as before.
    #expect(try Budget.resolve("50%", for: r20, latency: table).measure == .macs)
}

@Test func theSpaceRepairsAndSamplesIntoALatencyWindow() throws {
    let table = syntheticTable(r20)
    let measure = CostMeasure.latency(table, stageStarts: r20.cost.stageStarts)
    let budget = try Budget.resolve("2x-faster", for: r20, latency: table)
    var rng = SeededRandom(seed: 11)
    for _ in 0..<100 {
        let a = try #require(r20.randomArchitecture(in: budget.window, measure: measure, using: &rng))
        #expect(budget.window.contains(measure.value(of: a)))
        #expect(r20.contains(a))
        let fitted = try #require(r20.fit(r20.largest, into: budget.window, measure: measure, using: &rng))
        #expect(budget.window.contains(measure.value(of: fitted)))
    }
    let uniform = try #require(Baselines.uniformArchitecture(space: r20, window: budget.window, measure: measure))
    #expect(measure.value(of: uniform) <= budget.window.upperBound)
}

@Test func theSearchRanksWithinALatencyWindowAndCandidatesCarryTheirLatency() throws {
    let search = try makeSearch()
    let space = search.space
    let model = LatencyModel(latency: syntheticTable(space), throughput: syntheticTable(space, batch: 128),
                             stageStarts: space.cost.stageStarts)
    search.latencyModel = model
    let budget = try Budget.resolve("2x-faster", for: space, tolerance: 0.2, latency: model.latency)
    let measure = budget.costMeasure(in: space)
    let result = try search.run(window: budget.window, measure: measure)
    let best = try #require(result.best)
    #expect(budget.window.contains(measure.value(of: best.architecture)))
    #expect(best.latencyMilliseconds == Double(measure.value(of: best.architecture)) / 1e6)
    let throughput = try #require(best.imagesPerSecond)
    #expect(abs(throughput - model.imagesPerSecond(of: best.architecture)) < 1e-9)
    #expect(result.evaluated.allSatisfy { $0.latencyMilliseconds != nil })
}

@Test func theProfilerTimesEveryKeptBlockAndBuildsAMonotoneTable() throws {
    let spec = tinyBasicSpec()
    let s = space(spec, ArchitectureSpaceOptions(widthRatios: [0.5, 1]))
    let a = try Architecture(parsing: "d=1,1,2 w=2|6|8,4")
    let t = try LatencyProfiler.time(spec: spec, architecture: a, batch: 2, repetitions: 3, minRepetitions: 3)
    #expect(t.blockSeconds.count == spec.blockCount)
    #expect(t.blockSeconds[1] == 0, "block 2 of stage 1 is dropped")
    #expect(t.blockSeconds[0] > 0 && t.blockSeconds[2] > 0 && t.blockSeconds[3] > 0 && t.blockSeconds[4] > 0)
    #expect(t.blockSeconds.reduce(0, +) <= t.totalSeconds * 1.0001)

    let table = try LatencyProfiler.measure(space: s, batch: 1, checkArchitectures: 3, seed: 1)
    #expect(table.widths == s.allowedWidths)
    for row in table.blockNanoseconds {
        #expect(zip(row, row.dropFirst()).allSatisfy { $0 <= $1 }, "non-decreasing in the width: \(row)")
        #expect(row.allSatisfy { $0 > 0 })
    }
    let check = try #require(table.check)
    #expect(check.rows.map(\.architecture) == [s.smallest.text, s.largest.text, check.rows[2].architecture])
    #expect(check.rows.allSatisfy { $0.measuredMilliseconds > 0 && $0.predictedMilliseconds > 0 })
    for row in check.rows {
        let a = try Architecture(parsing: row.architecture)
        #expect(row.predictedMilliseconds == Double(table.nanoseconds(of: a, stageStarts: s.cost.stageStarts)) / 1e6)
    }
    #expect(try LatencyProfiler.measure(space: s, batch: 1).check == nil, "no check unless asked")
}

@Test func ranksAgreeOnOneLatencyModel() {
    let table = syntheticTable(r20)
    let model = LatencyModel(latency: table, throughput: syntheticTable(r20, batch: 128), stageStarts: r20.cost.stageStarts)
    #expect(model.agreed(over: SingleProcess()) == model)
}

@Test func theTableIsANonDecreasingLeastSquaresFitNotARunningMaximum() {
    #expect(LatencyProfiler.nonDecreasingFit([1, 2, 3]) == [1, 2, 3])
    // A narrow width measured slow is averaged with the wider one; it does not raise it.
    #expect(LatencyProfiler.nonDecreasingFit([3, 1, 5]) == [2, 2, 5])
    #expect(LatencyProfiler.nonDecreasingFit([4, 3, 2, 7]) == [3, 3, 3, 7])
    let third: Double = 11.0 / 3
    #expect(LatencyProfiler.nonDecreasingFit([1, 6, 2, 3]) == [1, third, third, third])
    #expect(LatencyProfiler.nonDecreasingFit([]) == [])
}

@Test func aNetworksTimesAreMeansOverItsQuietestQuarterOfPasses() {
    // Passes 1 and 3 are the quietest quarter (rounded up) of 8.
    #expect(Set(LatencyProfiler.quietRepetitions([5, 1, 9, 2, 8, 7, 6, 4])) == [1, 3])
    #expect(LatencyProfiler.quietRepetitions([3]) == [0])
    #expect(LatencyProfiler.quietRepetitions([]) == [])
}
