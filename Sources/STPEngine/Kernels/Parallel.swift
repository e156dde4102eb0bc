import Dispatch

// Row-parallel loops for the memory-bound kernels (normalisation, pooling, im2col). They run
// between GEMM calls, never during one, so OpenBLAS's threads and these never compete.

/// Work below this many rows runs on the calling thread: dispatch costs more than it saves.
let parallelRowThreshold = 4096

nonisolated(unsafe) var engineWorkerCount: Int = {
    let n = sysconfNumberOfProcessors()
    return max(1, n)
}()

/// Wraps a value that the caller guarantees is used without data races.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Splits 0..<rows into contiguous ranges, one per worker, and runs `body` on each.
@inline(__always)
func parallelRows(_ rows: Int, _ body: (Int, Int) -> Void) {
    let workers = engineWorkerCount
    if workers <= 1 || rows < parallelRowThreshold {
        body(0, rows)
        return
    }
    let per = (rows + workers - 1) / workers
    withoutActuallyEscaping(body) { body in
        // The ranges are disjoint, so sharing the kernel's pointers across workers is safe.
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let r0 = w * per, r1 = min(rows, r0 + per)
            if r0 < r1 { shared.value(r0, r1) }
        }
    }
}

#if canImport(Glibc)
import Glibc
func sysconfNumberOfProcessors() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
#else
import Foundation
func sysconfNumberOfProcessors() -> Int { ProcessInfo.processInfo.activeProcessorCount }
#endif
