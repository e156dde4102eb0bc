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

    public func validate() throws {
        guard epochs >= 1 else { throw STPError(.argument, "--epochs must be at least 1 (got \(epochs))") }
        guard batchSize >= 2 else { throw STPError(.argument, "--batch must be at least 2 for batch statistics (got \(batchSize))") }
        guard schedule.base > 0, schedule.base.isFinite else { throw STPError(.argument, "--lr must be a positive number (got \(schedule.base))") }
        guard (0..<1).contains(labelSmoothing) else { throw STPError(.argument, "--label-smoothing must be in [0, 1) (got \(labelSmoothing))") }
        guard recalibrationImages >= 0 else { throw STPError(.argument, "--recalibration-images must not be negative") }
        guard optimizer.weightDecay >= 0, (0..<1).contains(optimizer.momentum) else {
            throw STPError(.argument, "--momentum must be in [0, 1) and --weight-decay non-negative")
        }
        if let normalization, !normalization.isValid {
            throw STPError(.argument, "--normalization needs finite means and positive standard deviations (got \(normalization.summary))")
        }
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

    public static func fromJSON(_ text: String, source: String) throws -> TrainingConfig {
        do {
            return try JSONDecoder().decode(TrainingConfig.self, from: Data(text.utf8))
        } catch {
            throw STPError(.checkpoint, "\(source): the training configuration is not readable (\(error))")
        }
    }
}
