import STPEngine

// OpenBLAS picks its kernels when it is loaded, before any Swift code runs; when it fell back to
// generic kernels on a CPU with AVX-512 or AVX2, this re-executes stp with OPENBLAS_CORETYPE set.
// It must stay the first statement.
BLASRuntime.selectCoreOrReexec(arguments: CommandLine.arguments)
STP.main()
