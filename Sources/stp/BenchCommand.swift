import ArgumentParser
import STPEngine

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure training or inference images per second and peak memory; prints JSON.")

    @Option(help: "Model.") var model = "resnet20"
    @Option(help: "Shortcut kind.") var shortcut: ShortcutKind = .zeroPad
    @Option(help: "Batch size.") var batch = 128
    @Option(help: "What to time: train (one SGD step) or infer (eval-mode forward).") var mode: BenchmarkOptions.Mode = .train
    @Option(help: "Timed iterations.") var iterations = 10
    @Option(help: "Untimed warm-up iterations.") var warmup = 2
    @Option(name: .customLong("input-size"), help: "Input height and width.") var inputSize = 32
    @Option(help: "Compute threads (default: all cores; OpenBLAS runs single-threaded inside each).") var threads: Int?

    func run() throws {
        try reportingErrors {
            if let threads { ComputeThreads.set(workers: threads) }
            var o = BenchmarkOptions()
            o.model = model
            o.shortcut = shortcut
            o.batch = batch
            o.mode = mode
            o.iterations = iterations
            o.warmup = warmup
            o.imageSize = inputSize
            let console = Console.standardError
            let workers = ComputeThreads.workers   // sets OpenBLAS single-threaded before the status reads it
            console.writeLine(BLASRuntime.status().logLine + "; engine: \(workers) compute threads")
            let bar = ProgressBar(label: "bench \(model) \(mode.rawValue)", total: iterations + warmup, unit: "it", console: console)
            let result = try Benchmark.run(o) { done, _ in bar.update(completed: done) }
            bar.finish()
            print(result.json())
        }
    }
}
