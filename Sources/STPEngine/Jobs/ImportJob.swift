import Foundation

// `stp import FILE --out DIR`: a trained PyTorch ResNet (torch.save zip or legacy format, or
// safetensors) becomes an stp model directory, the same layout a training run has
// (checkpoint.safetensors + run.json), so that `stp eval DIR`, `stp export DIR` and `--init DIR`
// read it like any run. run.json records where the network came from, its key names (exports
// give the pruned network back under them) and its input normalisation, which belongs to the
// model: given with --normalization, else what the checkpoint states, else ImageNet's (what
// torchvision and the common CIFAR ResNet code bases train with; the report says it was assumed).

public struct ImportJobOptions: Sendable {
    public var sourcePath: String
    public var outputPath: String
    /// The stp model the file must hold; nil infers it from the tensors.
    public var model: String?
    /// `--normalization` text (Normalization.parse); nil: the checkpoint's, else ImageNet's.
    public var normalization: String?
    /// The data set the model is for (recorded, so `stp eval DIR` needs no --data); nil: none.
    public var data: String?
    /// Input height and width; nil: 32 for the CIFAR stem, 224 for the ImageNet stem.
    public var inputSize: Int?
    public var overwrite = false

    public init(sourcePath: String, outputPath: String) {
        self.sourcePath = sourcePath
        self.outputPath = outputPath
    }
}

public struct ImportReport: Codable, Sendable {
    public var source: String
    public var format: String
    public var keyConvention: String
    public var model: String
    public var shortcut: String
    public var classes: Int
    public var parameters: Int
    public var macs: Int
    public var normalization: Normalization
    /// "given", "checkpoint" or "assumed (ImageNet)".
    public var normalizationSource: String
    public var metadata: [String: String]
    public var output: String
}

public enum ImportJob {
    /// run.json keys of an imported model.
    public static let sourceKey = "imported_from"
    public static let formatKey = "import_format"
    public static let conventionKey = "key_convention"
    public static let metadataKey = "import_metadata"

    public static func run(_ options: ImportJobOptions) throws -> ImportReport {
        if let data = options.data { _ = try DataSource(parsing: data) }
        let size = options.inputSize.map { (height: $0, width: $0) }
        if let s = options.inputSize, s < 1 { throw STPError(.argument, "--input-size must be positive (got \(s))") }
        let imported = try ImportedNetwork.read(path: options.sourcePath, model: options.model, inputSize: size)
        let spec = imported.spec
        let normalization: Normalization
        let normalizationSource: String
        if let text = options.normalization {
            normalization = try Normalization.parse(text, channels: spec.inputChannels)
            normalizationSource = "given"
        } else if let stated = imported.normalization {
            normalization = stated
            normalizationSource = "checkpoint"
        } else {
            guard spec.inputChannels == InitialNetwork.assumedNormalization.channels else {
                throw STPError(.argument, "\(options.sourcePath) states no input normalisation and has \(spec.inputChannels) input channels; give --normalization")
            }
            normalization = InitialNetwork.assumedNormalization
            normalizationSource = "assumed (ImageNet)"
        }

        var config = TrainingConfig()
        config.model = spec.name
        config.shortcut = spec.shortcut
        config.data = options.data ?? ""
        config.epochs = 0
        config.normalization = normalization
        let summary = ModelSummary(spec: spec)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let normText = String(decoding: try encoder.encode(normalization), as: UTF8.self)
        let metaText = String(decoding: try encoder.encode(imported.metadata), as: UTF8.self)
        let absoluteSource = URL(fileURLWithPath: options.sourcePath).standardizedFileURL.path
        let record = RunRecord(
            model: .init(name: spec.name, options: ["shortcut": spec.shortcut.rawValue, "parameters": String(summary.totalParameters),
                                                    "macs": String(summary.totalMACs)]),
            data: .init(name: options.data.map { String($0.split(separator: ":").first ?? "") } ?? "none", trainCount: 0, testCount: 0,
                        options: options.data.map { ["spec": $0] } ?? [:]),
            seed: 0, totalEpochs: 0, rng: SeededRandom(seed: 0),
            configuration: [Trainer.configKey: try config.jsonString(), Trainer.normalizationKey: normText,
                            sourceKey: absoluteSource, formatKey: imported.format, conventionKey: imported.convention.rawValue,
                            metadataKey: metaText])
        let run = try RunDirectory.create(at: options.outputPath, overwrite: options.overwrite)
        try run.save(tensors: ModelState.tensors(of: imported.network, optimizer: nil), record: record,
                     extraMetadata: [sourceKey: absoluteSource])
        return ImportReport(source: options.sourcePath, format: imported.format, keyConvention: imported.convention.rawValue,
                            model: spec.name, shortcut: spec.shortcut.rawValue, classes: spec.classes,
                            parameters: summary.totalParameters, macs: summary.totalMACs, normalization: normalization,
                            normalizationSource: normalizationSource, metadata: imported.metadata, output: run.path)
    }
}
