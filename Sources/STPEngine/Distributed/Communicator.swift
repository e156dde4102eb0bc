// The processes of a data-parallel run (docs/SCALING.md) and the collective operations they use.
//
// stp's data parallelism keeps every rank's state identical, so a checkpoint is the same whatever
// the number of ranks and `--resume` may use another rank count:
//   - every rank fills the same global batch (one shuffle per epoch, a function of the seed) and
//     trains on its own equal slice of it;
//   - every rank samples the same subnets (a function of seed, step and k);
//   - batch normalisation uses the statistics of the whole global batch (its per-channel sums
//     are summed over ranks in the forward and the backward pass), so the gradients, the running
//     statistics and BN recalibration are those of one process with the global batch;
//   - after all K + 1 passes of a step, one allreduce averages a flat gradient buffer.
// The result equals one process with the same global batch up to float rounding (the order of
// the sums differs), which scripts/mpi_test.sh checks.
//
// A communicator is used from one thread at a time (the training or searching thread).

public protocol Communicator: AnyObject, Sendable {
    /// This process's index, 0 ..< size. Rank 0 writes files and prints.
    var rank: Int { get }
    var size: Int { get }
    /// Element-wise sum over all ranks, in place; every rank gets the result.
    func allreduceSum(_ values: UnsafeMutablePointer<Float>, count: Int)
    func allreduceSum(_ values: UnsafeMutablePointer<Double>, count: Int)
    /// Rank `root`'s bytes on every rank (their count may differ before the call).
    func broadcast(_ bytes: inout [UInt8], root: Int)
    func barrier()
}

extension Communicator {
    public var isDistributed: Bool { size > 1 }
    public var isRoot: Bool { rank == 0 }

    public func allreduceSum(_ values: inout [Double]) {
        let n = values.count
        values.withUnsafeMutableBufferPointer { allreduceSum($0.baseAddress!, count: n) }
    }

    /// The rows `rank` owns of `total` items split into `size` contiguous parts as evenly as
    /// possible (the first `total % size` parts one longer).
    public func share(of total: Int) -> Range<Int> {
        let base = total / size, extra = total % size
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }
}

/// One process: every collective is the identity.
public final class SingleProcess: Communicator {
    public let rank = 0
    public let size = 1
    public init() {}
    public func allreduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) {}
    public func allreduceSum(_ values: UnsafeMutablePointer<Double>, count: Int) {}
    public func broadcast(_ bytes: inout [UInt8], root: Int) {}
    public func barrier() {}
}
