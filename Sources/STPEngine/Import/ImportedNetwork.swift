// A trained PyTorch ResNet turned into an stp network: the state dict read by PyTorchCheckpoint,
// its key convention detected (KeyConvention), its shape inferred from the tensors (stages,
// blocks, planes, stem, shortcut, classes), matched to one of stp's models, and every weight and
// running statistic copied under stp's name.
//
// Either everything matches or nothing is loaded: missing, unexpected and mis-shaped keys are
// collected and reported in one error, each with its name, the shape stp expects and the shape
// found. `module.` prefixes (DataParallel) are dropped; `num_batches_tracked` is ignored (stp's
// batch norm uses a fixed momentum), and so is the optimizer state of an stp checkpoint. Non-finite weights and negative running variances are
// refused: such a network cannot compute anything meaningful, and evaluating it would only hide that.

import Foundation

public struct ImportedNetwork: @unchecked Sendable {
    public let sourcePath: String
    public let format: String
    /// The key names the file used (exports give the pruned network back under the same names).
    public let convention: KeyConvention
    public let network: ResNet
    /// The normalisation the checkpoint states (nil: it says nothing).
    public let normalization: Normalization?
    /// Scalars stored next to the state dict (e.g. best_prec1) or the safetensors metadata.
    public let metadata: [String: String]

    public var spec: ResNetSpec { network.spec }

    /// Reads `path` (torch.save zip or legacy format, or safetensors) and matches it to a ResNet:
    /// `model` names the stp model it must be (nil: inferred from the tensors); `inputSize`
    /// defaults to 32x32 for the CIFAR stem and 224x224 for the ImageNet stem.
    public static func read(path: String, model: String? = nil, inputSize: (height: Int, width: Int)? = nil) throws -> ImportedNetwork {
        try match(try PyTorchCheckpoint.read(path: path), model: model, inputSize: inputSize)
    }

    public static func match(_ dict: ImportedStateDict, model: String? = nil,
                             inputSize: (height: Int, width: Int)? = nil) throws -> ImportedNetwork {
        let path = dict.path
        var tensors = [String: ImportedTensor]()
        for t in dict.tensors {
            let name = t.name.hasPrefix("module.") ? String(t.name.dropFirst("module.".count)) : t.name
            // Batch counters and an stp checkpoint's optimizer state are not part of the network.
            if name.hasSuffix("num_batches_tracked") || name.hasPrefix(ModelState.velocityPrefix) { continue }
            guard tensors[name] == nil else {
                throw STPError.file(.checkpoint, path, "holds tensor \(name) twice (once with a module. prefix)")
            }
            tensors[name] = t
        }
        guard !tensors.isEmpty else {
            throw STPError.file(.checkpoint, path, "expected a state dict of tensors, but the file holds none")
        }
        guard let convention = KeyConvention.detect(Set(tensors.keys)) else {
            let sample = tensors.keys.sorted().prefix(6).joined(separator: ", ")
            throw STPError.file(.checkpoint, path,
                                "expected the state dict of a ResNet (keys like layer1.0.conv1.weight with linear.* or fc.*, or stp's blocks.0.conv1.weight), found \(sample)\(tensors.count > 6 ? ", ..." : "")")
        }
        let modelName = model ?? (convention == .stp ? dict.metadata[RunDirectory.modelKey] : nil)
        let spec = try inferSpec(tensors.mapValues(\.shape), convention: convention, model: modelName,
                                 inputSize: inputSize, path: path)
        let network = ResNet(spec: spec)
        try copy(tensors, into: network, convention: convention, path: path)
        return ImportedNetwork(sourcePath: path, format: dict.format.rawValue, convention: convention, network: network,
                               normalization: Normalization.fromMetadata(dict.metadata, channels: spec.inputChannels),
                               metadata: dict.metadata)
    }

    /// The spec the tensors describe. With `model`, that model with the file's input channels,
    /// classes and shortcut kind (the key check then reports any disagreement); without it, the
    /// stp model whose stages, planes, stem and blocks the tensors have.
    static func inferSpec(_ shapes: [String: [Int]], convention: KeyConvention, model: String?,
                          inputSize: (height: Int, width: Int)?, path: String) throws -> ResNetSpec {
        let stem = shapes["conv1.weight"]
        let classifier = shapes[convention == .cifar ? "linear.weight" : "fc.weight"]
        let channels = stem.flatMap { $0.count == 4 ? $0[1] : nil } ?? 3
        let classes = classifier.flatMap { $0.count == 2 ? $0[0] : nil } ?? 10
        let projection = shapes.keys.contains { $0.contains(".shortcut.0.") || $0.contains(".downsample.0.") || $0.contains(".shortcut.conv.") }
        let imagenetStem = stem.map { $0.count == 4 && $0[2] == 7 } ?? false
        let size = inputSize ?? (imagenetStem ? (224, 224) : (32, 32))
        let shortcut: ShortcutKind = projection ? .projection : .zeroPad
        if let model {
            var spec = try ResNetSpec.named(model, inputChannels: channels, classes: classes, inputSize: size, shortcut: shortcut)
            spec.name = model.lowercased()
            return spec
        }
        guard convention != .stp else {
            throw STPError.file(.checkpoint, path, "uses stp's tensor names but does not say which model it is; give --model")
        }
        guard let stem, stem.count == 4, stem[2] == stem[3], stem[2] == 3 || stem[2] == 7 else {
            throw STPError.file(.checkpoint, path, "conv1.weight has shape \(shapes["conv1.weight"].map { "\($0)" } ?? "none"); expected [out, in, 3, 3] (CIFAR stem) or [out, in, 7, 7] (ImageNet stem)")
        }
        var blocks = [Int](), planes = [Int]()
        while shapes["layer\(blocks.count + 1).0.conv1.weight"] != nil {
            let s = blocks.count + 1
            var n = 0
            while shapes["layer\(s).\(n).conv1.weight"] != nil { n += 1 }
            blocks.append(n)
            planes.append(shapes["layer\(s).0.conv1.weight"]![0])
        }
        let bottleneck = shapes["layer1.0.conv3.weight"] != nil
        let found = "stages of \(blocks) \(bottleneck ? "bottleneck" : "basic") blocks with \(planes) planes, a \(stem[2])x\(stem[2]) stem of \(stem[0]) channels"
        for name in ResNetSpec.knownNames {
            guard var spec = try? ResNetSpec.named(name, inputChannels: channels, classes: classes, inputSize: size, shortcut: shortcut)
            else { continue }
            if spec.blocksPerStage == blocks, spec.stagePlanes == planes, spec.stemWidth == stem[0],
               spec.block == (bottleneck ? .bottleneck : .basic), spec.stem == (imagenetStem ? .imagenet : .cifar) {
                spec.name = name
                return spec
            }
        }
        throw STPError.file(.checkpoint, path, "holds a ResNet with \(found), which is none of stp's models (\(ResNetSpec.knownNames.joined(separator: ", "))); give --model to see which keys differ")
    }

    /// Copies every parameter and running statistic of `network` from `tensors`, or throws one
    /// error listing every missing, mis-shaped, unexpected and invalid tensor.
    static func copy(_ tensors: [String: ImportedTensor], into network: ResNet, convention: KeyConvention, path: String) throws {
        var problems = [String]()
        var used = Set<String>()
        let targets = network.parameters.map { ($0.name, $0.shape, $0.value) }
            + network.stateBuffers.map { ($0.name, $0.shape, $0.value) }
        for (name, shape, value) in targets {
            let external = convention.externalName(of: name, spec: network.spec)
            guard let t = tensors[external] else {
                problems.append("missing \(external) (expected shape \(shape))")
                continue
            }
            used.insert(external)
            guard t.shape == shape else {
                problems.append("\(external): expected shape \(shape), found \(t.shape)")
                continue
            }
            if let bad = t.values.firstIndex(where: { !$0.isFinite }) {
                problems.append("\(external): element \(bad) is \(t.values[bad]); weights must be finite")
                continue
            }
            if name.hasSuffix("running_var"), let bad = t.values.firstIndex(where: { $0 < 0 }) {
                problems.append("\(external): element \(bad) is \(t.values[bad]); a running variance cannot be negative")
                continue
            }
            value.pointer.update(from: t.values, count: t.values.count)
        }
        for name in tensors.keys.sorted() where !used.contains(name) {
            problems.append("unexpected \(name) (shape \(tensors[name]!.shape))")
        }
        guard problems.isEmpty else {
            let list = problems.prefix(40).map { "  " + $0 }.joined(separator: "\n")
            let more = problems.count > 40 ? "\n  ... and \(problems.count - 40) more" : ""
            throw STPError.file(.checkpoint, path,
                                "does not match \(network.spec.name) (\(convention.rawValue) key names), \(problems.count) problem\(problems.count == 1 ? "" : "s"):\n\(list)\(more)")
        }
        for p in network.parameters { p.markChanged() }
    }
}
