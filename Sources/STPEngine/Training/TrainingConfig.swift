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

    public init() {}

    public func validate() throws {
        guard epochs >= 1 else { throw STPError(.argument, "--epochs must be at least 1 (got \(epochs))") }
        guard batchSize >= 2 else { throw STPError(.argument, "--batch must be at least 2 for batch statistics (got \(batchSize))") }
        guard schedule.base > 0, schedule.base.isFinite else { throw STPError(.argument, "--lr must be a positive number (got \(schedule.base))") }
        guard (0..<1).contains(labelSmoothing) else { throw STPError(.argument, "--label-smoothing must be in [0, 1) (got \(labelSmoothing))") }
        guard optimizer.weightDecay >= 0, (0..<1).contains(optimizer.momentum) else {
            throw STPError(.argument, "--momentum must be in [0, 1) and --weight-decay non-negative")
        }
    }

    public func modelSpec(for data: ImageDataset) throws -> ResNetSpec {
        var spec = try ResNetSpec.named(model, inputChannels: data.channels, classes: data.classCount,
                                        inputSize: (data.height, data.width), shortcut: shortcut)
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
