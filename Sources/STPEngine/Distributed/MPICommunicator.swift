// The communicator of a run started by `mpirun`: Open MPI's MPI_COMM_WORLD. Built only where
// Open MPI is installed (Package.swift's `hasMPI`); elsewhere `Distributed` reports that this
// stp cannot run under mpirun.

#if canImport(CMPI)
import CMPI
import Foundation
import Glibc

final class MPICommunicator: Communicator, @unchecked Sendable {
    let rank: Int
    let size: Int
    private let comm = stp_mpi_comm_world()
    /// What this rank exchanged, for the summary at the end of the job (docs/SCALING.md):
    /// allreduce calls, their payload in bytes, and the seconds spent inside collectives
    /// (waiting for the slowest rank included).
    private(set) var traffic = (allreduces: 0, bytes: 0, seconds: 0.0)

    /// MPI_Init_thread with MPI_THREAD_SERIALIZED: MPI is called from one thread at a time, not
    /// always the main one (the explorer trains on a background queue).
    init() throws {
        var provided: Int32 = 0
        try MPICommunicator.check(MPI_Init_thread(nil, nil, stp_mpi_thread_serialized(), &provided), "MPI_Init_thread")
        guard provided >= stp_mpi_thread_serialized() else {
            throw STPError(.engine, "MPI provides thread level \(provided); stp needs MPI_THREAD_SERIALIZED (\(stp_mpi_thread_serialized()))")
        }
        var r: Int32 = 0, s: Int32 = 0
        try MPICommunicator.check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank")
        try MPICommunicator.check(MPI_Comm_size(comm, &s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
    }

    static func check(_ code: Int32, _ call: String) throws {
        guard code != stp_mpi_success() else { return }
        var text = [CChar](repeating: 0, count: Int(stp_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        throw STPError(.engine, "\(call) failed: \(String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))")
    }

    /// Collectives fail only when the job is broken (a rank died, the network went away); MPI's
    /// default handler has then already aborted the job, so a non-success code here is a bug.
    private func must(_ code: Int32, _ call: String) {
        do { try MPICommunicator.check(code, call) } catch { fatalError("\(error)") }
    }

    func allreduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        counted(bytes: 4 * count) {
            must(MPI_Allreduce(stp_mpi_in_place(), values, Int32(count), stp_mpi_float(), stp_mpi_sum(), comm), "MPI_Allreduce")
        }
    }

    func allreduceSum(_ values: UnsafeMutablePointer<Double>, count: Int) {
        guard count > 0 else { return }
        counted(bytes: 8 * count) {
            must(MPI_Allreduce(stp_mpi_in_place(), values, Int32(count), stp_mpi_double(), stp_mpi_sum(), comm), "MPI_Allreduce")
        }
    }

    private func counted(bytes: Int, _ body: () -> Void) {
        let start = MPI_Wtime()
        body()
        traffic.allreduces += 1
        traffic.bytes += bytes
        traffic.seconds += MPI_Wtime() - start
    }

    /// One line for rank 0's standard error at the end of the job.
    var trafficSummary: String {
        String(format: "MPI: %d ranks; this rank made %d allreduces of %.1f MB in all, %.1f s inside them",
               size, traffic.allreduces, Double(traffic.bytes) / 1e6, traffic.seconds)
    }

    func broadcast(_ bytes: inout [UInt8], root: Int) {
        var count = Int64(bytes.count)
        must(MPI_Bcast(&count, 8, stp_mpi_byte(), Int32(root), comm), "MPI_Bcast")
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(count)) }
        guard count > 0 else { return }
        bytes.withUnsafeMutableBytes { buffer in
            must(MPI_Bcast(buffer.baseAddress, Int32(count), stp_mpi_byte(), Int32(root), comm), "MPI_Bcast")
        }
    }

    func barrier() { must(MPI_Barrier(comm), "MPI_Barrier") }

    func finish() { MPI_Finalize() }

    func abort(_ code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }
}
#endif
