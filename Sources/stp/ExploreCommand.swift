import ArgumentParser
import Foundation
import STPEngine
import STPExplorer
import STPMethod

struct Explore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The terminal explorer: runs stimulative training and the KD-guided search live and lets you steer them.",
        discussion: """
            Trains with the stimulative objective in the background, searches for the FLOPs budget \
            (after 60% of the epochs, every 2 epochs after that, and whenever you press s or change \
            the budget), and lets you inspect, compare and export candidates. Press ? inside for the \
            keys. Needs a terminal of at least 80x24; without one use stp train, stp prune, stp \
            sparsity, stp eval, stp export.
            """)

    @Argument(help: "A run directory written by an earlier stp explore, to continue it.") var resumeDirectory: String?
    @OptionGroup var training: TrainingArguments
    @OptionGroup var stimulative: StimulativeArguments
    @Option(help: "FLOPs budget: \(Budget.forms) (default: 50%, or the budget a continued run last had).") var budget: String?
    @Option(name: .customLong("run"), help: "Run directory for a new run (default: runs/DATE-TIME-MODEL-DATA).") var runDirectory: String?
    @Flag(help: "Replace an existing run in --run.") var overwrite = false
    @Option(help: "Colour theme (a file name of themes/ or ~/.config/stp/themes without .theme).") var theme: String?
    @Option(help: "Search: population.") var population = 16
    @Option(help: "Search: parents.") var parents = 4
    @Option(help: "Search: generations.") var generations = 5
    @Option(name: .customLong("fitness-images"), help: "Training images held out for the search's KD fitness and top-1.") var fitnessImages = 256
    @Option(name: .customLong("recalibration-images"), help: "Training images for BN recalibration before every evaluation.") var recalibrationImages = 512
    @Option(name: .customLong("stimulative-fraction"), help: "Fraction of the epochs before the first automatic search and expansion.") var stimulativeFraction = 0.6
    @Option(name: .customLong("research-every"), help: "Epochs between automatic re-searches during expansion.") var researchEvery = 2
    @Option(name: .customLong("front-buckets"), help: "FLOPs buckets of the accuracy-vs-FLOPs front over the whole space, renewed every epoch; 0: no front.") var frontBuckets = 12
    @Option(name: .customLong("front-share"), help: "The front's share of the training time (renewals on newer weights wait for it; the first front always runs).") var frontShare = 0.06
    @Flag(name: .customLong("no-auto-search"), help: "Search only when asked (s, or a budget change).") var noAutoSearch = false
    @Flag(help: "Start with training paused.") var paused = false
    @Flag(name: .customLong("no-latency"), help: "Do not time the network's blocks at start (no latency column, no latency axis).") var noLatency = false
    @Flag(name: .customLong("print-keys"), help: "Print the table of keys (Markdown) and exit.") var printKeys = false

    func run() throws {
        if printKeys {
            print(KeyMap.markdownTable)
            return
        }
        try reportingErrors {
            var o = ExplorerOptions()
            try training.apply(to: &o.training)
            stimulative.apply(to: &o.stimulative, recipe: PruneRecipe.for(o.training))
            o.budget = budget
            o.search.population = population
            o.search.parents = parents
            o.search.generations = generations
            o.search.seed = training.seed
            o.fitnessImages = fitnessImages
            o.recalibrationImages = recalibrationImages
            o.stimulativeFraction = stimulativeFraction
            o.researchEvery = researchEvery
            o.autoSearch = !noAutoSearch
            guard frontBuckets >= 0 else { throw STPError(.argument, "--front-buckets must be 0 (no front) or more (got \(frontBuckets))") }
            guard frontShare.isFinite, (0...1).contains(frontShare) else { throw STPError(.argument, "--front-share must be between 0 and 1 (got \(frontShare))") }
            if frontBuckets == 0 { o.front = nil } else { o.front?.buckets = frontBuckets }
            o.frontShare = frontShare
            o.startPaused = paused
            o.measureLatency = !noLatency
            o.runPath = runDirectory
            o.resumePath = resumeDirectory
            o.overwrite = overwrite
            let status = ExplorerApp.run(options: o, themeName: theme)
            if status != 0 { throw ExitCode(status) }
        }
    }
}
