import Foundation

// A trained network rebuilt from a run directory without loading its data set: the model's
// shape comes from the checkpoint (input channels, classes, per-block widths of a pruned net)
// and the run's training configuration (model, shortcut, image size of the data kind).

public struct SavedRun: @unchecked Sendable {
    public let directory: RunDirectory
    public let record: RunRecord
    public let config: TrainingConfig
    public let checkpoint: SafeTensorsFile
    public let model: ResNet

    public static func load(_ path: String, inputSize: (height: Int, width: Int)? = nil) throws -> SavedRun {
        let run = try RunDirectory.open(at: path)
        let (record, checkpoint) = try run.load()
        guard let configText = record.configuration[Trainer.configKey] else {
            throw STPError(.checkpoint, "\(run.recordPath): no '\(Trainer.configKey)'; not a run written by stp train")
        }
        let config = try TrainingConfig.fromJSON(configText, source: run.recordPath)
        let spec = try ONNXExportJob.modelSpec(config: config, checkpoint: checkpoint, inputSize: inputSize)
        let model = ResNet(spec: spec)
        try ModelState.load(model, optimizer: nil, from: checkpoint)
        return SavedRun(directory: run, record: record, config: config, checkpoint: checkpoint, model: model)
    }
}
