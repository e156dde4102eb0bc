import ArgumentParser
import STPEngine
import STPMethod

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure training, inference or search speed and peak memory; prints JSON.",
        discussion: """
            Modes: train (one SGD step), stim (full-network CE + one half-depth subnet KL), infer \\
            (eval-mode forward), latency (infer at batch 1 unless --batch is given), search (KD-guided \\
            search candidate evaluations per second, BN recalibration included), latency-model (the \
            search's per-block latency tables, checked against --iterations whole networks; default 8). \
            --arch benchmarks the \\
            physically smaller network a pruned architecture extracts to.
            """)

    @Option(help: "Model.") var model = "resnet20"
    @Option(help: "Shortcut kind (default: the model's own: zero-pad for CIFAR ResNets, projection for resnet18/50).")
    var shortcut: ShortcutKind?
    @Option(help: "Batch size (default 128; 1 for latency).") var batch: Int?
    @Option(help: "What to time: train, stim, infer, latency, search or latency-model.") var mode: BenchmarkOptions.Mode = .train
    @Option(help: "A pruned architecture of the model, e.g. 'd=2,2,2 w=8|8,16|16,32|32'.") var arch: String?
    @Option(help: "Timed iterations (candidate evaluations for search; default 10, 100 for latency).") var iterations: Int?
    @Option(help: "Untimed warm-up iterations.") var warmup = 2
    @Option(name: .customLong("input-size"), help: "Input height and width (default: the model's own, 32 or 224).")
    var inputSize: Int?
    @Option(name: .customLong("fitness-images"), help: "Search: images of the KD fitness.") var fitnessImages = 1024
    @Option(name: .customLong("recalibration-images"), help: "Search: BN recalibration images.") var recalibrationImages = 1024
    @OptionGroup var compute: ComputeArguments

    func run() throws {
        try reportingErrors {
            try compute.apply()
            var o = BenchmarkOptions()
            o.model = model
            o.shortcut = shortcut
            o.batch = batch ?? (mode == .latency ? 1 : 128)
            o.mode = mode
            o.iterations = iterations ?? (mode == .latency ? 100 : 10)
            o.warmup = warmup
            o.imageSize = inputSize
            let console = Console.standardError
            let workers = ComputeThreads.workers   // sets OpenBLAS single-threaded before the status reads it
            console.writeLine(BLASRuntime.status().logLine + "; engine: \(workers) compute threads")
            let bar = ProgressBar(label: "bench \(model) \(mode.rawValue)", total: o.iterations + o.warmup, unit: "it", console: console)
            if mode == .latencyModel {
                guard arch == nil else { throw STPError(.argument, "--arch does not apply to --mode latency-model (it checks random architectures)") }
                let result = try MethodBenchmark.latencyModel(o, checks: iterations ?? 8)
                bar.finish()
                console.writeLine(result.markdown)
                print(result.json())
            } else if mode == .search {
                guard arch == nil else { throw STPError(.argument, "--arch does not apply to --mode search (it evaluates random architectures)") }
                let result = try MethodBenchmark.search(o, fitnessImages: fitnessImages, recalibrationImages: recalibrationImages) { done, _ in
                    bar.update(completed: done)
                }
                bar.finish()
                print(result.json())
            } else {
                let result = try MethodBenchmark.run(o, architecture: arch) { done, _ in bar.update(completed: done) }
                bar.finish()
                print(result.json())
            }
        }
    }
}
