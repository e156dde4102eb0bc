import Foundation

// The trained network a run starts from (`--init`): stimulative training and every baseline begin
// from its weights instead of a random initialisation. It can be
//
//   a directory written by `stp import` or `stp train`   its checkpoint, normalisation and key names
//   a PyTorch or safetensors file                        imported on the fly (ImportedNetwork)
//
// Only the weights and running statistics are taken, never an optimizer state: the new run has
// its own schedule. The input normalisation comes with the network (see Trainer).

public struct InitialNetwork: @unchecked Sendable {
    public enum Source: Sendable {
        case runDirectory(SafeTensorsFile)
        case imported(ImportedNetwork)
    }

    public let path: String
    public let modelName: String
    public let shortcut: ShortcutKind
    public let source: Source
    /// The normalisation the network was trained with (nil: nothing says; the caller chooses).
    public let normalization: Normalization?
    /// The key names the network came with, if it was imported.
    public let convention: KeyConvention?
    /// True when the network is a file that states no normalisation, so `normalization` is
    /// `assumedNormalization` rather than something the user or the file said.
    public var normalizationAssumed = false

    /// What the weights of an imported file assume when the file does not say: ImageNet's mean
    /// and std, which torchvision's models and the common CIFAR ResNet code bases use.
    public static let assumedNormalization = Normalization.imagenet

    public static func load(_ path: String) throws -> InitialNetwork {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw STPError.file(.checkpoint, path, "--init: no such file or directory; expected a PyTorch checkpoint, a safetensors file or a directory written by stp import or stp train")
        }
        if isDirectory.boolValue {
            let run = try RunDirectory.open(at: path)
            let (record, checkpoint) = try run.load()
            let normalization = try Trainer.normalization(of: record, path: run.recordPath)
            let convention = record.keyConvention
            let config = try record.configuration[Trainer.configKey].map { try TrainingConfig.fromJSON($0, source: run.recordPath) }
            let shortcut = config?.shortcut ?? record.model.options["shortcut"].flatMap(ShortcutKind.init(rawValue:)) ?? .zeroPad
            return InitialNetwork(path: path, modelName: record.model.name, shortcut: shortcut, source: .runDirectory(checkpoint),
                                  normalization: normalization, convention: convention)
        }
        let imported = try ImportedNetwork.read(path: path)
        return InitialNetwork(path: path, modelName: imported.spec.name, shortcut: imported.spec.shortcut, source: .imported(imported),
                              normalization: imported.normalization ?? assumedNormalization, convention: imported.convention,
                              normalizationAssumed: imported.normalization == nil)
    }

    /// Copies the weights and running statistics into `model`, which must be the same network
    /// (model, classes, input channels, widths).
    public func apply(to model: ResNet) throws {
        guard model.spec.name == modelName else {
            throw STPError.file(.checkpoint, path, "--init holds a \(modelName) but the run trains a \(model.spec.name); leave out --model or give --model \(modelName)")
        }
        switch source {
        case .runDirectory(let checkpoint):
            if let fc = checkpoint.tensors["fc.weight"], fc.shape != model.fc.weight.shape {
                throw STPError.file(.checkpoint, checkpoint.path, "--init: the network has \(fc.shape[0]) classes and \(fc.shape.last ?? 0) features, the run's data and model need \(model.fc.weight.shape[0]) and \(model.fc.weight.shape[1])")
            }
            try ModelState.load(model, optimizer: nil, from: checkpoint)
        case .imported(let imported):
            let from = imported.network
            guard from.spec.classes == model.spec.classes, from.spec.inputChannels == model.spec.inputChannels else {
                throw STPError.file(.checkpoint, path, "--init: the network has \(from.spec.classes) classes and \(from.spec.inputChannels) input channels, the run's data has \(model.spec.classes) and \(model.spec.inputChannels)")
            }
            guard from.spec.innerWidths == model.spec.innerWidths, from.spec.shortcut == model.spec.shortcut else {
                throw STPError.file(.checkpoint, path, "--init: the network's widths or shortcuts (\(from.spec.shortcut.rawValue)) differ from the run's \(model.spec.name) (\(model.spec.shortcut.rawValue))")
            }
            for (a, b) in zip(model.parameters, from.parameters) {
                guard a.name == b.name, a.shape == b.shape else {
                    throw STPError.file(.checkpoint, path, "--init: \(b.name) has shape \(b.shape) but the run's \(a.name) needs \(a.shape)")
                }
                a.pointer.update(from: b.pointer, count: a.count)
            }
            for (a, b) in zip(model.stateBuffers, from.stateBuffers) {
                a.value.pointer.update(from: b.value.pointer, count: a.value.count)
            }
        }
        for p in model.parameters { p.markChanged() }
    }

    /// One line for the log: what the run starts from.
    public var summary: String {
        let kind: String
        switch source {
        case .runDirectory: kind = "stp model directory"
        case .imported(let n): kind = "\(n.format), \(n.convention.rawValue) key names"
        }
        return "\(modelName) from \(path) (\(kind))"
    }
}
