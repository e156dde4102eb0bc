import STPEngine
import STPMethod

// Everything `stp explore` can set. The search defaults are deliberately small (population 16,
// 4 parents, 5 generations, 256 fitness images, 512 recalibration images) so that a search of
// ResNet-20 on the built-in data set finishes in seconds and the person watching can iterate;
// `stp prune` keeps the paper-sized defaults for measured results.

public struct ExplorerOptions: Sendable {
    public var training = TrainingConfig()
    /// The FLOPs budget (Budget.forms); nil: the budget a resumed run last had, else 50%.
    public var budget: String?
    public var stimulative = StimulativeOptions()
    public var search: SearchOptions
    /// Training images held out of training: the search's fitness and validation set.
    public var fitnessImages = 256
    /// Images whose batch statistics recalibrate BN before any evaluation.
    public var recalibrationImages = 512
    /// Fraction of the epochs of stimulative training over the whole space before the first
    /// automatic search, after which subnet mutating expansion starts.
    public var stimulativeFraction = 0.6
    /// Epochs between automatic re-searches during expansion.
    public var researchEvery = 2
    /// Search automatically (after the stimulative phase and every `researchEvery` epochs).
    public var autoSearch = true
    /// The front over the whole space (FrontSearch.swift), renewed on the weights of every epoch
    /// so the accuracy-vs-FLOPs curve shows from the first epoch on; nil: no front.
    public var front: FrontOptions? = FrontOptions()
    /// The front's share of the training time: each epoch of T seconds gives it frontShare x T
    /// seconds, which renewals on newer weights and extra rounds spend; only the first front
    /// (so that there is a curve to see) may overdraw. Measured in README's Explorer section.
    public var frontShare = 0.06
    /// Measure the latency model (LatencyModel.swift) when the session starts: a few seconds
    /// for a CIFAR ResNet; gives every candidate its predicted batch-1 latency and throughput
    /// and the plot its latency axis (x).
    public var measureLatency = true
    /// The batch of the throughput table (nil: 128 for CIFAR-size inputs, 16 at 224 px).
    public var latencyThroughputBatch: Int?
    /// Rounds a front may add on the same weights while its allowance lasts (beyond the one
    /// that renews it).
    public var frontExtraRounds = 3
    /// Where the run goes; nil picks runs/DATE-TIME-MODEL-DATA.
    public var runPath: String?
    /// Continue the run in this directory (written by an earlier `stp explore`).
    public var resumePath: String?
    public var overwrite = false
    /// Start with training paused (tests; a person presses p).
    public var startPaused = false
    /// Minimum time between two snapshots published from training steps.
    public var publishInterval = 0.1

    public init() {
        var s = SearchOptions()
        s.population = 16
        s.parents = 4
        s.generations = 5
        search = s
        training.recalibrationImages = 512
    }

    /// The key of the run record under which the explorer stores how many training images it
    /// held out, so that a resumed run holds out the same ones.
    public static let heldOutKey = "explorer_held_out_images"
    /// The key of the budget last set in the explorer, restored when the run is continued.
    public static let budgetKey = "explorer_budget"
    public static let defaultBudget = "50%"
}
