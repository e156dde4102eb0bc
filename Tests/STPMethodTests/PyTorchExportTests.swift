import Foundation
import Testing
@testable import STPEngine
@testable import STPMethod

// An extracted network is given back to PyTorch users: pytorch.safetensors holds the same tensors
// as model.safetensors under the key names of the network they brought, and
// scripts/load_pruned.py builds a torch.nn.Module from architecture.json that computes stp's
// logits. The PyTorch half needs python3 with torch (and numpy); without them it is reported as
// skipped, never passed.

private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
private let loadScript = repository + "/scripts/load_pruned.py"

private func python(_ arguments: [String]) -> (status: Int32, output: String)? {
    guard let interpreter = ONNXExportJob.findExecutable("python3") else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: interpreter)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    guard (try? process.run()) != nil else { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

private let torchAvailable: Bool = python(["-c", "import torch, numpy"])?.status == 0

private let cases: [(ResNetSpec, KeyConvention)] = [
    (tinyBasicSpec(.zeroPad), .cifar), (tinyBasicSpec(.projection), .stp),
    (tinyBottleneckSpec(.projection, stem: .imagenet), .torchvision), (tinyBasicSpec(.projection), .cifar),
]

/// An extracted network of `spec` (a pruned architecture) saved with `convention`'s names.
private func savedExtraction(_ spec: ResNetSpec, _ convention: KeyConvention) throws -> (ExtractedModel, String) {
    let supernet = ResNet(spec: spec, seed: 31)
    randomizeNormalization(supernet, seed: 32)
    var rng = SeededRandom(seed: 33)
    let architecture = space(spec).randomArchitecture(using: &rng)
    let extracted = try ExtractedModel(supernet: supernet, architecture: architecture, source: "test")
    let dir = NSTemporaryDirectory() + "stp-pytorch-export-\(UUID().uuidString.prefix(8))"
    try extracted.save(to: dir, normalization: .imagenet, convention: convention)
    return (extracted, dir)
}

@Test(arguments: cases.indices)
func pytorchWeightsAreTheSameTensorsUnderTheUsersNames(index: Int) throws {
    let (spec, convention) = cases[index]
    let (extracted, dir) = try savedExtraction(spec, convention)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let stp = try SafeTensorsFile.read(path: dir + "/" + ExtractedModel.weightsFile)
    let torch = try SafeTensorsFile.read(path: dir + "/" + ExtractedModel.pytorchWeightsFile)
    #expect(torch.names.count == stp.names.count)
    #expect(torch.metadata["key_convention"] == convention.rawValue)
    for name in stp.names {
        let external = convention.externalName(of: name, spec: extracted.spec)
        #expect(try torch.floats(external).values == stp.floats(name).values, "\(name) -> \(external)")
    }
    let reloaded = try ExtractedModel.load(from: dir)
    #expect(reloaded.info.pytorchKeys == convention)
    #expect(reloaded.info.normalization == .imagenet)
}

@Test(.enabled(if: torchAvailable, "python3 cannot import torch and numpy (pip install torch numpy); load_pruned.py is not checked"),
      arguments: cases.indices)
func loadPrunedBuildsAModuleThatComputesStpsLogits(index: Int) throws {
    let (spec, convention) = cases[index]
    let (extracted, dir) = try savedExtraction(spec, convention)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let batch = 3
    let input = ONNXExportJob.checkInput(extracted.spec, batch: batch, seed: 5)
    let logits = ONNXExportJob.evalLogits(extracted.network, nchw: input, batch: batch)
    let s = extracted.spec
    try NumpyFile.writeFloat32(input, shape: [batch, s.inputChannels, s.inputHeight, s.inputWidth], to: dir + "/input.npy")
    try NumpyFile.writeFloat32(logits, shape: [batch, s.classes], to: dir + "/logits.npy")
    let result = try #require(python([loadScript, dir, "--input", dir + "/input.npy", "--expect-logits", dir + "/logits.npy"]))
    #expect(result.status == 0, "\(spec.name) \(convention): \(result.output)")
    #expect(result.output.contains("max |PyTorch - stp|"), "\(result.output)")
}
