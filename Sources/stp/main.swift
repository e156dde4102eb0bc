import Foundation
import STPEngine

// OpenBLAS picks its kernels when it is loaded, before any Swift code runs; when it fell back to
// generic kernels on a CPU with AVX-512 or AVX2, this re-executes stp with OPENBLAS_CORETYPE set.
// It must stay the first statement.
BLASRuntime.selectCoreOrReexec(arguments: CommandLine.arguments)
// Under mpirun, join the job (docs/SCALING.md). train and prune run on every rank, data-parallel;
// every other command (explore's UI among them) runs on rank 0 alone.
do {
    try Distributed.start()
} catch let error as STPError {
    Console.standardError.writeLine("stp: error: \(error.message)", evenWhenMuted: true)
    exit(1)
}
if Distributed.world.rank != 0 && !STP.runsOnEveryRank(CommandLine.arguments) {
    Distributed.finish()
    exit(0)
}
STP.main()
Distributed.finish()
