import Foundation

// `stp eval RUN_DIR`: rebuilds the network a run saved and evaluates it on its test set (or on
// another data set of the same shape) with BN in eval mode.

public struct EvalJobOptions: Sendable {
    public var runPath: String
    /// Evaluate on this data spec instead of the run's own.
    public var data: String?
    public var batch: Int = 256
    public init(runPath: String) { self.runPath = runPath }
}

public struct EvalReport: Codable, Sendable {
    public var run: String
    public var model: String
    public var data: String
    public var epochs: Int
    public var result: EvaluationResult

    public init(run: String, model: String, data: String, epochs: Int, result: EvaluationResult) {
        self.run = run
        self.model = model
        self.data = data
        self.epochs = epochs
        self.result = result
    }
}

public enum EvalJob {
    public static func run(_ options: EvalJobOptions) throws -> EvalReport {
        let run = try RunDirectory.open(at: options.runPath)
        let (record, checkpoint) = try run.load()
        guard let configText = record.configuration[Trainer.configKey] else {
            throw STPError(.checkpoint, "\(run.recordPath): no '\(Trainer.configKey)'; not a run written by stp train")
        }
        let config = try TrainingConfig.fromJSON(configText, source: run.recordPath)
        let dataSpec = options.data ?? config.data
        guard !dataSpec.isEmpty else {
            throw STPError(.argument, "\(options.runPath) records no data set (it was imported without --data); give --data, e.g. --data cifar10:PATH")
        }
        let source = try options.data.map { try DataSource(parsing: $0) }
            ?? DataSource(recorded: dataSpec, field: Trainer.configKey + ".data", source: run.recordPath)
        let data = try source.load()
        let spec = try config.modelSpec(for: data.test)
        let model = ResNet(spec: spec)
        // Refuses non-finite weights and negative variances, and an invalid normalisation: either
        // makes every logit NaN, which must be an error rather than an accuracy.
        try ModelState.load(model, optimizer: nil, from: checkpoint)
        let normalization = try Trainer.normalization(of: record, path: run.recordPath, channels: data.test.channels)
            ?? Normalization.compute(from: data.train)
        guard options.batch >= 1 else { throw STPError(.argument, "--batch must be at least 1") }
        let loader = BatchLoader.evaluation(dataset: data.test, batchSize: options.batch, normalization: normalization)
        let result = evaluate(model, loader: loader)
        return EvalReport(run: options.runPath, model: config.model, data: dataSpec, epochs: record.epochsCompleted, result: result)
    }
}
