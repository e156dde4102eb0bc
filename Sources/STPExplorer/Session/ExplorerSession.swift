import Dispatch
import Foundation
import STPEngine
import STPMethod

// The engine side of the explorer: owns a Trainer with the stimulative objective and a KD-guided
// search, and runs both on one serial background queue. Between training steps (and between
// search evaluations) it takes the UI's commands from the mailbox; after steps (at most every
// `publishInterval`), at every event and after every command it publishes a new snapshot.
//
// The session follows the STP pipeline live: stimulative training over the whole space, a first
// search after `stimulativeFraction` of the epochs, then subnet mutating expansion toward the
// best candidate with a re-search every `researchEvery` epochs, a final search when training is
// done (STPSchedule, shared with `stp prune`), and the front over the whole space after every
// epoch as its share of the time allows; the person can search at any time, change the budget
// (a running search re-targets at once and reuses every evaluation), pause, mark, and export.
//
// One concern per file: this one holds the session's state, the loop and training events;
// SessionEngine+Commands (the UI's commands), +Search (searches, the front, expansion),
// +Publishing (reference, sparsity, log, snapshots) and +Export.

public final class ExplorerSession: Sendable {
    private let mailbox: SessionMailbox
    private let engine: SessionEngine
    private let queue = DispatchQueue(label: "stp.explorer.engine", qos: .userInitiated)
    private let done = DispatchSemaphore(value: 0)

    /// Loads the data, builds (or resumes) the run and resolves the budget; errors are the
    /// user's (bad data spec, budget, run directory) and are thrown before any terminal setup.
    public init(options: ExplorerOptions) throws {
        let mailbox = SessionMailbox()
        engine = try SessionEngine(options: options, mailbox: mailbox)
        self.mailbox = mailbox
    }

    /// Starts training (or waits, when `startPaused`) on the engine queue.
    public func start() {
        let engine = self.engine, done = self.done
        queue.async {
            engine.run()
            done.signal()
        }
    }

    public func send(_ command: ExplorerCommand) { mailbox.post(command) }

    /// The latest published snapshot.
    public var snapshot: ExplorerSnapshot { mailbox.snapshot }

    /// Waits for the engine to stop (after `.quit`); false when `seconds` passed first.
    @discardableResult
    public func waitUntilStopped(seconds: Double) -> Bool {
        done.wait(timeout: .now() + seconds) == .success
    }

    public var runPath: String? { engine.trainer.runDirectory?.path }
}

/// Everything mutable of a session. After `init`, only the engine queue touches it.
final class SessionEngine: @unchecked Sendable {
    let options: ExplorerOptions
    let trainer: Trainer
    let objective: StimulativeObjective
    let space: ArchitectureSpace
    let calibrator: BatchNormCalibrator
    let heldOut: ImageDataset
    let mailbox: SessionMailbox
    var method: MethodConfig
    var budget: ResolvedBudget
    var snap = ExplorerSnapshot()
    var search: KDGuidedSearch?
    /// Measured when the loop starts (options.measureLatency); every candidate then carries
    /// its predicted latency and throughput.
    var latencyModel: LatencyModel?
    var searchWeightsStep = -1
    var searchPending = false
    /// A front round is due (after every epoch, when options.front is set).
    var frontPending = false
    /// The front's time allowance in seconds: every epoch adds frontShare x its training time,
    /// every front round spends what it took. The first front runs regardless (there must be a
    /// curve to see); a renewal on newer weights waits until the allowance covers the last one.
    var frontAllowance = 0.0
    var lastRenewalSeconds = 0.0
    /// Time spent on the front and on training so far, for the share the log reports.
    var frontSeconds = 0.0, trainingSeconds = 0.0
    /// While a front round renews the candidates on new weights, arrivals collect here and
    /// replace the plotted ones when the round ends (the old curve stays until then).
    var renewing: [Candidate]?
    /// Architectures the person marked: evaluated again on new weights so they stay listed.
    var pinned: [Architecture] = []
    var retarget = false
    var paused: Bool
    var quitRequested = false
    var selected: Architecture?
    let started = monotonicSeconds()
    var lastPublish = -1.0
    var lastSparsity = -1.0
    /// When the method searches and expands (shared with `stp prune`).
    let schedule: STPSchedule
    // Subnet figures of the epoch in progress.
    var subnetLoss = 0.0, subnetTop1 = 0.0, distillation = 0.0, subnetSteps = 0

    init(options: ExplorerOptions, mailbox: SessionMailbox) throws {
        self.options = options
        self.mailbox = mailbox
        let trainer: Trainer
        var heldOutCount = options.fitnessImages
        var heldOut: ImageDataset
        var method = MethodConfig(kind: .stimulative)
        method.stimulative = options.stimulative
        if let resume = options.resumePath {
            var dataset: ImageDataset?
            trainer = try Trainer.resume(runPath: resume, split: { loaded, record in
                if let text = record.configuration[ExplorerOptions.heldOutKey] {
                    guard let count = Int(text), (0..<loaded.train.count).contains(count) else {
                        throw STPError.file(.checkpoint, RunDirectory(path: resume).recordPath,
                                            "'\(ExplorerOptions.heldOutKey)' is \(text); expected a count of held-out training images from 0 to \(loaded.train.count - 1)")
                    }
                    heldOutCount = count
                }
                dataset = loaded.train
                let keep = loaded.train.count - heldOutCount
                return heldOutCount > 0 ? DataSplits(train: loaded.train.subset(Array(0..<keep)), test: loaded.test) : loaded
            })
            let recorded = try MethodTraining.method(of: trainer.record, path: resume)
            guard recorded.kind == .stimulative else {
                throw STPError(.argument, "\(resume) was trained with --method \(recorded.kind.rawValue); the explorer continues stimulative runs only (stp train --resume continues this one)")
            }
            method = recorded
            let all = dataset ?? trainer.data.train
            // A run the explorer did not start held nothing out: its fitness images are the
            // first training images (seen in training, which the log says).
            heldOut = heldOutCount > 0
                ? all.subset(Array((all.count - heldOutCount)..<all.count), name: all.name + "-held-out")
                : all.subset(Array(0..<min(options.fitnessImages, all.count)), name: all.name + "-fitness")
        } else {
            var config = options.training
            config.recalibrationImages = options.recalibrationImages
            try config.validate()
            let data = try DataSource(parsing: config.data).load()
            guard options.fitnessImages >= 1, options.fitnessImages < data.train.count / 2 else {
                throw STPError(.argument, "--fitness-images must be between 1 and half the training set (\(data.train.count / 2))")
            }
            let keep = data.train.count - options.fitnessImages
            heldOut = data.train.subset(Array(keep..<data.train.count), name: data.train.name + "-held-out")
            let splits = DataSplits(train: data.train.subset(Array(0..<keep)), test: data.test)
            let path = options.runPath ?? TrainJob.defaultRunPath(model: config.model, data: config.data)
            trainer = try Trainer(config: config, data: splits, runPath: path, overwrite: options.overwrite)
            trainer.setConfiguration(ExplorerOptions.heldOutKey, String(options.fitnessImages))
        }
        try MethodTraining.configure(trainer, method: method)
        guard let objective = trainer.objective as? StimulativeObjective else {
            throw STPError(.engine, "explorer: the stimulative objective was not installed")
        }
        self.trainer = trainer
        self.objective = objective
        self.method = method
        self.heldOut = heldOut
        space = objective.space
        calibrator = BatchNormCalibrator(dataset: trainer.data.train, images: options.recalibrationImages,
                                         batchSize: trainer.config.batchSize, normalization: trainer.trainLoader.normalization,
                                         augmentation: trainer.config.augmentation)
        if options.budget == nil, let recorded = trainer.record.configuration[ExplorerOptions.budgetKey],
           let run = trainer.runDirectory {
            do {
                budget = try Budget.resolve(recorded, for: space, tolerance: options.search.tolerance)
            } catch let e as STPError {
                throw STPError.file(.checkpoint, run.recordPath, "'\(ExplorerOptions.budgetKey)' is \(recorded): \(e.message)")
            }
        } else {
            budget = try Budget.resolve(options.budget ?? ExplorerOptions.defaultBudget, for: space, tolerance: options.search.tolerance)
        }
        paused = options.startPaused
        let epochs = trainer.config.epochs
        schedule = STPSchedule(epochs: epochs, stimulativeFraction: options.stimulativeFraction, researchEvery: options.researchEvery)
        trainer.objective = ObservedObjective(objective) { [unowned self] result in self.observe(result) }
        snap = initialSnapshot()
        applyBudget(budget)
        if options.resumePath != nil && heldOutCount == 0 {
            log(.warning, "this run held no images out; the search's fitness images are \(heldOut.count) training images it was trained on")
        }
        mailbox.publish(snap)
    }

    func initialSnapshot() -> ExplorerSnapshot {
        var s = ExplorerSnapshot()
        let data = trainer.data
        s.dataDescription = trainer.config.data
        s.trainImages = data.train.count
        s.testImages = data.test.count
        s.modelName = trainer.config.model
        s.runPath = trainer.runDirectory?.path
        s.spec = trainer.spec
        s.phase = .starting
        s.paused = paused
        s.totalEpochs = trainer.config.epochs
        s.stepsPerEpoch = trainer.stepsPerEpoch
        s.globalStep = trainer.record.stepsCompleted
        s.epoch = trainer.record.stepsCompleted / trainer.stepsPerEpoch
        s.step = trainer.record.stepsCompleted % trainer.stepsPerEpoch
        let blas = BLASRuntime.status(runCheck: false)
        s.blasCore = blas.corename
        s.blasThreads = blas.threads
        s.computeThreads = ComputeThreads.workers
        let full = space.cost.full
        s.space = SpaceView(blocksPerStage: trainer.spec.blocksPerStage, fullWidths: trainer.spec.innerWidths,
                            allowedWidths: space.allowedWidths, blockSampleCounts: objective.blockSampleCounts,
                            widthSampleCounts: objective.widthSampleCounts, subnetsSampled: 0,
                            smallestMACs: space.cost.macs(of: space.smallest), fullMACs: full.macs, fullParameters: full.parameters)
        s.curves = trainer.record.history.map {
            EpochPoint(epoch: $0.epoch, trainLoss: $0.trainLoss, trainTop1: $0.trainTop1, testLoss: $0.testLoss, testTop1: $0.testTop1)
        }
        s.search.generations = options.search.generations
        s.architectureSpace = space
        s.tolerance = options.search.tolerance
        return s
    }

    /// Whether the run started from a trained network (--init).
    var startedFromTrainedNetwork: Bool { trainer.record.configuration[Trainer.initialNetworkKey] != nil }

    /// A run from a trained network (--init) that has not taken a training step yet.
    var startsFromImportedNetwork: Bool { startedFromTrainedNetwork && trainer.record.stepsCompleted == 0 }

    // MARK: The loop

    func run() {
        snap.phase = phaseNow()
        log(.info, "\(trainer.config.model) on \(trainer.config.data): \(trainer.data.train.count) training images (\(heldOut.count) held out for the search), \(trainer.config.epochs) epochs, run \(trainer.runDirectory?.path ?? "-")")
        if let initial = trainer.record.configuration[Trainer.initialNetworkKey] {
            log(.info, "started from the trained network \(initial), peak learning rate \(trainer.config.schedule.base); inputs normalised with \(trainer.trainLoader.normalization.summary)")
        }
        updateReference()
        publish(force: true)
        if options.measureLatency { measureLatency() }
        if startsFromImportedNetwork && options.front != nil {
            // The trained network can be searched at once: its curve before any training step is
            // the reference the live front is drawn above.
            log(.info, "evaluating the network as imported, before the first training step: its curve is the reference the live front is drawn above")
            frontPending = true
        }
        do {
            while !quitRequested {
                handleCommands()
                if quitRequested { break }
                if frontPending {
                    try runFrontRound()
                    continue
                }
                if searchPending {
                    try runSearch()
                    continue
                }
                if trainer.isFinished && snap.phase != .finished && snap.phase != .extracted {
                    snap.phase = .finished
                    log(.good, "training done: \(trainer.config.epochs) epochs")
                    publish(force: true)
                }
                if paused || trainer.isFinished {
                    publish(force: true)
                    mailbox.waitForCommand(seconds: 0.25)
                    continue
                }
                snap.phase = phaseNow()
                try trainer.train(events: { [unowned self] in self.handle($0) }, shouldStop: { [unowned self] in self.betweenSteps() })
            }
            try trainer.save()
            snap.stepsSinceSave = 0
            log(.good, "checkpoint saved in \(trainer.runDirectory?.path ?? "-") at step \(trainer.record.stepsCompleted)")
        } catch {
            snap.phase = .failed
            log(.error, (error as? STPError)?.message ?? "\(error)")
            // A diverged step has already written non-finite weights: saving them would replace
            // the last good checkpoint with a broken one.
            if weightsAreFinite() {
                do {
                    try trainer.save()
                    snap.stepsSinceSave = 0
                    log(.info, "checkpoint saved after the error")
                } catch {
                    log(.error, "could not save the checkpoint: \((error as? STPError)?.message ?? "\(error)")")
                }
            } else {
                log(.warning, "not saved: the weights are no longer finite; the last checkpoint stays")
            }
        }
        snap.stopped = true
        publish(force: true)
    }

    /// Times the blocks (LatencyModel.swift) before training starts, so that the times are not
    /// taken while the engine's threads train.
    func measureLatency() {
        let batch = options.latencyThroughputBatch ?? LatencyModel.throughputBatch(for: space.spec)
        log(.info, "timing the blocks for the latency model (batch 1 and \(batch))")
        publish(force: true)
        let model: LatencyModel
        do {
            model = try LatencyModel.measure(space: space, checkArchitectures: 2, seed: trainer.config.seed, throughputBatch: batch)
        } catch {
            // Training and the FLOPs search do not need it: the session goes on without latency.
            log(.warning, "no latency model: \((error as? STPError)?.message ?? "\(error)")")
            return
        }
        latencyModel = model
        search?.latencyModel = model
        snap.latency = LatencyView(smallestMilliseconds: model.latencyMilliseconds(of: space.smallest),
                                   fullMilliseconds: model.latencyMilliseconds(of: Architecture.full(space.spec)),
                                   summary: model.summary)
        log(.info, model.summary + "; x switches the plot between MACs and latency")
        publish(force: true)
    }

    func weightsAreFinite() -> Bool {
        trainer.model.parameters.allSatisfy { p in (0..<p.count).allSatisfy { p.pointer[$0].isFinite } }
    }

    func betweenSteps() -> Bool {
        handleCommands()
        return quitRequested || paused || searchPending || frontPending
    }

    func phaseNow() -> ExplorerPhase {
        if trainer.isFinished { return snap.exported.isEmpty ? .finished : .extracted }
        return objective.expansion == nil ? .stimulativeTraining : .expansion
    }

    // MARK: Training events

    func observe(_ result: ObjectiveResult) {
        guard let loss = result.extra["subnet_loss"], let top1 = result.extra["subnet_top1"] else { return }
        subnetLoss += loss
        subnetTop1 += top1
        distillation += result.extra["kd"] ?? 0
        subnetSteps += 1
    }

    func handle(_ event: TrainingEvent) {
        switch event {
        case .epochStarted(let epoch, let first, _):
            snap.epoch = epoch
            snap.step = first
            if first == 0 { subnetLoss = 0; subnetTop1 = 0; distillation = 0; subnetSteps = 0 }
            publish(force: true)
        case .step(let p):
            snap.epoch = p.epoch
            snap.step = p.step + 1
            snap.globalStep = trainer.record.stepsCompleted
            snap.learningRate = Double(p.learningRate)
            snap.runningLoss = p.runningLoss
            snap.runningTop1 = p.runningTop1
            snap.runningSubnetLoss = subnetSteps > 0 ? subnetLoss / Double(subnetSteps) : nil
            snap.runningSubnetTop1 = subnetSteps > 0 ? subnetTop1 / Double(subnetSteps) : nil
            snap.imagesPerSecond = p.imagesPerSecond
            let stepsLeft = Double(snap.totalSteps - snap.globalStep)
            snap.eta = p.imagesPerSecond > 0 ? stepsLeft * Double(trainer.config.batchSize) / p.imagesPerSecond : nil
            snap.stepsSinceSave += 1
            if monotonicSeconds() - lastSparsity > 2 { measureSparsity() }
            publish()
        case .evaluating(let epoch):
            log(.info, "epoch \(epoch + 1): evaluating the full network on \(trainer.data.test.count) test images")
            publish(force: true)
        case .epochFinished(let m):
            let n = Double(max(subnetSteps, 1))
            snap.curves.append(EpochPoint(epoch: m.epoch, trainLoss: m.trainLoss, trainTop1: m.trainTop1,
                                          testLoss: m.testLoss, testTop1: m.testTop1,
                                          subnetLoss: subnetSteps > 0 ? subnetLoss / n : nil,
                                          subnetTop1: subnetSteps > 0 ? subnetTop1 / n : nil,
                                          distillation: subnetSteps > 0 ? distillation / n : nil))
            snap.stepsSinceSave = 0
            log(.info, String(format: "epoch %d/%d: train loss %.3f, test top-1 %.2f%% (full network); checkpoint saved",
                              m.epoch, trainer.config.epochs, m.trainLoss, 100 * m.testTop1))
            measureSparsity()
            trainingSeconds += m.seconds
            frontAllowance += options.frontShare * m.seconds
            // The first front on trained weights always runs (the imported network's does not count).
            let trainedRounds = snap.front.rounds - (snap.asImported.isEmpty ? 0 : 1)
            if options.front != nil, trainedRounds == 0 || frontAllowance >= lastRenewalSeconds { frontPending = true }
            if options.autoSearch, schedule.searchDue(afterEpoch: m.epoch) {
                searchPending = true
            }
            publish(force: true)
        case .checkpointSaved:
            break
        case .stopped:
            snap.stepsSinceSave = 0
            publish(force: true)
        }
    }
}
