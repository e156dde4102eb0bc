import ArgumentParser
import STPEngine

extension Precision: ExpressibleByArgument {}

/// How a command computes: its threads and the precision of its products (train, prune, explore,
/// bench, eval). Applied before any other work, so a refused value costs nothing and the
/// precision line is the first one logged.
struct ComputeArguments: ParsableArguments {
    @Option(help: "Compute threads (default: all cores; OpenBLAS runs single-threaded inside each).") var threads: Int?
    @Option(help: ArgumentHelp(
        "Products in fp32, bf16 (AVX512-BF16: the convolutions' forward passes, the search's included, and stride-1 input gradients; weight gradients, batch norm and the optimizer stay fp32) or auto (bf16 where the CPU has it, else fp32). Default fp32.",
        valueName: "fp32|bf16|auto"))
    var precision: Precision = .fp32

    /// Sets the threads and the precision; says which precision runs unless it is the default.
    func apply() throws {
        if let threads { try ComputeThreads.set(option: "--threads", workers: threads) }
        let line = try ComputePrecision.set(precision)
        if precision != .fp32 { Console.standardError.writeLine(line) }
    }
}
