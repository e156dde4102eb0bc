import Foundation
import Testing
@testable import STPEngine
@testable import STPMethod

// The front search (FrontSearch.swift) on the tiny supernet of SearchTests: its front is
// non-dominated among everything evaluated, covers the space from the smallest bucket to the
// full network, continues deterministically, reuses and feeds the budget search's evaluations,
// and writes what front.csv and front.json promise.

@Test func theFrontIsNonDominatedAndCoversTheSpace() throws {
    let search = try makeSearch()
    var options = FrontOptions()
    options.buckets = 5
    let result = try search.improveFront(options, rounds: 2)
    #expect(!result.cancelled)
    let buckets = result.buckets
    #expect(buckets.count == 5)
    #expect(buckets.first!.lowerBound == search.space.cost.macs(of: search.space.smallest))
    #expect(buckets.last!.upperBound == search.space.cost.macs(of: search.space.largest))
    #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0.upperBound < $1.lowerBound })
    // Every bucket that holds an architecture was sampled.
    let evaluated = Array(search.cachedCandidates.values)
    let allMACs = try search.space.allArchitectures().map { search.space.cost.macs(of: $0) }
    for window in buckets where allMACs.contains(where: window.contains) {
        #expect(evaluated.contains { window.contains($0.macs) }, "no candidate in bucket \(window)")
    }
    // Non-dominated: nothing evaluated has fewer or equal MACs and a lower fitness.
    let front = result.front.map(\.candidate)
    #expect(!front.isEmpty)
    for p in front {
        #expect(!evaluated.contains { $0.macs <= p.macs && $0.fitness < p.fitness })
    }
    #expect(zip(front, front.dropFirst()).allSatisfy { $0.macs < $1.macs && $0.fitness > $1.fitness })
    // From the smallest subnet to the full network, which distils perfectly into itself.
    #expect(front.first?.architecture == search.space.smallest)
    #expect(front.last?.architecture == search.space.largest && front.last!.fitness < 1e-6)
    // And complete: every evaluated candidate not on the front is dominated by a front point.
    for c in evaluated where !front.contains(c) {
        #expect(front.contains { $0.macs <= c.macs && $0.fitness <= c.fitness })
    }
    #expect(result.front.allSatisfy { $0.bucketMACs.contains($0.candidate.macs) && buckets[$0.bucket] == $0.bucketMACs })
}

@Test func frontRoundsContinueDeterministicallyAndShareTheBudgetSearchsEvaluations() throws {
    var options = FrontOptions()
    options.buckets = 4
    let a = try makeSearch(), b = try makeSearch()
    let one = try a.improveFront(options, rounds: 1)
    let afterOne = a.evaluationCount
    #expect(afterOne <= 2 + 4 * options.seedsPerBucket)
    let two = try a.improveFront(options, rounds: 1)
    #expect(a.evaluationCount > afterOne, "a second round evaluates new candidates")
    #expect(a.evaluationCount <= afterOne + 4 * max(options.seedsPerBucket, options.childrenPerBucket))
    #expect(two.front.map(\.candidate.fitness).min()! <= one.front.map(\.candidate.fitness).min()!)
    // Two rounds at once are the same as one and then another.
    let both = try b.improveFront(options, rounds: 2)
    #expect(both.front == two.front)
    // A budget search afterwards starts from the front's candidates in its window ...
    let full = a.space.cost.macs(of: a.space.largest)
    let window = Int(0.45 * Double(full))...Int(0.6 * Double(full))
    let inWindow = a.cachedCandidates.values.filter { window.contains($0.macs) }.count
    #expect(inWindow > 0)
    let before = a.evaluationCount
    var startEvaluations: Int?
    _ = try a.run(window: window, progress: { if $0.generation == 0 { startEvaluations = $0.evaluations } })
    #expect(startEvaluations! <= before + a.options.population - min(inWindow, a.options.population))
    // ... and the front then includes what the budget search found.
    let after = try a.improveFront(options, rounds: 0)
    #expect(after.evaluations == a.evaluationCount)
    for p in after.front.map(\.candidate) {
        #expect(!a.cachedCandidates.values.contains { $0.macs <= p.macs && $0.fitness < p.fitness })
    }
}

@Test func frontFilesHoldTheFrontCheapestFirst() throws {
    let search = try makeSearch()
    var options = FrontOptions()
    options.buckets = 3
    let result = try search.improveFront(options, rounds: 1)
    let lines = result.csv.split(separator: "\n")
    #expect(lines.first == "bucket,bucket_min_macs,bucket_max_macs,macs,params,fitness,accuracy,architecture")
    #expect(lines.count == result.front.count + 1)
    let macs = lines.dropFirst().map { Int($0.split(separator: ",")[3])! }
    #expect(macs == result.front.map(\.candidate.macs))
    let full = search.space.cost.macs(of: search.space.largest)
    let data = try JSONEncoder().encode(result.file(fullMACs: full))
    let back = try JSONDecoder().decode(FrontFile.self, from: data)
    #expect(back.fullMACs == full && back.front.count == result.front.count && back.buckets.count == 3)
    #expect(back.front.map(\.architecture) == result.front.map(\.candidate.architecture.description))
    var bad = FrontOptions()
    bad.buckets = 0
    #expect(throws: STPError.self) { try search.improveFront(bad) }
}
