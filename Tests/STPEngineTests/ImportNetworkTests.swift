import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

// Importing a trained network: key conventions map both ways, a network written under another
// code base's names comes back with the same weights and outputs, mismatches are reported in one
// error, the import writes a model directory that eval and --init read, and a run started from it
// begins with its weights and its normalisation.

/// A ResNet with random (seeded) weights and running statistics that are not the defaults.
private func randomNetwork(_ name: String, shortcut: ShortcutKind? = nil, inputSize: (Int, Int)? = nil, seed: UInt64 = 1) throws -> ResNet {
    let net = ResNet(spec: try ResNetSpec.named(name, inputSize: inputSize, shortcut: shortcut), seed: seed)
    var rng = SeededRandom(seed: seed &+ 100)
    for s in net.stateBuffers {
        for i in 0..<s.value.count {
            s.value.pointer[i] = s.name.hasSuffix("running_var") ? 0.5 + rng.nextFloat() : rng.nextGaussian() * 0.1
        }
    }
    for p in net.parameters where p.shape.count == 1 {
        for i in 0..<p.count { p.pointer[i] += rng.nextGaussian() * 0.1 }
    }
    return net
}

/// The network's tensors under `convention`'s names, as a state dict file would hold them.
private func stateDict(of net: ResNet, _ convention: KeyConvention, prefix: String = "", path: String = "test.pt") -> ImportedStateDict {
    let tensors = (net.parameters.map { ($0.name, $0.shape, $0.value.array) } + net.stateBuffers.map { ($0.name, $0.shape, $0.value.array) })
        .map { ImportedTensor(name: prefix + convention.externalName(of: $0.0, spec: net.spec), shape: $0.1, values: $0.2, dtype: "float32") }
    return ImportedStateDict(path: path, format: .torchLegacy, tensors: tensors, metadata: [:])
}

private func logits(_ net: ResNet, seed: UInt64 = 7) -> [Float] {
    let spec = net.spec
    var rng = SeededRandom(seed: seed)
    let input = (0..<(2 * spec.inputHeight * spec.inputWidth * spec.inputChannels)).map { _ in rng.nextGaussian() }
    return input.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: net.forward($0.baseAddress!, batch: 2, mode: .eval), count: 2 * spec.classes)) }
}

@Test func keyConventionsNameEveryTensorUniquely() throws {
    let cifar = try ResNetSpec.named("resnet20", shortcut: .projection)
    let net = ResNet(spec: cifar)
    let names = (net.parameters.map(\.name) + net.stateBuffers.map(\.name))
    for convention in KeyConvention.allCases {
        let external = names.map { convention.externalName(of: $0, spec: cifar) }
        #expect(Set(external).count == names.count, "\(convention)")
        #expect(KeyConvention.detect(Set(external)) == convention, "\(convention)")
    }
    #expect(KeyConvention.cifar.externalName(of: "blocks.3.shortcut.conv.weight", spec: cifar) == "layer2.0.shortcut.0.weight")
    #expect(KeyConvention.cifar.externalName(of: "blocks.8.bn2.running_var", spec: cifar) == "layer3.2.bn2.running_var")
    #expect(KeyConvention.cifar.externalName(of: "fc.bias", spec: cifar) == "linear.bias")
    #expect(KeyConvention.torchvision.externalName(of: "blocks.3.shortcut.bn.weight", spec: cifar) == "layer2.0.downsample.1.weight")
    #expect(KeyConvention.torchvision.externalName(of: "fc.weight", spec: cifar) == "fc.weight")
}

@Test(arguments: [("resnet20", KeyConvention.cifar, ShortcutKind.zeroPad), ("resnet32", .cifar, .projection),
                  ("resnet18", .torchvision, .projection), ("resnet50", .torchvision, .projection), ("resnet20", .torchvision, .zeroPad)])
func importedNetworkComputesWhatTheOriginalDoes(name: String, convention: KeyConvention, shortcut: ShortcutKind) throws {
    // 32x32 inputs keep the ImageNet-stem models fast; the weights do not depend on the size.
    let original = try randomNetwork(name, shortcut: shortcut, inputSize: (32, 32))
    let imported = try ImportedNetwork.match(stateDict(of: original, convention, prefix: "module."), inputSize: (32, 32))
    #expect(imported.spec.name == name)
    #expect(imported.spec.shortcut == shortcut)
    #expect(imported.convention == convention)
    for (a, b) in zip(imported.network.parameters, original.parameters) { #expect(a.value.array == b.value.array, "\(a.name)") }
    for (a, b) in zip(imported.network.stateBuffers, original.stateBuffers) { #expect(a.value.array == b.value.array, "\(a.name)") }
    #expect(logits(imported.network) == logits(original))
}

@Test func importIgnoresBatchCountersAndReadsTheNormalisationFromTheMetadata() throws {
    let original = try randomNetwork("resnet20")
    var dict = stateDict(of: original, .cifar)
    dict.tensors.append(ImportedTensor(name: "bn1.num_batches_tracked", shape: [], values: [7], dtype: "int64"))
    dict.metadata = ["best_prec1": "91.78", "mean": "[0.5, 0.5, 0.5]", "std": "[0.25, 0.25, 0.25]"]
    let imported = try ImportedNetwork.match(dict)
    #expect(imported.normalization == Normalization(mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]))
    #expect(imported.metadata["best_prec1"] == "91.78")
}

@Test func mismatchedKeysAreReportedTogether() throws {
    let original = try randomNetwork("resnet20")
    var dict = stateDict(of: original, .cifar)
    dict.tensors.removeAll { $0.name == "layer2.1.conv1.weight" }
    if let i = dict.tensors.firstIndex(where: { $0.name == "layer3.0.conv2.weight" }) {
        dict.tensors[i].shape = [64, 32, 3, 3]
    }
    dict.tensors.append(ImportedTensor(name: "layer4.0.conv1.weight", shape: [1], values: [0], dtype: "float32"))
    let message = errorText { _ = try ImportedNetwork.match(dict, model: "resnet20") }
    #expect(message.contains("test.pt"), "\(message)")
    #expect(message.contains("3 problems"), "\(message)")
    #expect(message.contains("missing layer2.1.conv1.weight (expected shape [32, 32, 3, 3])"), "\(message)")
    #expect(message.contains("layer3.0.conv2.weight: expected shape [64, 64, 3, 3], found [64, 32, 3, 3]"), "\(message)")
    #expect(message.contains("unexpected layer4.0.conv1.weight"), "\(message)")
}

@Test func theWrongModelNameListsWhatDiffers() throws {
    let dict = stateDict(of: try randomNetwork("resnet20"), .cifar)
    let message = errorText { _ = try ImportedNetwork.match(dict, model: "resnet32") }
    #expect(message.contains("missing layer1.3.conv1.weight"), "\(message)")
    let unknown = errorText { _ = try ImportedNetwork.match(dict, model: "resnet21") }
    #expect(unknown.contains("unknown model 'resnet21'"), "\(unknown)")
}

@Test func nonFiniteWeightsAndNegativeVariancesAreRefused() throws {
    var dict = stateDict(of: try randomNetwork("resnet20"), .cifar)
    let conv = dict.tensors.firstIndex { $0.name == "layer1.0.conv2.weight" }!
    dict.tensors[conv].values[5] = .nan
    let variance = dict.tensors.firstIndex { $0.name == "bn1.running_var" }!
    dict.tensors[variance].values[2] = -1
    let message = errorText { _ = try ImportedNetwork.match(dict) }
    #expect(message.contains("layer1.0.conv2.weight: element 5 is nan"), "\(message)")
    #expect(message.contains("bn1.running_var: element 2 is -1.0; a running variance cannot be negative"), "\(message)")
}

@Test func notAResNetSaysWhatWasExpected() throws {
    let dict = ImportedStateDict(path: "x.pt", format: .torchZip,
                                 tensors: [ImportedTensor(name: "encoder.weight", shape: [2], values: [1, 2], dtype: "float32")], metadata: [:])
    #expect(errorText { _ = try ImportedNetwork.match(dict) }.contains("x.pt: expected the state dict of a ResNet"))
    let odd = stateDict(of: ResNet(spec: ResNetSpec(name: "odd", block: .basic, stem: .cifar, blocksPerStage: [2, 2, 2],
                                                      stagePlanes: [16, 32, 64], stemWidth: 16, shortcut: .zeroPad,
                                                      inputChannels: 3, inputHeight: 32, inputWidth: 32, classes: 10)), .cifar)
    let message = errorText { _ = try ImportedNetwork.match(odd) }
    #expect(message.contains("stages of [2, 2, 2] basic blocks"), "\(message)")
    #expect(message.contains("none of stp's models"), "\(message)")
}

@Test func normalisationSpecs() throws {
    #expect(try Normalization.parse("imagenet") == .imagenet)
    #expect(try Normalization.parse("unit", channels: 1) == Normalization(mean: [0], std: [1]))
    #expect(try Normalization.parse("0.5/0.25") == Normalization(mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]))
    #expect(try Normalization.parse("0.1,0.2,0.3/1,2,3") == Normalization(mean: [0.1, 0.2, 0.3], std: [1, 2, 3]))
    #expect(errorText { _ = try Normalization.parse("0.1,0.2/1,2,3") }.contains("expected 1 or 3 mean values, found 2"))
    #expect(errorText { _ = try Normalization.parse("0.5/0") }.contains("must be positive"))
    #expect(errorText { _ = try Normalization.parse("imagenet", channels: 1) }.contains("has 3 channels but the images have 1"))
    #expect(errorText { _ = try Normalization.parse("cifar") }.contains("expected imagenet, cifar10, unit"))
}

@Test func importWritesAModelDirectoryThatEvalAndInitRead() throws {
    let dir = NSTemporaryDirectory() + "stp-import-\(UUID().uuidString.prefix(8))"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try AtomicFile.createDirectory(dir)
    let original = try randomNetwork("resnet20")
    // The file as a user brings it: cifar names, a module. prefix, stp's safetensors writer.
    let file = dir + "/resnet20.safetensors"
    try SafeTensorsFile.write(tensors: stateDict(of: original, .cifar, prefix: "module.").tensors.map {
        .float32($0.name, shape: $0.shape, $0.values) }, to: file)
    var options = ImportJobOptions(sourcePath: file, outputPath: dir + "/model")
    options.data = "builtin:seed=3,train=64,test=32"
    options.normalization = "0.5/0.2"
    let report = try ImportJob.run(options)
    #expect(report.model == "resnet20" && report.keyConvention == "cifar" && report.normalizationSource == "given")

    let eval = try EvalJob.run(EvalJobOptions(runPath: dir + "/model"))
    #expect(eval.result.count == 32)
    // Importing into the same directory again is refused, and the run cannot be "resumed".
    #expect(errorText { _ = try ImportJob.run(options) }.contains("already holds a run"))
    #expect(errorText { _ = try Trainer.resume(runPath: dir + "/model") }.contains("start a run from it with --init"))

    // A run started from it (--init DIR) begins with its weights and its normalisation, and
    // records both the origin and the key names (for exports).
    var config = TrainingConfig()
    config.model = "resnet20"
    config.data = "builtin:seed=3,train=64,test=32"
    config.epochs = 1
    config.batchSize = 32
    config.initialWeights = dir + "/model"
    let trainer = try Trainer(config: config, data: try DataSource(parsing: config.data).load(), runPath: dir + "/run")
    for (a, b) in zip(trainer.model.parameters, original.parameters) { #expect(a.value.array == b.value.array, "\(a.name)") }
    #expect(trainer.trainLoader.normalization == Normalization(mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]))
    #expect(trainer.record.configuration[Trainer.initialNetworkKey] == dir + "/model")
    #expect(trainer.record.configuration[ImportJob.conventionKey] == "cifar")

    // --init FILE imports on the fly; the file states no normalisation, so ImageNet's is assumed.
    config.initialWeights = file
    let direct = try Trainer(config: config, data: try DataSource(parsing: config.data).load(), runPath: nil)
    #expect(logits(direct.model) == logits(original))
    #expect(direct.trainLoader.normalization == .imagenet)

    // Another model than the initial network's is refused, naming both.
    config.initialWeights = dir + "/model"
    config.model = "resnet32"
    let wrongModel = errorText { _ = try Trainer(config: config, data: try DataSource(parsing: config.data).load(), runPath: nil) }
    #expect(wrongModel.contains("holds a resnet20 but the run trains a resnet32"), "\(wrongModel)")
}

// PyTorch's own logits for the shared trained models (../shared/models/cifar-resnet): the
// imported networks must compute them, including the option A shortcut that pads zeros on both
// sides of the channel axis. The test is skipped, visibly, only when the files are absent.
private let sharedModels = SharedFiles.directory + "/models/cifar-resnet"
private let referenceFile = sharedModels + "/reference_logits.safetensors"

@Test(.enabled(if: SharedFiles.available(referenceFile), "needs ../shared/models/cifar-resnet"),
      arguments: [("resnet20", "resnet20-12fca82f.th"), ("resnet56", "resnet56-4bfd9763.th")])
func importedSharedModelsGivePyTorchsLogits(model: String, file: String) throws {
    let reference = try SafeTensorsFile.read(path: referenceFile)
    let imported = try ImportedNetwork.read(path: sharedModels + "/" + file)
    #expect(imported.spec.name == model)
    #expect(imported.format == ImportedStateDict.Format.torchLegacy.rawValue)
    #expect(imported.convention == .cifar)
    // Raw 0...255 values (stored as float32 despite the name).
    let (shape, pixels) = try reference.floats("images_u8")
    #expect(shape == [16, 3, 32, 32])
    let expected = try reference.floats("logits_" + model, expectingShape: [16, 10]).values
    #expect(pixels.count == 16 * 3 * 32 * 32)
    let nhwc = try sharedReferenceImages(reference)
    let actual = nhwc.withUnsafeBufferPointer {
        Array(UnsafeBufferPointer(start: imported.network.forward($0.baseAddress!, batch: 16, mode: .eval), count: 160))
    }
    var worst: Float = 0
    for (a, e) in zip(actual, expected) { worst = max(worst, abs(a - e) / max(abs(e), 1)) }
    #expect(worst < 1e-4, "\(model): largest relative difference from PyTorch's logits \(worst)")
}

@Test func anStpCheckpointImportsWithoutItsOptimizerState() throws {
    let original = try randomNetwork("resnet20")
    let sgd = SGD(parameters: original.parameters, options: SGDOptions())
    let tensors = ModelState.tensors(of: original, optimizer: sgd).map {
        ImportedTensor(name: $0.name, shape: $0.shape, values: $0.bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }, dtype: "float32")
    }
    let dict = ImportedStateDict(path: "checkpoint.safetensors", format: .safetensors, tensors: tensors, metadata: ["model": "resnet20"])
    let imported = try ImportedNetwork.match(dict)
    #expect(imported.convention == .stp)
    #expect(logits(imported.network) == logits(original))
    // Without the model's name, stp's block numbering does not say where stages begin.
    var unnamed = dict
    unnamed.metadata = [:]
    #expect(errorText { _ = try ImportedNetwork.match(unnamed) }.contains("give --model"))
}
