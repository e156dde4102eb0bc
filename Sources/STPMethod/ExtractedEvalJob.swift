import Foundation
import STPEngine

// `stp eval DIR` on a directory written by extraction (architecture.json + model.safetensors):
// rebuilds the plain pruned network from its architecture file and evaluates it on the test set
// of the run it was extracted from (same data and input normalisation), BN in eval mode.

public enum ExtractedEvalJob {
    public static func isExtracted(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/" + ExtractedModel.descriptionFile)
    }

    /// The extracted network with the record and configuration of the run it came from.
    public static func load(_ path: String) throws -> (record: RunRecord, config: TrainingConfig, network: ResNet) {
        let extracted = try ExtractedModel.load(from: path)
        let run = try RunDirectory.open(at: extracted.info.source)
        let record = try run.readRecord()
        guard let configText = record.configuration[Trainer.configKey] else {
            throw STPError(.checkpoint, "\(run.recordPath): no '\(Trainer.configKey)'; the source run of \(path) was not written by stp")
        }
        return (record, try TrainingConfig.fromJSON(configText, source: run.recordPath), extracted.network)
    }

    public static func run(_ options: EvalJobOptions) throws -> EvalReport {
        let extracted = try ExtractedModel.load(from: options.runPath)
        let run = try RunDirectory.open(at: extracted.info.source)
        let record = try run.readRecord()
        guard let configText = record.configuration[Trainer.configKey] else {
            throw STPError(.checkpoint, "\(run.recordPath): no '\(Trainer.configKey)'; the source run of \(options.runPath) was not written by stp")
        }
        let config = try TrainingConfig.fromJSON(configText, source: run.recordPath)
        let dataSpec = options.data ?? config.data
        guard !dataSpec.isEmpty else {
            throw STPError(.argument, "\(options.runPath) records no data set (it was imported without --data); give --data, e.g. --data cifar10:PATH")
        }
        let source = try options.data.map { try DataSource(parsing: $0) }
            ?? DataSource(recorded: dataSpec, field: Trainer.configKey + ".data", source: run.recordPath)
        let data = try source.load()
        let normalization = try Trainer.normalization(of: record, path: run.recordPath, channels: data.test.channels)
            ?? Normalization.compute(from: data.train)
        guard options.batch >= 1 else { throw STPError(.argument, "--batch must be at least 1") }
        let loader = BatchLoader.evaluation(dataset: data.test, batchSize: options.batch, normalization: normalization)
        let result = evaluate(extracted.network, loader: loader)
        return EvalReport(run: options.runPath, model: "\(extracted.info.spec.name) \(extracted.info.architectureText)",
                          data: dataSpec, epochs: record.epochsCompleted, result: result)
    }
}
