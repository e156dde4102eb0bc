import Foundation

// A training run: builds the model and pipeline from a TrainingConfig, trains with SGD, evaluates
// after every epoch, writes metrics and checkpoints to a run directory, and resumes from one.
// The caller observes progress through events and can ask it to stop between steps (Ctrl-C);
// stopping saves a checkpoint at the exact step, and --resume continues from there with the same
// batch order (the order of every epoch is a function of seed and epoch alone).

public struct StepProgress: Sendable {
    public var epoch: Int           // 0-based
    public var step: Int            // 0-based, within the epoch
    public var stepsPerEpoch: Int
    public var totalEpochs: Int
    public var learningRate: Float
    public var runningLoss: Double
    public var runningTop1: Double
    public var imagesPerSecond: Double
    public var elapsedInEpoch: Double
}

public enum TrainingEvent: Sendable {
    /// Before the first step of an epoch (or of the rest of one, after a resume).
    case epochStarted(epoch: Int, firstStep: Int, stepsPerEpoch: Int)
    case step(StepProgress)
    case evaluating(epoch: Int)
    case epochFinished(EpochMetrics)
    case checkpointSaved(path: String, epoch: Int, step: Int)
    case stopped(epoch: Int, step: Int)
}

public final class Trainer: @unchecked Sendable {
    public let config: TrainingConfig
    public let data: DataSplits
    public let spec: ResNetSpec
    public let model: ResNet
    public let optimizer: SGD
    public let trainLoader: BatchLoader
    public let testLoader: BatchLoader
    public let runDirectory: RunDirectory?
    public private(set) var record: RunRecord
    private var metricsLog: MetricsLog?
    /// What each step optimises (cross-entropy unless a method sets another).
    public var objective: TrainingObjective = CrossEntropyObjective()
    /// When set, the full network's running statistics are re-estimated on these images before
    /// every evaluation (and restored after), as the STP method requires for any architecture.
    public private(set) var calibrator: BatchNormCalibrator?
    /// Called after every epoch's evaluation, before the checkpoint is written (a method records
    /// its own per-epoch figures here, e.g. relative sparsity, with `appendMetrics`).
    public var onEpochEnd: ((Trainer, EpochMetrics) throws -> Void)?

    public static let normalizationKey = "normalization"

    /// The ranks this run's batches are split over (see Communicator); a single process unless
    /// `distribute(over:)` was called.
    public private(set) var communicator: any Communicator = SingleProcess()
    private let gradientBuffer = FloatBuffer()

    /// The input normalisation a run recorded (nil for records without one), checked: an
    /// unreadable one, one with a non-finite mean or a non-positive standard deviation, or one
    /// with other than `channels` channels (when given) is an error naming `path` (the record),
    /// the field and the value. An invalid normalisation turns every image into NaN.
    public static func normalization(of record: RunRecord, path: String, channels: Int? = nil) throws -> Normalization? {
        guard let text = record.configuration[normalizationKey] else { return nil }
        let decoder = JSONDecoder()
        let strings = RunRecord.nonFinite
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: strings.positive, negativeInfinity: strings.negative, nan: strings.nan)
        let normalization: Normalization
        do {
            normalization = try decoder.decode(Normalization.self, from: Data(text.utf8))
        } catch {
            throw STPError.file(.checkpoint, path, "'\(normalizationKey)' is \(text), not a readable mean and std: \(RunRecord.describe(error))")
        }
        if let problem = normalization.problem(channels: channels) {
            throw STPError.file(.checkpoint, path, "'\(normalizationKey)' is \(text): \(problem)")
        }
        return normalization
    }
    public static let configKey = "training_config"
    /// The network a run started from (--init), for people reading run.json.
    public static let initialNetworkKey = "initialized_from"

    /// A new run. `runPath` nil trains without saving anything.
    public convenience init(config: TrainingConfig, data: DataSplits, runPath: String?, overwrite: Bool = false) throws {
        try config.validate()
        // The directory is prepared only once every check of the run has passed (an overwrite
        // moves the old run aside until the new one's first save: RunDirectory.create).
        try self.init(config: config, data: data, run: nil, checkpoint: nil, record: nil,
                      newRun: runPath.map { ($0, overwrite) })
    }

    /// Continues the run saved in `runPath`. `split` derives the images the run trained on from
    /// its data set (a run that held some training images out for a search, as the explorer's do).
    public static func resume(runPath: String, split: ((DataSplits, RunRecord) throws -> DataSplits)? = nil) throws -> Trainer {
        let run = try RunDirectory.open(at: runPath)
        let (record, checkpoint) = try run.load()
        if record.configuration[ImportJob.sourceKey] != nil {
            throw STPError(.checkpoint, "\(run.path) holds a network imported by stp import, not a run to continue; start a run from it with --init \(run.path)")
        }
        guard let configText = record.configuration[configKey] else {
            throw STPError(.checkpoint, "\(run.recordPath): no '\(configKey)' in configuration; not a run written by stp train")
        }
        // Every value the run continues with is checked before it is used: a record edited by
        // hand or damaged must be refused with its field named, not crash (a batch of 0 divides
        // by zero) or train on silently.
        let config = try TrainingConfig.fromJSON(configText, source: run.recordPath)
        try config.validateRecorded(source: run.recordPath)
        if config.model.lowercased() != record.model.name.lowercased() {
            throw STPError.file(.checkpoint, run.recordPath, "\(configKey).model is \(config.model) but model.name is \(record.model.name); expected the same model")
        }
        let loaded = try DataSource(recorded: config.data, field: configKey + ".data", source: run.recordPath).load()
        let data = try split.map { try $0(loaded, record) } ?? loaded
        guard data.train.count == record.data.trainCount, data.test.count == record.data.testCount else {
            throw STPError(.checkpoint, "\(run.recordPath): the run was trained on \(record.data.trainCount)/\(record.data.testCount) images of \(config.data), but it now has \(data.train.count)/\(data.test.count)")
        }
        let stepsPerEpoch = data.train.count / config.batchSize
        guard stepsPerEpoch >= 1 else {
            throw STPError.file(.checkpoint, run.recordPath, "\(configKey).batchSize is \(config.batchSize); expected at most the \(data.train.count) training images of \(config.data)")
        }
        try record.validateResumable(epochs: config.epochs, stepsPerEpoch: stepsPerEpoch, path: run.recordPath)
        return try Trainer(config: config, data: data, run: run, checkpoint: checkpoint, record: record)
    }

    /// Continues the run in `runPath` that an earlier invocation started with `config` on `data`
    /// (stp prune --resume, whose options give the configuration again). A run recorded with any
    /// other configuration is refused with the first field that differs: continuing it with
    /// other options would mix two runs in one result.
    public static func resume(runPath: String, expecting config: TrainingConfig, data: DataSplits) throws -> Trainer {
        let run = try RunDirectory.open(at: runPath)
        let (record, checkpoint) = try run.load()
        guard let configText = record.configuration[configKey] else {
            throw STPError.file(.checkpoint, run.recordPath, "no '\(configKey)' in configuration; not a run written by stp")
        }
        let recorded = try TrainingConfig.fromJSON(configText, source: run.recordPath)
        if let difference = try recorded.firstDifference(from: config) {
            throw STPError.file(.checkpoint, run.recordPath,
                                "the run was started with \(configKey).\(difference.field) = \(difference.this), but this invocation gives \(difference.other); resume with the options it was started with, or choose another output directory")
        }
        guard data.train.count == record.data.trainCount, data.test.count == record.data.testCount else {
            throw STPError.file(.checkpoint, run.recordPath, "the run was trained on \(record.data.trainCount)/\(record.data.testCount) images of \(config.data), but it now has \(data.train.count)/\(data.test.count)")
        }
        try record.validateResumable(epochs: config.epochs, stepsPerEpoch: data.train.count / config.batchSize, path: run.recordPath)
        return try Trainer(config: config, data: data, run: run, checkpoint: checkpoint, record: record)
    }

    /// A copy of this run at its current step, in a new run directory: the same configuration,
    /// data, weights, optimizer state, record and metrics so far. Training the copy leaves this
    /// run alone, so several continuations (one per pruning budget, say) can share the training
    /// that came before them. The copy starts with the cross-entropy objective; a method sets its own.
    public func branch(runPath: String, overwrite: Bool = false) throws -> Trainer {
        let run = try RunDirectory.create(at: runPath, overwrite: overwrite)
        try run.save(tensors: ModelState.tensors(of: model, optimizer: optimizer), record: record)
        if let source = runDirectory, FileManager.default.fileExists(atPath: source.metricsPath) {
            try AtomicFile.write(Data(try MetricsLog.read(source.metricsPath)),
                                 to: run.metricsPath)
        }
        let (record, checkpoint) = try run.load()
        let copy = try Trainer(config: config, data: data, run: run, checkpoint: checkpoint, record: record)
        try copy.distribute(over: communicator)
        return copy
    }

    private init(config: TrainingConfig, data: DataSplits, run: RunDirectory?, checkpoint: SafeTensorsFile?, record: RunRecord?,
                 newRun: (path: String, overwrite: Bool)? = nil) throws {
        self.config = config
        self.data = data
        spec = try config.modelSpec(for: data.train)
        model = ResNet(spec: spec, seed: config.seed)
        optimizer = SGD(parameters: model.parameters, options: config.optimizer)
        // A new run from a trained network (--init) starts from its weights; a resumed one from
        // its own checkpoint (loaded below), never from the initial network again.
        let initial = try record == nil ? config.initialWeights.map { try InitialNetwork.load($0) } : nil
        try initial?.apply(to: model)
        let normalization: Normalization
        if let record, let recorded = try Trainer.normalization(of: record, path: run?.recordPath ?? RunDirectory.File.record.rawValue,
                                                                channels: data.train.channels) {
            normalization = recorded
        } else if let given = config.normalization ?? initial?.normalization {
            guard given.channels == data.train.channels else {
                throw STPError(.argument, "the normalisation has \(given.channels) channels but \(config.data) has \(data.train.channels)")
            }
            normalization = given
        } else {
            normalization = Normalization.compute(from: data.train)
        }
        trainLoader = BatchLoader(dataset: data.train, batchSize: config.batchSize, normalization: normalization,
                                  augmentation: config.augmentation, seed: config.seed, shuffle: true, dropLast: true)
        guard trainLoader.batchesPerEpoch >= 1 else {
            throw STPError(.argument, "--batch \(config.batchSize) is larger than the training set (\(data.train.count) images)")
        }
        testLoader = BatchLoader.evaluation(dataset: data.test, batchSize: config.batchSize, normalization: normalization)
        runDirectory = try run ?? newRun.map { try RunDirectory.create(at: $0.path, overwrite: $0.overwrite) }
        if let checkpoint {
            try ModelState.load(model, optimizer: optimizer, from: checkpoint)
        }
        if let record {
            self.record = record
        } else {
            let normText = String(decoding: try JSONEncoder().encode(normalization), as: UTF8.self)
            self.record = RunRecord(
                model: .init(name: config.model, options: ["shortcut": config.shortcut.rawValue,
                                                           "parameters": String(model.parameterCount),
                                                           "macs": String(ModelSummary(spec: spec).totalMACs)]),
                data: .init(name: data.train.name, path: nil, trainCount: data.train.count, testCount: data.test.count,
                            options: ["spec": config.data]),
                seed: config.seed, epochsCompleted: 0, stepsCompleted: 0, totalEpochs: config.epochs,
                rng: SeededRandom(seed: config.seed), configuration: [Trainer.configKey: try config.jsonString(),
                                                                      Trainer.normalizationKey: normText],
                wallSeconds: 0, history: [])
            if let initial {
                self.record.configuration[Trainer.initialNetworkKey] = initial.path
                // Exports give the pruned network back under the names the user's network had.
                if let convention = initial.convention { self.record.configuration[ImportJob.conventionKey] = convention.rawValue }
            }
        }
        if let run = runDirectory {
            try MetricsLog.dropEpochs(after: self.record.epochsCompleted, path: run.metricsPath)
            metricsLog = try MetricsLog(path: run.metricsPath)
        }
        if config.recalibrationImages > 0 {
            calibrator = BatchNormCalibrator(dataset: data.train, images: config.recalibrationImages,
                                             batchSize: config.batchSize, normalization: normalization,
                                             augmentation: config.augmentation)
        }
    }

    /// Splits every batch over the ranks of `communicator` (docs/SCALING.md): each rank trains on
    /// its slice of the same global batch, batch statistics are those of the global batch, and
    /// the gradients are averaged before the step, so the run computes what one process would.
    public func distribute(over communicator: any Communicator) throws {
        guard config.batchSize % communicator.size == 0 else {
            throw STPError(.argument, "--batch \(config.batchSize) does not split evenly over \(communicator.size) ranks; use a multiple of \(communicator.size)")
        }
        self.communicator = communicator
        model.synchronizeBatchStatistics(with: communicator.isDistributed ? communicator : nil)
    }

    public var stepsPerEpoch: Int { trainLoader.batchesPerEpoch }
    public var isFinished: Bool { record.stepsCompleted >= config.epochs * stepsPerEpoch }

    public func learningRate(atStep step: Int) -> Float {
        var schedule = config.schedule
        schedule.totalEpochs = Double(config.epochs)
        return schedule.rate(atEpoch: Double(step) / Double(stepsPerEpoch))
    }

    /// One SGD step on `pixels`/`labels` (this rank's slice of the batch) with the objective;
    /// returns (loss, correct top-1) of the slice.
    public func trainStep(pixels: UnsafePointer<Float>, labels: [Int32], learningRate: Float,
                          globalStep: Int = 0) -> ObjectiveResult {
        model.zeroGradients()
        let result = objective.accumulateGradients(
            model: model, pixels: pixels, labels: labels,
            step: ObjectiveStep(globalStep: globalStep, epochProgress: Double(globalStep) / Double(stepsPerEpoch),
                                labelSmoothing: config.labelSmoothing))
        if communicator.isDistributed { averageGradients() }
        optimizer.step(model.parameters, learningRate: learningRate)
        return result
    }

    /// One allreduce of every gradient, packed into one flat buffer, then divided by the rank
    /// count: each rank's gradient is its slice's mean, so their mean is the global batch's.
    private func averageGradients() {
        let parameters = model.parameters
        let flat = gradientBuffer.ensure(count: parameters.reduce(0) { $0 + $1.count })
        var offset = 0
        for p in parameters {
            (flat + offset).update(from: p.grad.pointer, count: p.count)
            offset += p.count
        }
        communicator.allreduceSum(flat, count: offset)
        let scale = 1 / Float(communicator.size)
        offset = 0
        for p in parameters {
            let g = p.grad.pointer
            for i in 0..<p.count { g[i] = flat[offset + i] * scale }
            offset += p.count
        }
    }

    /// Whether every rank stops: any rank's request stops them all at the same step (a rank
    /// that left while the others wait in an allreduce would hang the job).
    private func collectiveStop(_ local: Bool) -> Bool {
        guard communicator.isDistributed else { return local }
        var flag = [local ? 1.0 : 0.0]
        communicator.allreduceSum(&flag)
        return flag[0] > 0
    }

    /// Appends one JSON line to the run's metrics.jsonl (nothing without a run directory).
    public func appendMetrics<T: Encodable>(_ value: T) throws { try metricsLog?.append(value) }

    /// Stores a string in the run record's configuration (e.g. a method's options), saved with
    /// the next checkpoint.
    public func setConfiguration(_ key: String, _ value: String) { record.configuration[key] = value }

    public func evaluateTest() -> EvaluationResult {
        guard let calibrator else { return evaluate(model, loader: testLoader, communicator: communicator) }
        return calibrator.withRecalibrated(model, subnet: nil) { evaluate(model, loader: testLoader, communicator: communicator) }
    }

    /// Trains until the configured epochs are done or `shouldStop` returns true (checked between
    /// steps). Saves after every epoch and when stopped.
    public func train(events: (TrainingEvent) -> Void, shouldStop: () -> Bool = { false }) throws {
        let pixels = FloatBuffer(count: trainLoader.batchElementCount)
        var labels = [Int32]()
        let perEpoch = stepsPerEpoch
        // This rank's slice of every (full) batch; the whole batch for a single process.
        let slice = communicator.share(of: config.batchSize)
        let imageElements = trainLoader.dataset.inputImageSize
        while !isFinished {
            let epoch = record.stepsCompleted / perEpoch
            let firstStep = record.stepsCompleted % perEpoch
            var lossSum = 0.0, correct = 0, seen = 0
            let epochStart = Date()
            var lr: Float = 0
            events(.epochStarted(epoch: epoch, firstStep: firstStep, stepsPerEpoch: perEpoch))
            for step in firstStep..<perEpoch {
                if collectiveStop(shouldStop()) {
                    try save()
                    events(.stopped(epoch: epoch, step: step))
                    return
                }
                let t0 = Date()
                trainLoader.fillTrainingBatch(epoch: epoch, batch: step, pixels: pixels.pointer, labels: &labels)
                lr = learningRate(atStep: epoch * perEpoch + step)
                if slice.count < labels.count { labels = Array(labels[slice]) }
                let result = trainStep(pixels: pixels.pointer + slice.lowerBound * imageElements, labels: labels,
                                       learningRate: lr, globalStep: epoch * perEpoch + step)
                var figures = [Double(result.loss) * Double(labels.count), Double(result.correct), Double(labels.count)]
                if communicator.isDistributed { communicator.allreduceSum(&figures) }
                let loss = figures[0] / figures[2]
                guard loss.isFinite else {
                    throw STPError(.engine, "training diverged at epoch \(epoch + 1), step \(step + 1): loss is \(loss); try a lower --lr (now \(config.schedule.base))")
                }
                lossSum += figures[0]
                correct += Int(figures[1])
                seen += Int(figures[2])
                record.stepsCompleted += 1
                record.wallSeconds += Date().timeIntervalSince(t0)
                let elapsed = Date().timeIntervalSince(epochStart)
                events(.step(StepProgress(epoch: epoch, step: step, stepsPerEpoch: perEpoch, totalEpochs: config.epochs,
                                          learningRate: lr, runningLoss: lossSum / Double(seen),
                                          runningTop1: Double(correct) / Double(seen),
                                          imagesPerSecond: Double(seen) / max(elapsed, 1e-9), elapsedInEpoch: elapsed)))
            }
            let trainSeconds = Date().timeIntervalSince(epochStart)
            events(.evaluating(epoch: epoch))
            let t0 = Date()
            let test = evaluateTest()
            record.wallSeconds += Date().timeIntervalSince(t0)
            let metrics = EpochMetrics(epoch: epoch + 1, trainLoss: lossSum / Double(max(seen, 1)),
                                       trainTop1: Double(correct) / Double(max(seen, 1)),
                                       testLoss: test.loss, testTop1: test.top1, testTop5: test.top5,
                                       learningRate: Double(lr), imagesPerSecond: Double(seen) / max(trainSeconds, 1e-9),
                                       seconds: Date().timeIntervalSince(epochStart))
            record.epochsCompleted = epoch + 1
            record.history.append(metrics)
            try metricsLog?.append(metrics)
            try onEpochEnd?(self, metrics)
            try save()
            events(.epochFinished(metrics))
        }
    }

    /// Writes checkpoint.safetensors and run.json (each atomically) when there is a run directory.
    public func save() throws {
        guard let run = runDirectory else { return }
        try run.save(tensors: ModelState.tensors(of: model, optimizer: optimizer), record: record)
    }

    public var checkpointPath: String? { runDirectory?.checkpointPath }
}
