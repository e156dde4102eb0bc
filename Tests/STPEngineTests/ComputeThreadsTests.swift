import STPEngine
import Testing

// --threads outside 1...4 per logical core is refused, naming the option and the range, and
// leaves the workers as they were. (A valid value is not set here: the workers are global and
// other tests run beside this one.)
@Test func threadCountsOutsideTheirRangeAreRefusedAndChangeNothing() {
    let before = ComputeThreads.workers
    for bad in [0, -1, ComputeThreads.maximumWorkers + 1, 1_000_000] {
        do {
            try ComputeThreads.set(option: "--threads", workers: bad)
            Issue.record("--threads \(bad) must be refused")
        } catch let e as STPError {
            #expect(e.message.contains("--threads \(bad)") && e.message.contains("expected 1 to \(ComputeThreads.maximumWorkers)"), "\(e.message)")
        } catch {
            Issue.record("\(error)")
        }
    }
    #expect(ComputeThreads.workers == before)
}
