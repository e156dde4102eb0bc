import Foundation
import STPEngine

// `stp prune` (METHOD.md section 8): train, choose an architecture for each FLOPs budget, extract
// a physically smaller network, recalibrate its BN statistics and evaluate it with no fine-tuning.
// Every method runs through this one path so that they are compared under the same training
// budget, data, seed, held-out split, recalibration and evaluation:
//   stp         stimulative training (60% of the epochs by default), KD-guided search, subnet
//               mutating expansion with a re-search every 2 epochs, final search;
//   st-uniform  stimulative training, then the uniform-width architecture at the budget;
//   slimming    CE + s * sum |gamma|, then channels by |gamma| under one global threshold;
//   l1-filter   plain CE, uniform widths, each block keeping its filters of largest L1 norm;
//   uniform     plain CE, then the uniform-width architecture (first channels).
// The last `fitnessImages` training images are held out of training: they are the search's
// fitness set and the validation images whose accuracy the search reports.
//
// Several methods and budgets run in one invocation and share the training they have in common,
// which is what makes a comparison affordable on a CPU: one plain CE run serves uniform and
// l1-filter at every budget; one stimulative run serves st-uniform at every budget and, up to
// the first search, stp; stp then branches once per budget (its expansion phase depends on the
// budget's target). Each result's wall time counts everything it depended on, shared or not, so
// it is the time that result would take alone.
//
// Output layout under OUTPUT:
//   train-standard/, train-slimming/, train-stimulative/   the shared training runs
//   stp-50pct/run/                                         stp's per-budget expansion branch
//   METHOD-BUDGET/extracted/, report.json, report.md       each result
//   report.json (every result), report.md (the comparison table and sparsity tables)
//   front.json, front.csv                                  stp: the fitness-vs-FLOPs front over the
//                                                          whole space at the first search
//   front-as-imported.json, .csv                           stp with --init: the same front on the
//                                                          network as imported, before training
//
// Resuming (--resume, the same options again): every training run above that exists continues
// from its checkpoint; the others start. Each run must have been started with this invocation's
// configuration (Trainer.resume names the first field that differs). stp's first search needs the
// shared run at the first search epoch: once that run has trained past it (st-uniform's epochs),
// every stp branch must exist, and each continues toward the target recorded in its run
// (re-recorded at every re-search). A branch re-runs the search at an epoch it has reached but
// not passed (the search is deterministic for its weights and seed), so a resumed result is
// the uninterrupted one. Its wall time adds the training time the runs recorded before; its
// search evaluations count the searches this invocation ran.

public struct PruneOptions: Sendable {
    /// The order of each block's inner channels when stimulative training starts. Subnets keep
    /// the first channels, so the order decides what every subnet is made of. A network trained
    /// from scratch has no order to speak of; an imported one does: `l1` puts each block's
    /// filters of largest L1 norm first (a permutation, so the network computes the same), as
    /// Once-for-All sorts channels by importance before it trains elastic widths.
    public enum ChannelOrder: String, Codable, Sendable, CaseIterable {
        case given, l1
        /// Each block's channels of largest BN |gamma| first (conv1's BN: the scale the block's
        /// inner channel is multiplied by), as network slimming ranks them.
        case gamma
        /// The run record's key for it (absent in runs started before it existed: given).
        static let recordKey = "channel_order"
    }
    public enum Method: String, Codable, Sendable, CaseIterable {
        case stp, stUniform = "st-uniform", slimming, l1Filter = "l1-filter", uniform

        /// The training the method's architecture is chosen on; methods with the same kind share it.
        var trainingKind: MethodConfig.Kind {
            switch self {
            case .stp, .stUniform: .stimulative
            case .slimming: .slimming
            case .l1Filter, .uniform: .standard
            }
        }
    }
    /// Methods to compare, in the order the report lists them.
    public var methods: [Method] = [.stp]
    /// Budgets as users write them (see Budget.forms), in the order the report lists them.
    public var budgets: [String] = ["50%"]
    public var training = TrainingConfig()
    public var stimulative = StimulativeOptions()
    public var search = SearchOptions()
    public var slimmingStrength: Float = 1e-4
    /// Fraction of the epochs trained over the whole space before the first search (stp only).
    public var stimulativeFraction = 0.6
    /// Epochs between re-searches during subnet mutating expansion (stp only).
    public var researchEvery = 2
    /// The front over the whole space (FrontSearch.swift) that stp writes at its first search,
    /// after the budgets' own searches, whose evaluations it reuses; 0 rounds: none.
    public var front = FrontOptions()
    public var frontRounds = 3
    public var fitnessImages = 1024
    public var recalibrationImages = 2000
    /// Where the runs, the extracted networks and the reports go.
    public var outputPath = "runs/prune"
    public var overwrite = false
    /// Continue the runs an interrupted invocation with the same options left in `outputPath`.
    public var resume = false
    /// The stimulative methods' channel order (stp, st-uniform).
    public var channelOrder = ChannelOrder.given
    /// stp: the last epochs of the E, in which the searched architecture is fine-tuned alone by
    /// KD from the teacher (0: none; the result then gets no gradient step after its search).
    public var finetuneEpochs = 0
    public init() {}

    /// The single method, for callers that run one.
    public var method: Method {
        get { methods[0] }
        set { methods = [newValue] }
    }
    /// The single budget, for callers that run one.
    public var budget: String {
        get { budgets[0] }
        set { budgets = [newValue] }
    }
}

public struct PruneReport: Codable, Sendable {
    public var method: String
    public var model: String
    public var data: String
    public var budget: String
    /// The MACs target of a FLOPs budget (nil for a latency budget).
    public var targetMACs: Int?
    public var fullMACs: Int
    /// The batch-1 latency target of a latency budget, predicted on this machine.
    public var targetLatencyMilliseconds: Double?
    public var fullParameters: Int
    public var architecture: String
    public var macs: Int
    public var parameters: Int
    public var fullTestTop1: Double
    public var prunedTestTop1: Double
    public var prunedTestTop5: Double
    public var searchFitness: Double?
    public var searchEvaluations: Int
    public var relativeSparsity: Double?
    public var relativeGammaSparsity: Double?
    public var droppedMagnitude: Double?
    public var epochs: Int
    /// The last of the epochs that fine-tuned the result's architecture alone (--finetune; nil: none).
    public var fineTuneEpochs: Int?
    /// Everything this result depended on (its share of shared training counted in full).
    public var wallSeconds: Double
    /// Where the extracted network was saved.
    public var extractedPath: String
    /// The extracted network's batch-1 latency, measured here (median, the engine's threads).
    public var latencyMilliseconds: Double?
    /// Its images per second at batch `throughputBatch`, measured here.
    public var imagesPerSecond: Double?
    public var throughputBatch: Int?
    /// What the latency model predicted for it (batch 1; LatencyModel.swift).
    public var predictedLatencyMilliseconds: Double?

    static let tableHeader = [
        "| method | budget | FLOPs (MACs) | removed | params | full top-1 | pruned top-1 (no fine-tuning) | relative sparsity | latency, batch 1 | img/s | epochs | wall time |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    var tableRow: String {
        func pct(_ v: Double) -> String { String(format: "%.2f%%", 100 * v) }
        let removed = 1 - Double(macs) / Double(fullMACs)
        return "| \(method) | \(budget) | \(CountFormat.string(macs)) | \(pct(removed)) | \(CountFormat.string(parameters)) | "
            + "\(pct(fullTestTop1)) | \(pct(prunedTestTop1))\(fineTuneEpochs.map { " (fine-tuned \($0) of the epochs)" } ?? "") | \(relativeSparsity.map { String(format: "%.3f", $0) } ?? "-") | "
            + "\(latencyMilliseconds.map(LatencyFormat.milliseconds) ?? "-") | "
            + "\(imagesPerSecond.map { String(format: "%.0f (batch %d)", $0, throughputBatch ?? 0) } ?? "-") | "
            + "\(epochs) | \(ProgressFormat.duration(wallSeconds)) |"
    }

    public var markdown: String {
        (PruneReport.tableHeader + [tableRow]).joined(separator: "\n") + "\n\narchitecture: `\(architecture)`\n"
    }
}

/// Every result of one `stp prune` invocation.
public struct PruneSummary: Codable, Sendable {
    public var reports: [PruneReport]
    public var wallSeconds: Double
    /// The latency tables measured for this run, with their check against whole networks.
    public var latencyModel: LatencyModel?

    public var markdown: String {
        var lines = PruneReport.tableHeader + reports.map(\.tableRow)
        lines.append("")
        lines.append("Architectures (`d=` kept blocks per stage, `w=` kept inner width per block):")
        lines.append("")
        for r in reports { lines.append("- \(r.method) at \(r.budget): `\(r.architecture)`") }
        lines.append("")
        lines.append("Total wall time of the invocation: \(ProgressFormat.duration(wallSeconds)) (shared training counted once).")
        return lines.joined(separator: "\n") + "\n"
    }
}

public enum PrunePipeline {
    /// Runs the single method and budget of `o` (the first of each) and returns its report.
    public static func run(_ o: PruneOptions, console: Console = .standardError,
                           shouldStop: @escaping () -> Bool = { false }) throws -> PruneReport {
        var single = o
        single.methods = [o.method]
        single.budgets = [o.budget]
        return try runAll(single, console: console, shouldStop: shouldStop).reports[0]
    }

    /// Runs every method at every budget of `o`, sharing the training they have in common.
    /// Under mpirun (Distributed) every rank runs this; training and the search are split over
    /// the ranks, and ranks other than 0 write into their private folder.
    public static func runAll(_ o: PruneOptions, console: Console = .standardError,
                              shouldStop: @escaping () -> Bool = { false }) throws -> PruneSummary {
        var o = o
        o.outputPath = try Distributed.privatePath(o.outputPath, copyingExisting: o.resume)
        let context = try PruneContext(o, console: console, shouldStop: shouldStop)
        var results = [PruneOptions.Method: [PruneReport]]()
        for kind in MethodConfig.Kind.allCases {
            let methods = o.methods.filter { $0.trainingKind == kind }
            if methods.isEmpty { continue }
            for (method, reports) in try context.runGroup(kind: kind, methods: methods) { results[method] = reports }
        }
        let reports = o.methods.flatMap { results[$0] ?? [] }
        let summary = PruneSummary(reports: reports, wallSeconds: monotonicSeconds() - context.start,
                                   latencyModel: context.latencyModel)
        let encoder = ReportJSON.encoder([.sortedKeys, .prettyPrinted])
        try AtomicFile.write(try encoder.encode(summary), to: o.outputPath + "/report.json")
        try AtomicFile.write(summary.markdown, to: o.outputPath + "/report.md")
        return summary
    }
}

/// What every method of one invocation shares: data, splits, space, budgets, calibration.
private final class PruneContext {
    let o: PruneOptions
    let console: Console
    let shouldStop: () -> Bool
    let start = monotonicSeconds()
    /// The ranks of this invocation (a single process unless started by mpirun).
    let communicator = Distributed.world
    let config: TrainingConfig
    /// The epochs asked for: 0 when the --init network is pruned without training (`config`
    /// then says 1, which no trainer ever starts).
    let trainingEpochs: Int
    let spec: ResNetSpec
    let space: ArchitectureSpace
    let budgets: [ResolvedBudget]
    /// Batch-1 latency and throughput tables of the space, measured when the run starts.
    let latencyModel: LatencyModel
    let splits: DataSplits
    let heldOut: ImageDataset
    /// The stimulative options, with `--sampling budget`'s windows filled from the budgets.
    let stimulative: StimulativeOptions
    /// The full network's test result per trainer: the results chosen from one trained network
    /// (every budget of a baseline) evaluate it once, not once per result. l1-filter and slimming
    /// read their channels from a permuted copy of the trainer's network with the same function,
    /// so the trainer's figure is theirs too.
    private var fullTests: [ObjectIdentifier: EvaluationResult] = [:]

    init(_ o: PruneOptions, console: Console, shouldStop: @escaping () -> Bool) throws {
        self.o = o
        self.console = console
        self.shouldStop = shouldStop
        guard !o.methods.isEmpty else { throw STPError(.argument, "--method needs at least one method") }
        guard !o.budgets.isEmpty else { throw STPError(.argument, "--budget needs at least one budget") }
        guard Set(o.methods).count == o.methods.count else { throw STPError(.argument, "--method lists a method twice") }
        guard !(o.resume && o.overwrite) else {
            throw STPError(.argument, "--resume continues the runs in \(o.outputPath) and --overwrite replaces them: give one of the two")
        }
        guard o.finetuneEpochs >= 0 else { throw STPError(.argument, "--finetune must be 0 (no fine-tuning) or a number of epochs (got \(o.finetuneEpochs))") }
        if o.finetuneEpochs > 0 {
            guard o.methods == [.stp] else {
                throw STPError(.argument, "--finetune fine-tunes stp's searched architecture; give it with --method stp alone (got \(o.methods.map(\.rawValue).joined(separator: ",")))")
            }
            guard o.finetuneEpochs < o.training.epochs else {
                throw STPError(.argument, "--finetune \(o.finetuneEpochs) must leave epochs for stimulative training and the search: it is part of --epochs \(o.training.epochs), so at most \(o.training.epochs - 1)")
            }
        }
        guard o.frontRounds >= 0 else { throw STPError(.argument, "--front-rounds must be 0 (no front) or more (got \(o.frontRounds))") }
        if o.frontRounds > 0 { try o.front.validate() }
        var config = o.training
        config.recalibrationImages = o.recalibrationImages
        // --epochs 0 prunes the --init network as it is (what each method chooses from a trained
        // network with no training at all); the trainers still need a valid configuration.
        trainingEpochs = config.epochs
        if config.epochs == 0 {
            guard config.initialWeights != nil else {
                throw STPError(.argument, "--epochs 0 prunes a trained network without training it: it needs --init")
            }
            config.epochs = 1
        }
        try config.validate()
        self.config = config
        let data = try DataSource(parsing: config.data).load()
        spec = try config.modelSpec(for: data.train)
        let space = try ArchitectureSpace(spec: spec, options: o.stimulative.space)
        self.space = space
        // Every budget is parsed before anything is measured or trained, so a typo costs nothing.
        for text in o.budgets { try Budget.resolveSyntax(text, for: space) }
        let latencyModel = try LatencyModel.measure(space: space, seed: config.seed, progress: { [console] in console.writeLine($0) })
            .agreed(over: communicator)
        self.latencyModel = latencyModel
        console.writeLine(latencyModel.summary)
        let resolved = try o.budgets.map { try Budget.resolve($0, for: space, tolerance: o.search.tolerance, latency: latencyModel.latency) }
        budgets = resolved
        guard Set(budgets.map { "\($0.measure) \($0.target)" }).count == budgets.count else {
            throw STPError(.argument, "--budget lists the same budget twice (\(o.budgets.joined(separator: ", ")))")
        }
        stimulative = try o.stimulative.focused(on: resolved, space: space)
        guard o.fitnessImages >= 1, o.fitnessImages < data.train.count / 2 else {
            throw STPError(.argument, "--fitness-images must be between 1 and half the training set (\(data.train.count / 2))")
        }
        // Hold out the last images of the training set for the search.
        let trainCount = data.train.count - o.fitnessImages
        heldOut = data.train.subset(Array(trainCount..<data.train.count), name: data.train.name + "-held-out")
        splits = DataSplits(train: data.train.subset(Array(0..<trainCount)), test: data.test)
        let budgetText = budgets.map { "\($0) (\($0.costMeasure(in: space).format($0.target)))" }.joined(separator: ", ")
        console.writeLine("prune: \(o.methods.map(\.rawValue).joined(separator: ", ")), \(spec.name) on \(config.data), "
                          + "budget \(budgetText) of \(CountFormat.string(space.cost.full.macs)) MACs, \(trainingEpochs) epochs")
    }

    /// "50%" -> "50pct", "keep 30%" -> "keep-30pct": a directory name for a budget.
    static func slug(_ budget: String) -> String {
        let text = budget.lowercased().replacingOccurrences(of: "%", with: "pct")
        let mapped = text.map { $0.isLetter || $0.isNumber || $0 == "." ? $0 : "-" }
        return String(mapped).split(separator: "-").joined(separator: "-")
    }

    func resultPath(_ method: PruneOptions.Method, _ budgetIndex: Int) -> String {
        o.outputPath + "/" + method.rawValue + "-" + PruneContext.slug(o.budgets[budgetIndex])
    }

    func makeCalibrator(_ trainer: Trainer) -> BatchNormCalibrator {
        BatchNormCalibrator(dataset: splits.train, images: o.recalibrationImages,
                            batchSize: config.batchSize, normalization: trainer.trainLoader.normalization,
                            augmentation: config.augmentation)
    }

    func methodConfig(_ kind: MethodConfig.Kind) -> MethodConfig {
        var method = MethodConfig(kind: kind)
        method.stimulative = stimulative
        method.slimmingStrength = o.slimmingStrength
        return method
    }

    /// Trains `trainer` until `epoch` epochs are done; returns the seconds it took.
    @discardableResult
    func train(_ trainer: Trainer, label: String, untilEpoch epoch: Int) throws -> Double {
        if epoch == 0 { return 0 }
        let t0 = monotonicSeconds()
        let steps = trainer.stepsPerEpoch
        var bar: ProgressBar?
        try trainer.train(events: { event in
            switch event {
            case .epochStarted(let e, _, let n):
                bar = ProgressBar(label: "\(label) epoch \(e + 1)/\(config.epochs)", total: n, console: console)
            case .step(let p):
                bar?.update(completed: p.step + 1, items: (p.step + 1) * config.batchSize,
                            fields: [("loss", String(format: "%.3f", p.runningLoss)), ("acc", String(format: "%.1f%%", 100 * p.runningTop1))])
            case .evaluating: bar?.finish(); bar = nil
            case .epochFinished(let m):
                console.writeLine(String(format: "%@ epoch %d/%d  train loss %.4f acc %.2f%%  test top-1 %.2f%% (full network)",
                                         label, m.epoch, config.epochs, m.trainLoss, 100 * m.trainTop1, 100 * m.testTop1))
            default: break
            }
        }, shouldStop: { self.shouldStop() || trainer.record.stepsCompleted >= epoch * steps })
        if shouldStop() {
            throw STPError(.engine, "prune stopped by the user; the run is saved in \(trainer.runDirectory?.path ?? o.outputPath): "
                           + "continue it with the same command and --resume")
        }
        return monotonicSeconds() - t0
    }

    /// The training run at `path` with `method`'s objective: continued from its checkpoint when
    /// resuming and it exists (`method` then must be the one it recorded, except for the
    /// expansion target, which is the recorded one), else new (`start`). `priorSeconds`: the
    /// training time the run recorded before this invocation.
    func openRun(at path: String, method: MethodConfig, start: () throws -> Trainer) throws -> (trainer: Trainer, resumed: Bool, priorSeconds: Double) {
        let existing = RunDirectory(path: path)
        // An overwrite of this run that stopped before its first save put the old run aside.
        if o.resume { try existing.settlePreviousRun() }
        if o.resume && !existing.holdsRun && !existing.existingFiles.isEmpty {
            // Stopped before its first save: only its log is there. Starting it again is the only
            // way to continue it (the log of the lost steps goes with it).
            console.writeLine("resuming \(path): it was stopped before its first save; starting it again")
            try existing.discardUnsavedLog()
        }
        guard o.resume, existing.holdsRun else {
            let trainer = try start()
            try MethodTraining.configure(trainer, method: method)
            return (trainer, false, 0)
        }
        let trainer = try Trainer.resume(runPath: path, expecting: config, data: splits)
        let recordPath = trainer.runDirectory?.recordPath ?? path
        var recorded = try MethodTraining.method(of: trainer.record, path: recordPath)
        var expected = method
        expected.expansion = expected.expansion.map { plan in
            var plan = plan
            if let target = recorded.expansion?.target { plan.target = target }
            return plan
        }
        // Likewise the architecture a branch started to fine-tune (--finetune).
        if expected.kind == .stimulative, let target = recorded.fineTune { expected.fineTune = target }
        if recorded != expected {
            let encoder = ReportJSON.encoder([.sortedKeys])
            let text = { (m: MethodConfig) in String(decoding: (try? encoder.encode(m)) ?? Data(), as: UTF8.self) }
            throw STPError.file(.checkpoint, recordPath, "the run was trained with method \(text(recorded)), but this invocation gives \(text(expected)); resume with the options it was started with")
        }
        recorded.expansion = expected.expansion
        recorded.fineTune = expected.fineTune
        try trainer.distribute(over: communicator)
        try MethodTraining.configure(trainer, method: recorded)
        console.writeLine(trainer.isFinished
            ? "resuming \(path): its \(trainer.config.epochs) epochs are trained"
            : "resuming \(path) at epoch \(trainer.record.epochsCompleted + 1) of \(trainer.config.epochs), step \(trainer.record.stepsCompleted % trainer.stepsPerEpoch + 1) of \(trainer.stepsPerEpoch)")
        return (trainer, true, trainer.record.wallSeconds)
    }

    /// Puts a new stimulative run's inner channels in the order `--channel-order` asks for and
    /// records it; a resumed run must have been started with that order.
    func orderChannels(_ trunk: Trainer, resumed: Bool) throws {
        let key = PruneOptions.ChannelOrder.recordKey
        if resumed {
            let recorded = trunk.record.configuration[key] ?? PruneOptions.ChannelOrder.given.rawValue
            guard recorded == o.channelOrder.rawValue else {
                throw STPError.file(.checkpoint, trunk.runDirectory?.recordPath ?? o.outputPath,
                                    "the run was started with --channel-order \(recorded), but this invocation gives \(o.channelOrder.rawValue); resume with the options it was started with")
            }
            return
        }
        switch o.channelOrder {
        case .given: break
        case .l1: Baselines.reorderInnerChannels(trunk.model, order: Baselines.l1Order(trunk.model))
        case .gamma: Baselines.reorderInnerChannels(trunk.model, order: Baselines.gammaOrder(trunk.model))
        }
        trunk.setConfiguration(key, o.channelOrder.rawValue)
    }

    /// Trains one group of methods that share their training, and returns their reports.
    func runGroup(kind: MethodConfig.Kind, methods: [PruneOptions.Method]) throws -> [PruneOptions.Method: [PruneReport]] {
        let trunkPath = o.outputPath + "/train-" + kind.rawValue
        let (trunk, resumed, priorSeconds) = try openRun(at: trunkPath, method: methodConfig(kind)) {
            let trunk = try Trainer(config: config, data: splits, runPath: trunkPath, overwrite: o.overwrite)
            try trunk.distribute(over: communicator)
            return trunk
        }
        if kind == .stimulative { try orderChannels(trunk, resumed: resumed) }
        if kind == .stimulative, methods.contains(.stp), o.frontRounds > 0, config.initialWeights != nil,
           trunk.record.stepsCompleted == 0 {
            // What pruning the trained network costs as it is: the reference the report draws
            // the first search's front above.
            let search = try KDGuidedSearch(network: trunk.model, space: space, options: o.search, fitnessImages: heldOut,
                                            validation: heldOut, calibrator: makeCalibrator(trunk),
                                            normalization: trunk.trainLoader.normalization, batchSize: config.batchSize,
                                            communicator: communicator)
            search.latencyModel = latencyModel
            try writeFront(search, name: "front-as-imported", label: "front as imported")
        }
        var results = [PruneOptions.Method: [PruneReport]]()
        var trunkSeconds = priorSeconds
        if methods.contains(.stp) {
            // --finetune F: the search-and-expansion schedule covers the first E - F epochs.
            let schedule = STPSchedule(epochs: trainingEpochs - o.finetuneEpochs, stimulativeFraction: o.stimulativeFraction,
                                       researchEvery: o.researchEvery)
            if trunk.record.stepsCompleted <= schedule.firstSearchEpoch * trunk.stepsPerEpoch {
                trunkSeconds += try train(trunk, label: "stimulative", untilEpoch: schedule.firstSearchEpoch)
            }
            results[.stp] = try runSTP(trunk: trunk, trunkSeconds: trunkSeconds, schedule: schedule)
        }
        // The trunk trains on to the end only for the methods that choose from it at the end.
        let baselines = methods.filter { $0 != .stp }
        if !baselines.isEmpty { trunkSeconds += try train(trunk, label: kind.rawValue, untilEpoch: trainingEpochs) }
        // Each method chooses from its own view of the trained weights (see baselineChoice): the
        // trunk's network is never permuted, so neither the order of the methods nor their
        // sharing one trained network can carry one method's channel choice into another's.
        for method in baselines {
            let t0 = monotonicSeconds()
            let (network, architectures) = try baselineChoice(method, trained: trunk.model)
            let choosing = monotonicSeconds() - t0
            results[method] = try architectures.enumerated().map { i, architecture in
                try finish(method: method, budgetIndex: i, trainer: trunk, network: network, architecture: architecture,
                           fitness: nil, evaluations: 0, dependedSeconds: trunkSeconds + choosing)
            }
        }
        return results
    }

    /// The baseline's architecture at every budget, and the network it is read from. Methods that
    /// keep channels other than the first ones (slimming, l1-filter) get a copy of `trained` with
    /// the chosen channels permuted first (same function); the others read `trained` itself,
    /// which is left untouched.
    func baselineChoice(_ method: PruneOptions.Method, trained: ResNet) throws -> (network: ResNet, architectures: [Architecture]) {
        let model: ResNet
        switch method {
        case .slimming:
            model = trained.copy()
            Baselines.reorderInnerChannels(model, order: Baselines.gammaOrder(model))
        case .l1Filter:
            model = trained.copy()
            Baselines.reorderInnerChannels(model, order: Baselines.l1Order(model))
        default:
            model = trained
        }
        let architectures: [Architecture] = try budgets.map { budget in
            if method == .slimming {
                guard let a = Baselines.slimmingArchitecture(model, space: space, window: budget.window,
                                                             measure: budget.costMeasure(in: space)) else {
                    throw STPError(.budget, "no |gamma| threshold meets the budget \(budget)")
                }
                return a
            }
            guard let a = Baselines.uniformArchitecture(space: space, window: budget.window, measure: budget.costMeasure(in: space)) else {
                throw STPError(.budget, "no uniform width meets the budget \(budget)")
            }
            return a
        }
        return (model, architectures)
    }

    /// stp from the trunk at its first search: one search per budget on the shared weights (the
    /// evaluations are reused across budgets), then per budget a branch that continues with
    /// subnet mutating expansion and periodic re-search.
    func runSTP(trunk: Trainer, trunkSeconds: Double, schedule: STPSchedule) throws -> [PruneReport] {
        let calibrator = makeCalibrator(trunk)
        let search = try KDGuidedSearch(network: trunk.model, space: space, options: o.search, fitnessImages: heldOut,
                                        validation: heldOut, calibrator: calibrator,
                                        normalization: trunk.trainLoader.normalization, batchSize: config.batchSize,
                                        communicator: communicator)
        search.latencyModel = latencyModel
        // A resumed trunk that trained past the first search (for st-uniform) no longer has the
        // weights it searched; the branches it started carry the targets that search found.
        let trunkPassedFirstSearch = trunk.record.stepsCompleted > schedule.firstSearchEpoch * trunk.stepsPerEpoch
        var firstBest = [Candidate?]()
        var firstSeconds = [Double]()
        for (i, budget) in budgets.enumerated() {
            if trunkPassedFirstSearch {
                guard schedule.hasExpansion || o.finetuneEpochs > 0, !RunDirectory(path: resultPath(.stp, i) + "/run").existingFiles.isEmpty else {
                    throw STPError(.checkpoint, "\(trunk.runDirectory?.path ?? o.outputPath) has trained past stp's first search (after epoch \(schedule.firstSearchEpoch)) and \(resultPath(.stp, i))/run, the branch that search starts, does not exist: the search cannot be repeated on the weights it needs; prune stp at \(budget.budget) into another output directory")
                }
                firstBest.append(nil)
                firstSeconds.append(0)
                continue
            }
            let t0 = monotonicSeconds()
            firstBest.append(try runSearch(search, budget: budget))
            firstSeconds.append(monotonicSeconds() - t0)
        }
        if o.frontRounds > 0, !trunkPassedFirstSearch { try writeFront(search, name: "front", label: "front") }
        var reports = [PruneReport]()
        for (i, budget) in budgets.enumerated() {
            let t0 = monotonicSeconds()
            var best = firstBest[i]
            var evaluations = firstBest[i] == nil ? 0 : search.evaluationCount
            let branch: Trainer
            // The training this result depended on before this invocation: a resumed branch's
            // record counts the shared training up to the first search and its own since.
            var dependedBefore = trunkSeconds
            if schedule.hasExpansion || o.finetuneEpochs > 0 {
                var method = methodConfig(.stimulative)
                // The target is the first search's best, or (resuming) the one the branch recorded.
                method.expansion = schedule.hasExpansion
                    ? schedule.expansion(toward: best?.architecture ?? space.largest, startingAfter: schedule.firstSearchEpoch) : nil
                let path = resultPath(.stp, i) + "/run"
                let opened = try openRun(at: path, method: method) {
                    try trunk.branch(runPath: path, overwrite: o.overwrite)
                }
                branch = opened.trainer
                if opened.resumed { dependedBefore = opened.priorSeconds }
                guard let objective = branch.objective as? StimulativeObjective, (objective.expansion != nil) == schedule.hasExpansion else {
                    throw STPError(.engine, "the stp branch did not get the stimulative objective with its expansion")
                }
                var plan = objective.expansion
                for next in schedule.searchEpochs.dropFirst() {
                    // A re-search the branch has trained past was made on weights it no longer
                    // has; its result is the target the branch recorded.
                    if branch.record.stepsCompleted > next * branch.stepsPerEpoch { continue }
                    try train(branch, label: "stp \(budget.budget) expansion", untilEpoch: next)
                    search.updateWeights(from: branch.model)
                    let found = try runSearch(search, budget: budget)
                    best = found
                    evaluations += search.evaluationCount
                    plan?.target = found.architecture
                    objective.expansion = plan
                    method.expansion = plan
                    MethodTraining.record(branch, method: method)
                }
                if o.finetuneEpochs > 0 {
                    // The last epochs train the chosen architecture alone (the search's best after
                    // the last re-search, or the one a resumed branch recorded), then its
                    // fitness is measured again on the fine-tuned weights.
                    guard let target = objective.fineTuneTarget ?? best?.architecture else {
                        throw STPError(.engine, "stp at \(budget.budget): no search chose the architecture to fine-tune")
                    }
                    objective.fineTuneTarget = target
                    method.fineTune = target
                    MethodTraining.record(branch, method: method)
                    try train(branch, label: "stp \(budget.budget) fine-tune", untilEpoch: trainingEpochs)
                    search.updateWeights(from: branch.model)
                    best = try search.evaluate(target)
                }
            } else {
                branch = trunk
            }
            guard let best else { throw STPError(.engine, "stp at \(budget.budget): no search ran on the final weights") }
            reports.append(try finish(method: .stp, budgetIndex: i, trainer: branch, architecture: best.architecture,
                                      fitness: best.fitness, evaluations: evaluations,
                                      dependedSeconds: dependedBefore + firstSeconds[i] + (monotonicSeconds() - t0)))
        }
        return reports
    }

    /// The front over the whole space on the search's weights: OUTPUT/`name`.{json,csv}.
    func writeFront(_ search: KDGuidedSearch, name: String, label: String) throws {
        let t0 = monotonicSeconds()
        let bar = ProgressBar(label: label, total: o.frontRounds, unit: "round", console: console)
        var result: FrontResult?
        for round in 1...o.frontRounds {
            result = try search.improveFront(o.front, rounds: 1, shouldCancel: shouldStop)
            if result!.cancelled { throw STPError(.engine, "prune stopped by the user during the front search; the runs are saved in \(o.outputPath): continue them with the same command and --resume") }
            bar.update(completed: round, fields: [("evaluated", "\(result!.evaluations)"), ("front", "\(result!.front.count)")])
        }
        bar.finish()
        guard let result, let first = result.front.first, let last = result.front.last else { return }
        let encoder = ReportJSON.encoder([.prettyPrinted, .sortedKeys])
        try AtomicFile.write(try encoder.encode(result.file(fullMACs: space.cost.full.macs)), to: o.outputPath + "/\(name).json")
        try AtomicFile.write(Data(result.csv.utf8), to: o.outputPath + "/\(name).csv")
        console.writeLine("\(label): \(result.front.count) candidates from \(CountFormat.string(first.candidate.macs)) to "
                          + "\(CountFormat.string(last.candidate.macs)) MACs (\(result.buckets.count) buckets, "
                          + "\(result.evaluations) evaluations in all, \(ProgressFormat.duration(monotonicSeconds() - t0))): "
                          + "\(o.outputPath)/\(name).csv")
    }

    func runSearch(_ search: KDGuidedSearch, budget: ResolvedBudget) throws -> Candidate {
        let bar = ProgressBar(label: "search \(budget.budget)", total: max(o.search.generations, 1), unit: "gen", console: console)
        let result = try search.run(window: budget.window, measure: budget.costMeasure(in: space), shouldCancel: shouldStop, progress: { p in
            bar.update(completed: p.generation, fields: [("evaluated", "\(p.evaluations)"),
                                                          ("best KL", p.best.map { String(format: "%.4f", $0.fitness) } ?? "-")])
        })
        bar.finish()
        if result.cancelled { throw STPError(.engine, "prune stopped by the user during the search; the runs are saved in \(o.outputPath): continue them with the same command and --resume") }
        guard let best = result.best else { throw STPError(.budget, "the search found no architecture in the budget window of \(budget)") }
        let latency = best.latencyMilliseconds.map { ", predicted " + LatencyFormat.milliseconds($0) } ?? ""
        console.writeLine("search \(budget.budget): best \(best.architecture) \(CountFormat.string(best.macs)) MACs\(latency), KL \(String(format: "%.4f", best.fitness)), held-out top-1 \(String(format: "%.2f%%", 100 * best.accuracy))")
        return best
    }

    /// Extracts, recalibrates and evaluates one result (no gradient step after training) and
    /// writes its report. `network`: what the architecture's first channels are read from, the
    /// trainer's network unless the method permuted a copy of it (baselineChoice); the relative
    /// sparsity is measured on it too. The full test accuracy is the trainer's network's, which
    /// such a copy computes unchanged. `dependedSeconds`: the training and search time this
    /// result built on.
    func finish(method: PruneOptions.Method, budgetIndex: Int, trainer: Trainer, network: ResNet? = nil,
                architecture: Architecture, fitness: Double?, evaluations: Int, dependedSeconds: Double) throws -> PruneReport {
        let t0 = monotonicSeconds()
        let budget = budgets[budgetIndex]
        let path = resultPath(method, budgetIndex)
        let network = network ?? trainer.model
        let sparsity = try RelativeSparsity.measure(network, architecture: architecture)
        let fullTest = fullTests[ObjectIdentifier(trainer)] ?? trainer.evaluateTest()
        fullTests[ObjectIdentifier(trainer)] = fullTest
        let extracted = try ExtractedModel(supernet: network, architecture: architecture,
                                           source: trainer.runDirectory?.path ?? o.outputPath)
        makeCalibrator(trainer).recalibrate(extracted.network, subnet: nil)
        let test = evaluate(extracted.network, loader: trainer.testLoader, communicator: communicator)
        try extracted.save(to: path + "/extracted", normalization: trainer.trainLoader.normalization,
                           convention: trainer.record.keyConvention, data: config.data, epochs: trainingEpochs)
        let cost = space.cost.cost(of: architecture)
        // The extracted network's own speed, measured (the latency model predicts it; this is
        // what the user gets).
        let batch1 = try LatencyProfiler.time(spec: spec, architecture: architecture, batch: 1)
        let batchN = try LatencyProfiler.time(spec: spec, architecture: architecture, batch: latencyModel.throughput.batch,
                                              repetitions: 5, minRepetitions: 3)
        let latencyMs = batch1.totalSeconds * 1000
        let imagesPerSecond = Double(latencyModel.throughput.batch) / batchN.totalSeconds
        let fineTuned = method == .stp && o.finetuneEpochs > 0 ? o.finetuneEpochs : nil
        console.writeLine(String(format: "%@ at %@: %@ MACs, %@ at batch 1, full top-1 %.2f%%, pruned top-1 %.2f%% (%@)",
                                 method.rawValue, o.budgets[budgetIndex], CountFormat.string(cost.macs),
                                 LatencyFormat.milliseconds(latencyMs), 100 * fullTest.top1, 100 * test.top1,
                                 fineTuned.map { "fine-tuned in its last \($0) epochs" } ?? "no fine-tuning"))
        let report = PruneReport(method: method.rawValue, model: spec.name, data: config.data, budget: o.budgets[budgetIndex],
                                 targetMACs: budget.targetMACs, fullMACs: space.cost.full.macs,
                                 targetLatencyMilliseconds: budget.measure == .latency ? Double(budget.target) / 1e6 : nil,
                                 fullParameters: ModelSummary(spec: spec).totalParameters,
                                 architecture: architecture.text, macs: cost.macs, parameters: cost.parameters,
                                 fullTestTop1: fullTest.top1, prunedTestTop1: test.top1, prunedTestTop5: test.top5,
                                 searchFitness: fitness, searchEvaluations: evaluations,
                                 relativeSparsity: sparsity.meanWeightRatio, relativeGammaSparsity: sparsity.meanGammaRatio,
                                 droppedMagnitude: sparsity.meanDroppedMagnitude, epochs: trainingEpochs, fineTuneEpochs: fineTuned,
                                 wallSeconds: dependedSeconds + (monotonicSeconds() - t0), extractedPath: path + "/extracted",
                                 latencyMilliseconds: latencyMs, imagesPerSecond: imagesPerSecond,
                                 throughputBatch: latencyModel.throughput.batch,
                                 predictedLatencyMilliseconds: latencyModel.latencyMilliseconds(of: architecture))
        let encoder = ReportJSON.encoder([.sortedKeys, .prettyPrinted])
        try AtomicFile.write(try encoder.encode(report), to: path + "/report.json")
        try AtomicFile.write(report.markdown + "\n" + sparsity.table() + "\n", to: path + "/report.md")
        return report
    }
}
