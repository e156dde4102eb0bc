import Testing
import Synchronization
@testable import STPEngine

// The spinning worker pool behind parallelWorkers: every item of every job runs exactly once and
// the job is finished when perform returns; a section started inside a running job is refused
// (parallelWorkers then runs it on Dispatch) instead of deadlocking.

@Test func workerPoolRunsEveryItemOnceAndRefusesANestedJob() {
    let pool = WorkerPool(threads: 1)
    let hits = Mutex<[Int]>([0, 0])
    for round in 0..<2_000 {
        let ran = pool.perform(2) { i in hits.withLock { $0[i] += 1 } }
        #expect(ran)
        let seen = hits.withLock { $0 }
        #expect(seen == [round + 1, round + 1], "round \(round)")
        if seen != [round + 1, round + 1] { break }
    }
    let nested = Mutex<Bool?>(nil)
    #expect(pool.perform(2) { i in
        if i == 0 { nested.withLock { $0 = pool.perform(2) { _ in } } }
    })
    #expect(nested.withLock { $0 } == false)
    #expect(!pool.perform(3) { _ in }, "more items than threads + 1")
}
