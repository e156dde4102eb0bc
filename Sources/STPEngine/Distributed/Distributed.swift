// How this process takes part in a run: alone, or as one rank of an `mpirun` job.
//
// `start()` runs once, first thing in `stp`: under mpirun (Open MPI sets OMPI_COMM_WORLD_SIZE,
// PMIx sets PMIX_RANK) it initialises MPI and `world` becomes MPI_COMM_WORLD; otherwise `world`
// is a single process. Ranks other than 0 keep their output to themselves:
//   - they print nothing but errors (`Console` is muted, standard output goes to /dev/null);
//   - the files they would write go to a private folder under the temporary directory
//     (`privatePath`), removed when the process ends. Every rank holds the same state, so rank 0's
//     files are the run's; the other ranks still write and read back their own (a branch is saved
//     and reloaded, a resumed run is read), which keeps one code path for every rank count.

import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public enum Distributed {
    private static let state = Mutex<(world: any Communicator, privateRoot: String?)>((SingleProcess(), nil))

    /// The communicator of this process (a single process until `start()` found mpirun).
    public static var world: any Communicator { state.withLock { $0.world } }

    /// Whether mpirun (or another PMIx launcher) started this process.
    public static func launchedByMPI(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        if let size = environment["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init) { return size >= 1 }
        return environment["PMIX_RANK"] != nil
    }

    /// Whether this build can run under mpirun (Open MPI was installed when it was built).
    public static var isAvailable: Bool {
        #if canImport(CMPI)
        true
        #else
        false
        #endif
    }

    /// Joins the mpirun job when there is one. Call once, before any command runs.
    public static func start() throws {
        guard launchedByMPI() else { return }
        #if canImport(CMPI)
        let mpi = try MPICommunicator()
        var root: String?
        if mpi.rank != 0 {
            // A fresh directory of its own (mkdtemp), never one that already exists: finish()
            // removes it with everything in it.
            var template = Array((NSTemporaryDirectory() + "stp-rank\(mpi.rank)-XXXXXX").utf8CString)
            guard mkdtemp(&template) != nil else {
                throw STPError.file(.io, NSTemporaryDirectory(), "cannot create rank \(mpi.rank)'s private folder: \(AtomicFile.errnoText())")
            }
            root = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            Console.mute()
            let null = open("/dev/null", O_WRONLY)
            if null >= 0 { dup2(null, 1); close(null) }
        }
        state.withLock { $0 = (mpi, root) }
        #else
        throw STPError(.argument, "this stp was built without MPI, so it cannot run under mpirun: install libopenmpi-dev and openmpi-bin (scripts/setup --mpi does), then rebuild (touch Package.swift first if it was built before)")
        #endif
    }

    /// Leaves the job cleanly (MPI_Finalize) and removes the private folder. Call on success.
    public static func finish() {
        let (world, root) = state.withLock { ($0.world, $0.privateRoot) }
        if let root { try? FileManager.default.removeItem(atPath: root) }
        #if canImport(CMPI)
        if let mpi = world as? MPICommunicator {
            if mpi.rank == 0, mpi.traffic.allreduces > 0 {
                FileHandle.standardError.write(Data((mpi.trafficSummary + "\n").utf8))
            }
            mpi.finish()
        }
        #endif
        _ = world
    }

    /// Ends every rank of the job after an error on this one (a rank that returned while the
    /// others wait in a collective would hang the job); a single process just exits.
    public static func abort(status: Int32) -> Never {
        let (world, root) = state.withLock { ($0.world, $0.privateRoot) }
        if let root { try? FileManager.default.removeItem(atPath: root) }
        #if canImport(CMPI)
        if let mpi = world as? MPICommunicator, mpi.size > 1 { mpi.abort(status) }
        #endif
        _ = world
        exit(status)
    }

    /// Where this rank writes what the command line calls `path`: the path itself on rank 0 (or
    /// alone), else the same path inside the rank's private folder. With `copyingExisting`, what
    /// is at `path` is copied there first (a run to resume, which every rank must read).
    public static func privatePath(_ path: String, copyingExisting: Bool = false) throws -> String {
        guard let root = state.withLock({ $0.privateRoot }) else { return path }
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let mine = root + absolute
        let fm = FileManager.default
        try fm.createDirectory(atPath: (mine as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if copyingExisting, fm.fileExists(atPath: absolute), !fm.fileExists(atPath: mine) {
            try fm.copyItem(atPath: absolute, toPath: mine)
        }
        return mine
    }
}
