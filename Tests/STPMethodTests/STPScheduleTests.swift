import Testing
@testable import STPMethod

// The STP schedule both `stp prune` and the explorer follow: the first search after the
// stimulative fraction of the epochs, re-searches every few epochs, a final one at the end.

@Test(arguments: [
    (10, 0.6, 4, 6, [6, 10]),
    (10, 0.6, 3, 6, [6, 9, 10]),
    (5, 0.6, 2, 3, [3, 5]),
    (30, 0.6, 2, 18, [18, 20, 22, 24, 26, 28, 30]),
    (1, 0.6, 2, 1, [1]),
    (4, 0.01, 10, 1, [1, 4]),
    (4, 1.0, 1, 4, [4]),
    (0, 0.6, 2, 0, [0]),  // stp prune --epochs 0: one search of the network as given
])
func theScheduleSearchesAfterTheStimulativePhaseEveryFewEpochsAndAtTheEnd(
    epochs: Int, fraction: Double, every: Int, first: Int, searches: [Int]) {
    let s = STPSchedule(epochs: epochs, stimulativeFraction: fraction, researchEvery: every)
    #expect(s.firstSearchEpoch == first)
    #expect(s.searchEpochs == searches)
    #expect(s.hasExpansion == (first < epochs))
    #expect((0...epochs).filter(s.searchDue(afterEpoch:)) == searches)
    let plan = s.expansion(toward: Architecture(unchecked: [[4], [8], [16]]), startingAfter: first)
    #expect(plan.startEpoch == Double(first) && plan.endEpoch == Double(epochs))
}
