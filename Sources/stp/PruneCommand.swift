import ArgumentParser
import Foundation
import STPEngine
import STPMethod

struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train, choose an architecture for a FLOPs or latency budget, extract it and evaluate it without fine-tuning.",
        discussion: """
            Budgets: 50% or 'remove 50%' (FLOPs removed), 'keep 30%', or absolute MACs like 20M; or a \
            batch-1 latency on this machine, 1.5ms or 2x-faster (predicted by per-block timings measured \
            when the run starts; the report gives each result's measured latency and throughput); several \
            separated by commas. Methods: stp, st-uniform, slimming, l1-filter, uniform, several separated \
            by commas, or all. Methods and budgets of one invocation share the training they have in common. \
            Writes OUTPUT/train-KIND (training runs), OUTPUT/METHOD-BUDGET/{extracted,report.md,report.json} \
            and the comparison OUTPUT/report.{md,json}. Ctrl-C saves every run at its step; the same \
            command with --resume continues them.
            """)

    @Option(help: "Methods: stp, st-uniform, slimming, l1-filter, uniform (comma-separated), or all.") var method = "stp"
    @Option(help: "Budgets, comma-separated: FLOPs (50%, keep 30%, 20M) or latency (1.5ms, 2x-faster).") var budget = "50%"
    @OptionGroup var training: TrainingArguments
    @OptionGroup var stimulative: StimulativeArguments
    @Option(help: "Output directory.") var output = "runs/prune"
    @Flag(help: "Replace an existing output directory's run.") var overwrite = false
    @Flag(help: "Continue the training runs an interrupted prune left in the output directory (give the same options again).") var resume = false
    @Option(help: "Search: population.") var population = 50
    @Option(help: "Search: parents.") var parents = 10
    @Option(help: "Search: generations.") var generations = 20
    @Option(name: .customLong("fitness-images"), help: "Held-out training images for the search's KD fitness.") var fitnessImages = 1024
    @Option(name: .customLong("recalibration-images"), help: "Training images for BN recalibration.") var recalibrationImages = 2000
    @Option(name: .customLong("stimulative-fraction"), help: "stp: fraction of the epochs trained before the first search and expansion (1: no expansion; default: \(PruneRecipe.fromScratch.stimulativeFraction) from scratch, \(PruneRecipe.fromTrained.stimulativeFraction) with --init).") var stimulativeFraction: Double?
    @Option(help: "stp: the last N of the --epochs fine-tune the searched architecture alone, by KD from the teacher (0: no fine-tuning).") var finetune = 0
    @Option(name: .customLong("research-every"), help: "Epochs between re-searches during expansion.") var researchEvery = 2
    @Option(name: .customLong("front-buckets"), help: "stp: FLOPs buckets of the front over the whole space (front.json, front.csv).") var frontBuckets = 12
    @Option(name: .customLong("front-rounds"), help: "stp: rounds of the front search (about 2 evaluations per bucket each); 0: no front.") var frontRounds = 3
    @Option(help: "Slimming strength s.") var slimming: Float = 1e-4
    @Option(name: .customLong("channel-order"), help: "stp, st-uniform: each block's inner channels before training, given (as the network has them), l1 (largest filter L1 norm first) or gamma (largest BN |gamma| first); subnets keep the first channels (default: \(PruneRecipe.fromScratch.channelOrder.rawValue) from scratch, \(PruneRecipe.fromTrained.channelOrder.rawValue) with --init).")
    var channelOrder: PruneOptions.ChannelOrder?
    @Flag(help: "Print each result's report as a JSON line on standard output.") var json = false

    static func methods(_ text: String) throws -> [PruneOptions.Method] {
        if text == "all" { return PruneOptions.Method.allCases }
        return try text.split(separator: ",").map { name in
            let name = name.trimmingCharacters(in: .whitespaces)
            guard let m = PruneOptions.Method(rawValue: name) else {
                throw STPError(.argument, "--method: unknown method '\(name)'; expected \(PruneOptions.Method.allCases.map(\.rawValue).joined(separator: ", ")) or all")
            }
            return m
        }
    }

    func run() throws {
        try reportingErrors {
            var o = PruneOptions()
            o.methods = try Prune.methods(method)
            o.budgets = budget.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            try training.apply(to: &o.training)
            let recipe = PruneRecipe.for(o.training)
            o.apply(recipe)
            stimulative.apply(to: &o.stimulative, recipe: recipe)
            o.outputPath = output
            o.overwrite = overwrite
            o.resume = resume
            if let channelOrder { o.channelOrder = channelOrder }
            o.search.population = population
            o.search.parents = parents
            o.search.generations = generations
            o.search.seed = training.seed
            o.fitnessImages = fitnessImages
            o.recalibrationImages = recalibrationImages
            o.researchEvery = researchEvery
            if let stimulativeFraction { o.stimulativeFraction = stimulativeFraction }
            o.finetuneEpochs = finetune
            o.front.buckets = frontBuckets
            o.frontRounds = frontRounds
            o.slimmingStrength = slimming
            let console = Console.standardError
            let workers = ComputeThreads.workers   // sets OpenBLAS single-threaded before the status reads it
            console.writeLine(BLASRuntime.status().logLine + "; engine: \(workers) compute threads")
            let used = PruneRecipe(of: o)
            console.writeLine("defaults \(recipe == .fromTrained ? "from a trained network (--init, docs/RESULTS.md)" : "from scratch"): "
                              + recipe.summary + (used == recipe ? "" : "; this run, with the options given: " + used.summary))
            Interrupts.install()
            defer { Interrupts.uninstall() }
            let summary = try PrunePipeline.runAll(o, console: console, shouldStop: { Interrupts.stopRequested })
            if json {
                let encoder = ReportJSON.encoder([.sortedKeys])
                for report in summary.reports { print(String(decoding: try encoder.encode(report), as: UTF8.self)) }
            } else {
                print(summary.markdown)
            }
        }
    }
}
