import Foundation

// Everything that defines a training run. Stored in run.json so that `--resume` and `stp eval`
// rebuild exactly the same model, data pipeline and schedule.

public struct TrainingConfig: Codable, Sendable, Equatable {
    public var model: String = "resnet20"
    public var shortcut: ShortcutKind = .zeroPad
    public var data: String = DataSource.default.spec
    public var epochs: Int = 30
    public var batchSize: Int = 128
    public var schedule = LearningRateSchedule(kind: .cosine, base: 0.1, warmupEpochs: 0, totalEpochs: 30)
    public var optimizer = SGDOptions()
    public var labelSmoothing: Float = 0
    public var augmentation = Augmentation()
    public var seed: UInt64 = 0
    /// Training images on which BN statistics are re-estimated before every evaluation (0: off,
    /// evaluate with the running statistics of training).
    public var recalibrationImages: Int = 0
    /// The trained network the run starts from (`--init`: a PyTorch or safetensors file, or a
    /// directory written by stp import or stp train); nil starts from a random initialisation.
    public var initialWeights: String?
    /// The input normalisation, when given (`--normalization`); nil takes the initial network's,
    /// else the training set's own statistics.
    public var normalization: Normalization?

    public init() {}

    /// Peak learning rates of the cosine schedule: from a random initialisation, and from a
    /// trained network (--init), where 0.1 would first destroy what the network knows
    /// (docs/TRAINING.md has the measurement behind the second).
    public static let scratchLearningRate: Float = 0.1
    public static let fromTrainedLearningRate: Float = 0.03
    public var defaultLearningRate: Float { initialWeights == nil ? Self.scratchLearningRate : Self.fromTrainedLearningRate }

    enum CodingKeys: String, CodingKey {
        case model, shortcut, data, epochs, batchSize, schedule, optimizer, labelSmoothing, augmentation, seed, recalibrationImages
        case initialWeights, normalization
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        shortcut = try c.decode(ShortcutKind.self, forKey: .shortcut)
        data = try c.decode(String.self, forKey: .data)
        epochs = try c.decode(Int.self, forKey: .epochs)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        schedule = try c.decode(LearningRateSchedule.self, forKey: .schedule)
        optimizer = try c.decode(SGDOptions.self, forKey: .optimizer)
        labelSmoothing = try c.decode(Float.self, forKey: .labelSmoothing)
        augmentation = try c.decode(Augmentation.self, forKey: .augmentation)
        seed = try c.decode(UInt64.self, forKey: .seed)
        // Added after the first runs were written; older records mean "off".
        recalibrationImages = try c.decodeIfPresent(Int.self, forKey: .recalibrationImages) ?? 0
        initialWeights = try c.decodeIfPresent(String.self, forKey: .initialWeights)
        normalization = try c.decodeIfPresent(Normalization.self, forKey: .normalization)
    }

    /// The most epochs a run may have: far beyond any real schedule, and small enough that
    /// epochs times steps per epoch cannot overflow.
    public static let maxEpochs = 1_000_000
    /// The largest random-crop padding, in pixels (far beyond any image stp reads).
    public static let maxCropPadding = 4096

    /// A value the configuration cannot train with: the command-line option that sets it, its
    /// key in the training configuration of run.json, the value found and what was expected.
    public struct Problem: Sendable, Equatable {
        public var option: String
        public var field: String
        public var value: String
        public var expected: String
    }

    /// Every value this configuration cannot train with, in field order (empty when it is valid).
    /// The data spec is checked apart (`DataSource(parsing:)` says what is wrong with it).
    public var problems: [Problem] {
        var out = [Problem]()
        func require(_ ok: Bool, _ option: String, _ field: String, _ value: Any, _ expected: String) {
            if !ok { out.append(Problem(option: option, field: field, value: "\(value)", expected: expected)) }
        }
        require(ResNetSpec.knownNames.contains(model.lowercased()), "--model", "model", model,
                "one of \(ResNetSpec.knownNames.joined(separator: ", "))")
        require((1...Self.maxEpochs).contains(epochs), "--epochs", "epochs", epochs, "a number of epochs from 1 to \(Self.maxEpochs)")
        require(batchSize >= 2, "--batch", "batchSize", batchSize, "at least 2, for batch statistics")
        require(schedule.base.isFinite && schedule.base > 0, "--lr", "schedule.base", schedule.base, "a positive finite number")
        require(schedule.warmupEpochs.isFinite && schedule.warmupEpochs >= 0, "--warmup", "schedule.warmupEpochs",
                schedule.warmupEpochs, "a non-negative finite number of epochs")
        if let i = schedule.milestones.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
            require(false, "--milestones", "schedule.milestones[\(i)]", schedule.milestones[i], "a non-negative finite number of epochs")
        }
        require(schedule.gamma.isFinite && schedule.gamma >= 0, "--gamma", "schedule.gamma", schedule.gamma, "a non-negative finite factor")
        require(optimizer.momentum.isFinite && (0..<1).contains(optimizer.momentum), "--momentum", "optimizer.momentum",
                optimizer.momentum, "a number in [0, 1)")
        require(optimizer.weightDecay.isFinite && optimizer.weightDecay >= 0, "--weight-decay", "optimizer.weightDecay",
                optimizer.weightDecay, "a non-negative finite number")
        require((0..<1).contains(labelSmoothing), "--label-smoothing", "labelSmoothing", labelSmoothing, "a number in [0, 1)")
        require((0...Self.maxCropPadding).contains(augmentation.cropPadding), "--crop-padding", "augmentation.cropPadding",
                augmentation.cropPadding, "a number of pixels from 0 to \(Self.maxCropPadding)")
        require(recalibrationImages >= 0, "--recalibration-images", "recalibrationImages", recalibrationImages, "a count of at least 0")
        if let normalization {
            require(normalization.isValid, "--normalization", "normalization", normalization.summary,
                    "one finite mean and one positive finite standard deviation per channel")
        }
        return out
    }

    /// Checks the options of a new run; the error names the command-line option and the value.
    public func validate() throws {
        if let p = problems.first { throw STPError(.argument, "\(p.option) must be \(p.expected) (got \(p.value))") }
    }

    /// Checks a configuration read from a run record (`source`, where it is `Trainer.configKey`)
    /// before a run continues from it, data spec included: the error names the file, the field
    /// and the value.
    public func validateRecorded(source: String) throws {
        if let p = problems.first {
            throw STPError.file(.checkpoint, source, "\(Trainer.configKey).\(p.field) is \(p.value); expected \(p.expected)")
        }
        _ = try DataSource(recorded: data, field: Trainer.configKey + ".data", source: source)
    }

    /// The network for `data`: its input is what the batch pipeline feeds, the crop of a data
    /// set stored with a margin (image folders) rather than the stored image.
    public func modelSpec(for data: ImageDataset) throws -> ResNetSpec {
        var spec = try ResNetSpec.named(model, inputChannels: data.channels, classes: data.classCount,
                                        inputSize: (data.inputHeight, data.inputWidth), shortcut: shortcut)
        spec.name = model
        return spec
    }

    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The first field (in name order) whose value differs between this configuration and
    /// `other`, with both values as JSON; nil when they are the same. A resumed run names it.
    public func firstDifference(from other: TrainingConfig) throws -> (field: String, this: String, other: String)? {
        func fields(_ c: TrainingConfig) throws -> [String: Any] {
            (try JSONSerialization.jsonObject(with: Data(try c.jsonString().utf8)) as? [String: Any]) ?? [:]
        }
        func text(_ value: Any?) -> String {
            guard let value else { return "absent" }
            guard JSONSerialization.isValidJSONObject([value]),
                  let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]) else { return "\(value)" }
            return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
        }
        let mine = try fields(self), theirs = try fields(other)
        for key in Set(mine.keys).union(theirs.keys).sorted() where text(mine[key]) != text(theirs[key]) {
            return (key, text(mine[key]), text(theirs[key]))
        }
        return nil
    }

    /// Parses the configuration a run record holds. Non-finite numbers are read as run.json
    /// writes them ("nan", "inf", "-inf"), so that validation can name them.
    public static func fromJSON(_ text: String, source: String) throws -> TrainingConfig {
        let decoder = JSONDecoder()
        let strings = RunRecord.nonFinite
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: strings.positive, negativeInfinity: strings.negative, nan: strings.nan)
        do {
            return try decoder.decode(TrainingConfig.self, from: Data(text.utf8))
        } catch {
            throw STPError.file(.checkpoint, source, "'\(Trainer.configKey)' is not a readable training configuration: \(RunRecord.describe(error))")
        }
    }
}
