import Dispatch
import Synchronization
import CBLAS

// The engine's own parallelism. The engine splits every layer's work (images of a convolution,
// rows of a normalisation) across `ComputeThreads.workers` Dispatch workers and runs OpenBLAS
// single-threaded inside each, rather than letting OpenBLAS thread each GEMM: between GEMMs
// OpenBLAS's idle threads spin (sched_yield) and steal the cores from the memory-bound kernels,
// and the small per-layer GEMMs of a CIFAR ResNet scale better split by image than by tile.
// So exactly one level of parallelism is active at any time.

public enum ComputeThreads {
    private static let configured = Mutex<Int?>(nil)

    /// Number of workers (default: the logical cores this process may use).
    public static var workers: Int {
        configured.withLock { value in
            if let value { return value }
            let n = defaultWorkers()
            value = n
            stp_openblas_set_num_threads(1)
            return n
        }
    }

    /// Sets the number of workers; OpenBLAS stays single-threaded inside them.
    public static func set(workers n: Int) {
        configured.withLock { $0 = max(1, n) }
        stp_openblas_set_num_threads(1)
    }

    /// The most workers `--threads` accepts: 4 per logical core. More only oversubscribes the
    /// cores (each worker's share of a layer shrinks while its scheduling cost does not).
    public static var maximumWorkers: Int { 4 * defaultWorkers() }

    /// Sets the workers a `--threads` value asks for, after checking it: 1 to `maximumWorkers`.
    public static func set(option: String = "--threads", workers n: Int) throws {
        guard (1...maximumWorkers).contains(n) else {
            throw STPError(.argument, "\(option) \(n): expected 1 to \(maximumWorkers) compute threads (4 per logical core; this machine has \(defaultWorkers()))")
        }
        set(workers: n)
    }

    static func defaultWorkers() -> Int {
        let n = CPUFeatures.current().logicalCores
        return max(1, n)
    }
}

/// Wraps a value that the caller guarantees is used without data races.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Work below this many rows runs on the calling thread: dispatch costs more than it saves.
let parallelRowThreshold = 4096

/// Runs body(worker) for worker in 0..<count concurrently (count <= ComputeThreads.workers): on
/// the engine's spinning WorkerPool, or on Dispatch when the pool is busy (a nested or a second
/// concurrent section).
@inline(__always)
func parallelWorkers(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 { body(0); return }
    if WorkerPool.shared.perform(count, body) { return }
    withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: count) { shared.value($0) }
    }
}

/// Splits 0..<total into `parts` contiguous ranges; part i gets range(i).
@inline(__always)
func splitRange(_ total: Int, parts: Int, _ i: Int) -> Range<Int> {
    let per = total / parts, extra = total % parts
    let start = i * per + min(i, extra)
    return start..<(start + per + (i < extra ? 1 : 0))
}

/// Workers for a section of `parts` independent pieces (rows of pixels, images) that touch
/// `values` values in all: every worker, at most one per piece, once there are at least 32K
/// values, else one. parallelRows' threshold counts rows of a [rows, C] matrix and kept, for
/// one, a stem max pool's 56 rows of 56 pixels per image on one core.
@inline(__always)
func sectionWorkers(parts: Int, values: Int) -> Int {
    values >= 32_768 ? max(1, min(ComputeThreads.workers, parts)) : 1
}

/// Splits 0..<rows into contiguous ranges, one per worker, and runs `body` on each.
@inline(__always)
func parallelRows(_ rows: Int, _ body: (Int, Int) -> Void) {
    let workers = ComputeThreads.workers
    if workers <= 1 || rows < parallelRowThreshold {
        body(0, rows)
        return
    }
    parallelWorkers(workers) { w in
        let r = splitRange(rows, parts: workers, w)
        if !r.isEmpty { body(r.lowerBound, r.upperBound) }
    }
}
