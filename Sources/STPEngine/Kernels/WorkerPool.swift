import Foundation
import Synchronization

// The engine's worker threads. A layer's parallel section lasts from a few microseconds (a CIFAR
// convolution at batch 1) to tens of milliseconds; waking a Dispatch worker for each costs tens
// of microseconds, more than the whole section at batch 1 (measured: two Dispatch threads made
// batch-1 ResNet-20 slower than one, docs/PERFORMANCE.md). So the pool's threads spin on the
// job counter for a short while after each section (`spinIterations`, about 50 us) and only then
// sleep on a condition: back-to-back sections find them awake, an idle process (the explorer
// waiting for a key) does not burn a core.
//
// One job at a time: a section started while another runs (a nested section, or a second
// thread) goes to Dispatch instead, as every section did before this pool.

final class WorkerPool: @unchecked Sendable {
    /// The pool for `ComputeThreads.workers` (its threads are started on first use).
    static let shared = WorkerPool(threads: max(0, ComputeThreads.workers - 1))

    /// Loads of the job counter a worker makes before it sleeps.
    static let spinIterations = 20_000

    let threads: Int
    private let generation = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let wake = NSCondition()
    // Written by the submitting thread before it publishes a generation (releasing), read by
    // the workers after they observe it (acquiring).
    private var body: ((Int) -> Void)?
    private let count = Atomic<Int>(0)

    init(threads: Int) {
        self.threads = threads
        for index in 0..<threads {
            // The threads hold the pool: a pool lives as long as the process (an unowned
            // reference would trap if a pool were released while a thread still spun on it).
            let thread = Thread { self.run(worker: index + 1) }
            thread.name = "stp-worker-\(index + 1)"
            thread.start()
        }
    }

    /// Runs body(i) for i in 0..<count, item 0 on the calling thread; false (nothing run) when
    /// the pool is busy or has too few threads.
    func perform(_ count: Int, _ body: (Int) -> Void) -> Bool {
        if count <= 1 {
            if count == 1 { body(0) }
            return true
        }
        guard count - 1 <= threads, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return false
        }
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.count.store(count, ordering: .relaxed)
            remaining.store(count - 1, ordering: .relaxed)
            generation.wrappingAdd(1, ordering: .releasing)
            wake.lock()
            wake.broadcast()
            wake.unlock()
            body(0)
            while remaining.load(ordering: .acquiring) > 0 {}
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
        return true
    }

    private func run(worker index: Int) {
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                spins += 1
                if spins >= WorkerPool.spinIterations {
                    wake.lock()
                    while generation.load(ordering: .acquiring) == seen { wake.wait() }
                    wake.unlock()
                    spins = 0
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if index < count.load(ordering: .relaxed) {
                invoke(index)
                remaining.wrappingSubtract(1, ordering: .releasing)
            }
        }
    }

    /// Calls the job's body; any reference this takes to it is released before the worker
    /// reports the item done (perform's non-escaping closure must not outlive the job).
    @inline(never)
    private func invoke(_ index: Int) {
        body?(index)
    }
}
