import Foundation
import STPEngine

// `stp eval DIR` and `stp export DIR` on a directory written by extraction (architecture.json +
// model.safetensors): rebuilds the plain pruned network from its architecture file and evaluates
// it on the test set it was evaluated on when it was made (same data and input normalisation),
// BN in eval mode. The directory is enough: architecture.json records the data spec, the epochs
// and the normalisation. Directories written before the data and epochs were recorded read them
// from the run they were extracted from (`source`), when that still exists.

public enum ExtractedEvalJob {
    public static func isExtracted(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/" + ExtractedModel.descriptionFile)
    }

    /// What an extracted network was made from: its data spec ("" when unknown), epochs trained
    /// (nil when unknown) and input normalisation.
    struct Provenance {
        var data: String
        var epochs: Int?
        var normalization: Normalization?
    }

    /// The extracted network and its provenance: from its own description, completed from the
    /// source run where the description predates a field and the run still exists.
    static func open(_ path: String) throws -> (ExtractedModel, Provenance) {
        let extracted = try ExtractedModel.load(from: path)
        let info = extracted.info
        var provenance = Provenance(data: info.data ?? "", epochs: info.epochs, normalization: info.normalization)
        if info.data == nil || info.epochs == nil || info.normalization == nil,
           let run = try? RunDirectory.open(at: info.source) {
            let record = try run.readRecord()
            if provenance.data.isEmpty, let text = record.configuration[Trainer.configKey] {
                provenance.data = try TrainingConfig.fromJSON(text, source: run.recordPath).data
            }
            provenance.epochs = provenance.epochs ?? record.epochsCompleted
            if provenance.normalization == nil {
                provenance.normalization = try Trainer.normalization(of: record, path: run.recordPath)
            }
        }
        return (extracted, provenance)
    }

    /// The extracted network as `stp export` writes it.
    public static func load(_ path: String) throws -> ExportSource {
        let (extracted, provenance) = try open(path)
        return ExportSource(network: extracted.network, data: provenance.data, epochs: provenance.epochs ?? 0,
                            normalization: provenance.normalization)
    }

    public static func run(_ options: EvalJobOptions) throws -> EvalReport {
        let (extracted, provenance) = try open(options.runPath)
        let descriptionPath = options.runPath + "/" + ExtractedModel.descriptionFile
        let dataSpec = options.data ?? provenance.data
        guard !dataSpec.isEmpty else {
            throw STPError(.argument, "\(descriptionPath) records no data set, nor does a run at its source \(extracted.info.source); give --data, e.g. --data cifar10:PATH")
        }
        let source = try options.data.map { try DataSource(parsing: $0) }
            ?? DataSource(recorded: dataSpec, field: "data", source: descriptionPath)
        let data = try source.load()
        // A network trained without a recorded normalisation used the training set's statistics.
        let normalization = provenance.normalization ?? Normalization.compute(from: data.train)
        if let problem = normalization.problem(channels: data.test.channels) {
            throw STPError.file(.checkpoint, descriptionPath, "'normalization': \(problem)")
        }
        guard options.batch >= 1 else { throw STPError(.argument, "--batch must be at least 1") }
        let loader = BatchLoader.evaluation(dataset: data.test, batchSize: options.batch, normalization: normalization)
        let result = evaluate(extracted.network, loader: loader)
        return EvalReport(run: options.runPath, model: "\(extracted.info.spec.name) \(extracted.info.architectureText)",
                          data: dataSpec, epochs: provenance.epochs ?? 0, result: result)
    }
}
