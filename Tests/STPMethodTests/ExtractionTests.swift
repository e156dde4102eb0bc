import Foundation
import STPTestSupport
import Testing
@testable import STPEngine
@testable import STPMethod

// An extracted network computes exactly what the supernet computes for that architecture, and
// survives a save/load round trip.

private func architectures(_ s: ArchitectureSpace, seed: UInt64) -> [Architecture] {
    var rng = SeededRandom(seed: seed)
    return [s.smallest, Architecture.full(s.spec)] + (0..<6).map { _ in s.randomArchitecture(using: &rng) }
}

@Test(arguments: [
    tinyBasicSpec(.zeroPad), tinyBasicSpec(.projection), tinyBottleneckSpec(.projection), tinyBottleneckSpec(.zeroPad),
])
func extractedNetworkMatchesTheSupernetSubnet(spec: ResNetSpec) throws {
    let supernet = ResNet(spec: spec, seed: 21)
    randomizeNormalization(supernet, seed: 22)
    let batch = 3
    let input = gaussians(batch * spec.inputHeight * spec.inputWidth * spec.inputChannels, seed: 23)
    for a in architectures(space(spec), seed: 24) {
        let expected = evalLogits(supernet, input, batch: batch, subnet: try a.subnet(for: spec))
        let extracted = try Extraction.extract(from: supernet, architecture: a)
        #expect(extracted.spec.blocksPerStage == a.depths)
        #expect(extracted.spec.innerWidths == a.widths.flatMap { $0 })
        #expect(extracted.spec.name == spec.name + "-pruned")
        expectClose(evalLogits(extracted, input, batch: batch), expected, relative: 1e-5, absolute: 1e-8, scale: .largest,
                    "\(spec.name) \(spec.shortcut) \(a)")
    }
    // A smaller architecture really gives different logits (the check is not vacuous).
    let full = evalLogits(supernet, input, batch: batch)
    let small = evalLogits(supernet, input, batch: batch, subnet: try space(spec).smallest.subnet(for: spec))
    #expect(zip(full, small).contains { abs($0 - $1) > 1e-3 })
}

@Test func extractionCopiesTheLeadingChannels() throws {
    let spec = tinyBasicSpec(.projection)
    let supernet = ResNet(spec: spec, seed: 1)
    let a = try Architecture(parsing: "w=3|2|5,1")
    let net = try Extraction.extract(from: supernet, architecture: a)
    func tensor(_ m: ResNet, _ name: String) -> Parameter { m.parameters.first { $0.name == name }! }
    // Extracted block 2 is the supernet's block 2 (stage 2); block 4 is the supernet's block 4.
    #expect(Extraction.blockMapping(of: spec, architecture: a) == [0, 2, 3, 4])
    let w = tensor(net, "blocks.1.conv1.weight"), sw = tensor(supernet, "blocks.2.conv1.weight")
    #expect(w.shape == [2, 4, 3, 3] && sw.shape == [6, 4, 3, 3])
    #expect(w.value.array == Array(sw.value.array[0..<(2 * 4 * 9)]))
    let next = tensor(net, "blocks.1.conv2.weight"), snext = tensor(supernet, "blocks.2.conv2.weight")
    #expect(next.shape == [6, 2, 3, 3])
    for o in 0..<6 { for i in 0..<2 { for k in 0..<9 { #expect(next.pointer[(o * 2 + i) * 9 + k] == snext.pointer[(o * 6 + i) * 9 + k]) } } }
    #expect(tensor(net, "blocks.1.shortcut.conv.weight").value.array == tensor(supernet, "blocks.2.shortcut.conv.weight").value.array)
    #expect(tensor(net, "fc.weight").value.array == tensor(supernet, "fc.weight").value.array)
}

@Test func extractionRejectsArchitecturesThatDoNotFit() {
    let supernet = ResNet(spec: tinyBasicSpec())
    let message = errorMessage { _ = try Extraction.extract(from: supernet, architecture: try Architecture(parsing: "w=4|7|8")) }
    #expect(message?.contains("stage 2 block 1 has width 7 but the block is only 6 wide") == true, "\(message ?? "")")
}

@Test(arguments: [ShortcutKind.zeroPad, .projection])
func savedExtractedModelRebuildsIdentically(shortcut: ShortcutKind) throws {
    let spec = tinyBasicSpec(shortcut)
    let supernet = ResNet(spec: spec, seed: 5)
    randomizeNormalization(supernet, seed: 6)
    let a = try Architecture(parsing: "d=1,1,2 w=3|4|6,2")
    let model = try ExtractedModel(supernet: supernet, architecture: a, source: "runs/test/checkpoint.safetensors")
    let dir = temporaryDirectory("extract") + "/nested/out"
    defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
    try model.save(to: dir)

    let loaded = try ExtractedModel.load(from: dir)
    // Saving records the PyTorch key names (the CIFAR code bases' for a CIFAR stem by default).
    var expected = model.info
    expected.pytorchKeys = .cifar
    #expect(loaded.info == expected)
    #expect(loaded.architecture == a)
    #expect(loaded.info.source == "runs/test/checkpoint.safetensors")
    #expect(loaded.info.macs == space(spec).cost.macs(of: a))
    #expect(loaded.info.parameters == loaded.network.parameterCount)
    let input = gaussians(2 * 8 * 8 * 3, seed: 7)
    #expect(evalLogits(loaded.network, input, batch: 2) == evalLogits(model.network, input, batch: 2))

    // The weights file is a plain checkpoint of the extracted network.
    let file = try SafeTensorsFile.read(path: dir + "/model.safetensors")
    #expect(file.metadata["architecture"] == a.text)
    #expect(try file.floats("blocks.3.conv1.weight").shape == [2, 8, 3, 3])
    let json = try String(contentsOfFile: dir + "/architecture.json", encoding: .utf8)
    #expect(json.contains("\"architectureText\" : \"d=1,1,2 w=3|4|6,2\""))
}

@Test func loadingNamesTheFileAndTheProblem() throws {
    let dir = temporaryDirectory("bad")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let missing = errorMessage { _ = try ExtractedModel.load(from: dir) }
    #expect(missing?.contains("architecture.json: cannot open") == true && missing?.contains("no such file") == true, "\(missing ?? "")")

    let model = try ExtractedModel(supernet: ResNet(spec: tinyBasicSpec()), architecture: try Architecture(parsing: "w=2|2|2"), source: "x")
    try model.save(to: dir)
    var info = model.info
    info.spec.blockInnerWidths = [2, 2, 3]
    let encoded = try JSONEncoder().encode(info)
    try encoded.write(to: URL(fileURLWithPath: dir + "/architecture.json"))
    let mismatch = errorMessage { _ = try ExtractedModel.load(from: dir) }
    #expect(mismatch?.contains("architecture.json: the spec does not match the architecture d=1,1,1 w=2|2|2") == true, "\(mismatch ?? "")")

    try model.save(to: dir)
    try FileManager.default.removeItem(atPath: dir + "/model.safetensors")
    let weights = errorMessage { _ = try ExtractedModel.load(from: dir) }
    #expect(weights?.contains("model.safetensors") == true, "\(weights ?? "")")
}
