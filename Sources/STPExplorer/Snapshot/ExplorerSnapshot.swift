import STPEngine
import STPMethod

// What the explorer shows, as one immutable value: the engine side builds a new snapshot after
// training steps (at most every 100 ms), at every event and after every command, and publishes
// it; the UI thread renders whatever snapshot is the latest. Nothing in it refers to mutable
// engine state, so rendering needs no lock and can never see a half-updated run.

public enum ExplorerPhase: String, Sendable, Equatable {
    case starting = "starting"
    case stimulativeTraining = "stimulative training"
    case search = "search"
    case expansion = "expansion"
    case finished = "training done"
    case extracted = "extracted"
    case failed = "failed"
}

/// One epoch of the training curves.
public struct EpochPoint: Sendable, Equatable {
    public var epoch: Int                 // 1-based
    public var trainLoss: Double          // full network, cross-entropy
    public var trainTop1: Double
    public var testLoss: Double
    public var testTop1: Double
    /// Cross-entropy and top-1 of the sampled subnets on the training batches (nil: no subnets).
    public var subnetLoss: Double?
    public var subnetTop1: Double?
    /// The distillation loss KL(full || subnet).
    public var distillation: Double?

    public init(epoch: Int, trainLoss: Double, trainTop1: Double, testLoss: Double, testTop1: Double,
                subnetLoss: Double? = nil, subnetTop1: Double? = nil, distillation: Double? = nil) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainTop1 = trainTop1
        self.testLoss = testLoss
        self.testTop1 = testTop1
        self.subnetLoss = subnetLoss
        self.subnetTop1 = subnetTop1
        self.distillation = distillation
    }
}

/// What the latency model predicts for the ends of the space, and how well it was checked.
public struct LatencyView: Sendable, Equatable {
    public var smallestMilliseconds: Double
    public var fullMilliseconds: Double
    public var summary: String

    public init(smallestMilliseconds: Double, fullMilliseconds: Double, summary: String) {
        self.smallestMilliseconds = smallestMilliseconds
        self.fullMilliseconds = fullMilliseconds
        self.summary = summary
    }
}

/// The architecture space and how often stimulative training sampled each part of it.
public struct SpaceView: Sendable, Equatable {
    public var blocksPerStage: [Int]
    /// Full inner width of every block (network order).
    public var fullWidths: [Int]
    /// Allowed widths of every block (network order), ascending.
    public var allowedWidths: [[Int]]
    /// Steps on which each block was part of a sampled subnet.
    public var blockSampleCounts: [Int]
    /// For every block, how often each width was sampled.
    public var widthSampleCounts: [[Int: Int]]
    /// Subnets sampled so far (the denominator of the block counts).
    public var subnetsSampled: Int
    public var smallestMACs: Int
    public var fullMACs: Int
    public var fullParameters: Int

    public init(blocksPerStage: [Int], fullWidths: [Int], allowedWidths: [[Int]], blockSampleCounts: [Int],
                widthSampleCounts: [[Int: Int]], subnetsSampled: Int, smallestMACs: Int, fullMACs: Int, fullParameters: Int) {
        self.blocksPerStage = blocksPerStage
        self.fullWidths = fullWidths
        self.allowedWidths = allowedWidths
        self.blockSampleCounts = blockSampleCounts
        self.widthSampleCounts = widthSampleCounts
        self.subnetsSampled = subnetsSampled
        self.smallestMACs = smallestMACs
        self.fullMACs = fullMACs
        self.fullParameters = fullParameters
    }
}

/// Relative sparsity of the reference architecture and its history during this session.
public struct SparsityView: Sendable, Equatable {
    public var report: RelativeSparsityReport
    /// Geometric-mean kept/dropped |w| ratio, oldest first (one value per measurement).
    public var ratioHistory: [Double]
    /// Mean |w| of the dropped filters, oldest first.
    public var droppedHistory: [Double]

    public init(report: RelativeSparsityReport, ratioHistory: [Double], droppedHistory: [Double]) {
        self.report = report
        self.ratioHistory = ratioHistory
        self.droppedHistory = droppedHistory
    }
}

public struct LogEntry: Sendable, Equatable {
    public enum Level: String, Sendable { case info, good, warning, error }
    /// Seconds since the session started.
    public var time: Double
    public var level: Level
    public var text: String

    public init(time: Double, level: Level, text: String) {
        self.time = time
        self.level = level
        self.text = text
    }
}

public struct SearchStatus: Sendable, Equatable {
    public var running = false
    public var generation = 0
    public var generations = 0
    public var evaluations = 0
    /// Searches completed in this session.
    public var completed = 0
    public var lastSeconds: Double?
    public init() {}
}

/// The front over the whole space (renewed every epoch on the new weights).
public struct FrontStatus: Sendable, Equatable {
    public var running = false
    /// Epochs whose front has been computed (each one round or more).
    public var rounds = 0
    /// Candidates on the current front.
    public var points = 0
    /// Seconds spent on the front in this session.
    public var seconds = 0.0
    public init() {}
}

/// Why the reference architecture (architecture panel, relative sparsity) is the one shown.
public enum ReferenceKind: String, Sendable, Equatable {
    case selected = "selected"
    case best = "best"
    case uniform = "uniform at budget"
}

public struct ExplorerSnapshot: Sendable {
    public var sequence = 0
    public var dataDescription = ""
    public var trainImages = 0
    public var testImages = 0
    public var modelName = ""
    public var runPath: String?
    public var spec: ResNetSpec?
    public var phase: ExplorerPhase = .starting
    public var paused = false
    /// The engine has stopped for good (quit or a fatal error) and saved what it had.
    public var stopped = false

    public var epoch = 0                  // 0-based epoch in progress
    public var totalEpochs = 0
    public var step = 0                   // steps done in the current epoch
    public var stepsPerEpoch = 0
    public var globalStep = 0             // steps completed in the run
    public var learningRate: Double = 0
    public var runningLoss: Double?
    public var runningTop1: Double?
    /// The sampled subnets' mean cross-entropy and top-1 over the epoch's steps so far (nil
    /// before the first step of a stimulative epoch).
    public var runningSubnetLoss: Double?
    public var runningSubnetTop1: Double?
    public var imagesPerSecond: Double?
    public var elapsed: Double = 0
    public var eta: Double?

    public var budgetText = ""
    public var targetMACs = 0
    public var window: ClosedRange<Int> = 0...0

    public var blasCore = ""
    public var blasThreads = 0
    public var computeThreads = 0

    public var space: SpaceView?
    /// The latency model's reach (nil until measured, or when it is not).
    public var latency: LatencyView?
    /// The architecture space itself (a value): the UI resolves a typed budget with it at once,
    /// so the budget line moves within a frame, before the engine acts between two steps.
    public var architectureSpace: ArchitectureSpace?
    public var tolerance = 0.03
    public var curves: [EpochPoint] = []
    /// Every candidate the search evaluated on the current weights, cheapest first.
    public var candidates: [Candidate] = []
    /// The candidates the first front evaluated on the network as it was imported (--init, before
    /// any training step): the scatter draws their curve beneath the live one, so what
    /// stimulative training gains is visible at every budget. Empty for a run from scratch.
    public var asImported: [Candidate] = []
    /// Non-dominated in (FLOPs, KD fitness), cheapest first.
    public var pareto: [Candidate] = []
    public var best: Candidate?
    public var reference: Architecture?
    public var referenceKind: ReferenceKind = .uniform
    public var sparsity: SparsityView?
    public var search = SearchStatus()
    public var front = FrontStatus()
    /// The architectures the engine keeps evaluated (the UI's marked ones).
    public var pinned: [Architecture] = []
    public var log: [LogEntry] = []

    public var stepsSinceSave = 0
    /// Architecture texts of the candidates exported in this session.
    public var exported: [String] = []

    public init() {}

    public var totalSteps: Int { totalEpochs * stepsPerEpoch }

    /// What would be lost by quitting without saving (nil: nothing).
    public var unsavedWork: String? {
        var parts = [String]()
        if stepsSinceSave > 0 { parts.append("\(stepsSinceSave) training step\(stepsSinceSave == 1 ? "" : "s") since the last checkpoint (saved on quit)") }
        if let best, !exported.contains(best.architecture.text) { parts.append("the best candidate is not exported") }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}
