import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

// ONNX export of ResNets: the file is parsed back by a small protobuf decoder (node op types in
// order, initializer names and shapes, graph input and output), and, when python3 can import
// onnxruntime, scripts/check_onnx.py compares onnxruntime's logits with stp's eval-mode logits.

// MARK: A minimal protobuf decoder

private struct ProtoField {
    var number: Int
    var varint: UInt64 = 0
    var bytes: [UInt8] = []
    var string: String { String(decoding: bytes, as: UTF8.self) }
}

private func decodeMessage(_ data: [UInt8]) -> [ProtoField] {
    var fields = [ProtoField]()
    var i = 0
    func varint() -> UInt64 {
        var result: UInt64 = 0, shift: UInt64 = 0
        while true {
            let b = data[i]; i += 1
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }
    while i < data.count {
        let key = varint()
        var f = ProtoField(number: Int(key >> 3))
        switch key & 7 {
        case 0: f.varint = varint()
        case 1: f.bytes = Array(data[i..<i + 8]); i += 8
        case 2:
            let n = Int(varint())
            f.bytes = Array(data[i..<i + n]); i += n
        case 5: f.bytes = Array(data[i..<i + 4]); i += 4
        default: Issue.record("unexpected wire type \(key & 7)"); return fields
        }
        fields.append(f)
    }
    return fields
}

private extension Array where Element == ProtoField {
    func all(_ n: Int) -> [ProtoField] { filter { $0.number == n } }
    func first(_ n: Int) -> ProtoField? { first { $0.number == n } }
    func string(_ n: Int) -> String? { first(n)?.string }
    func int(_ n: Int) -> Int64? { first(n).map { Int64(bitPattern: $0.varint) } }
    /// A repeated int64, packed or not.
    func ints(_ n: Int) -> [Int64] {
        all(n).flatMap { f -> [Int64] in
            if f.bytes.isEmpty { return [Int64(bitPattern: f.varint)] }
            var out = [Int64](), i = 0, v: UInt64 = 0, shift: UInt64 = 0
            while i < f.bytes.count {
                let b = f.bytes[i]; i += 1
                v |= UInt64(b & 0x7F) << shift; shift += 7
                if b < 0x80 { out.append(Int64(bitPattern: v)); v = 0; shift = 0 }
            }
            return out
        }
    }
}

private struct DecodedNode { var name, op: String; var inputs, outputs: [String]; var ints: [String: [Int64]]; var strings: [String: String] }
private struct DecodedTensor { var name: String; var dims: [Int]; var type: Int64; var raw: [UInt8] }
private struct DecodedModel {
    var irVersion: Int64, producer: String, opsets: [(String, Int64)]
    var nodes: [DecodedNode], initializers: [DecodedTensor]
    var inputs: [(String, [String])], outputs: [(String, [String])]
    var metadata: [String: String]
    var ops: [String] { nodes.map(\.op) }
    func tensor(_ name: String) -> DecodedTensor? { initializers.first { $0.name == name } }
    func floats(_ name: String) -> [Float] {
        let raw = tensor(name)!.raw
        return stride(from: 0, to: raw.count, by: 4).map { p in
            Float(bitPattern: UInt32(raw[p]) | UInt32(raw[p + 1]) << 8 | UInt32(raw[p + 2]) << 16 | UInt32(raw[p + 3]) << 24)
        }
    }
}

private func decodeModel(_ bytes: [UInt8]) -> DecodedModel {
    let model = decodeMessage(bytes)
    let graph = decodeMessage(model.first(7)?.bytes ?? [])
    let nodes = graph.all(1).map { f -> DecodedNode in
        let n = decodeMessage(f.bytes)
        var ints = [String: [Int64]](), strings = [String: String]()
        for a in n.all(5).map({ decodeMessage($0.bytes) }) {
            let name = a.string(1)!
            switch a.int(20) {
            case 2: ints[name] = [a.int(3)!]
            case 7: ints[name] = a.ints(8)
            case 3: strings[name] = a.string(4)
            default: break
            }
        }
        return DecodedNode(name: n.string(3) ?? "", op: n.string(4) ?? "", inputs: n.all(1).map(\.string),
                           outputs: n.all(2).map(\.string), ints: ints, strings: strings)
    }
    let initializers = graph.all(5).map { f -> DecodedTensor in
        let t = decodeMessage(f.bytes)
        return DecodedTensor(name: t.string(8) ?? "", dims: t.ints(1).map(Int.init), type: t.int(2) ?? 0, raw: t.first(9)?.bytes ?? [])
    }
    func valueInfo(_ f: ProtoField) -> (String, [String]) {
        let v = decodeMessage(f.bytes)
        let tensorType = decodeMessage(decodeMessage(v.first(2)!.bytes).first(1)!.bytes)
        #expect(tensorType.int(1) == 1)
        let dims = decodeMessage(tensorType.first(2)!.bytes).all(1).map { d -> String in
            let dim = decodeMessage(d.bytes)
            return dim.string(2) ?? String(dim.int(1)!)
        }
        return (v.string(1)!, dims)
    }
    var metadata = [String: String]()
    for e in model.all(14).map({ decodeMessage($0.bytes) }) { metadata[e.string(1)!] = e.string(2) }
    return DecodedModel(irVersion: model.int(1) ?? 0, producer: model.string(2) ?? "",
                        opsets: model.all(8).map { let o = decodeMessage($0.bytes); return (o.string(1) ?? "", o.int(2) ?? 0) },
                        nodes: nodes, initializers: initializers,
                        inputs: graph.all(11).map(valueInfo), outputs: graph.all(12).map(valueInfo), metadata: metadata)
}

// MARK: Models

private func spec(_ block: BlockKind = .basic, stem: StemKind = .cifar, shortcut: ShortcutKind = .zeroPad,
                  planes: [Int] = [4, 7], inner: [Int]? = nil) -> ResNetSpec {
    var s = ResNetSpec(name: "tiny", block: block, stem: stem, blocksPerStage: [2, 2], stagePlanes: planes,
                       stemWidth: 4, shortcut: shortcut, inputChannels: 3,
                       inputHeight: stem == .cifar ? 9 : 19, inputWidth: stem == .cifar ? 7 : 16, classes: 5)
    s.blockInnerWidths = inner
    return s
}

/// A network with random weights and non-trivial BN affine parameters and running statistics.
private func network(_ spec: ResNetSpec, seed: UInt64 = 1) throws -> ResNet {
    try spec.validate()
    let net = ResNet(spec: spec, seed: seed)
    var rng = SeededRandom(seed: seed &+ 100)
    for p in net.parameters where p.shape.count == 1 {
        for i in 0..<p.count {
            p.pointer[i] = p.name.hasSuffix(".weight") ? 0.5 + rng.nextFloat() : 0.3 * rng.nextGaussian()
        }
    }
    for s in net.stateBuffers {
        for i in 0..<s.value.count {
            s.value.pointer[i] = s.name.hasSuffix("running_var") ? 0.4 + 1.6 * rng.nextFloat() : 0.4 * rng.nextGaussian()
        }
    }
    return net
}

private let basicBlock = ["Conv", "Relu", "Conv", "Add", "Relu"]

@Test func exportedTinyResNetParsesBack() throws {
    let net = try network(spec())
    let m = decodeModel(ONNXExport.model(of: net).serialized())
    #expect(m.irVersion == 8)
    #expect(m.producer == "stp")
    #expect(m.opsets.count == 1 && m.opsets[0].0 == "" && m.opsets[0].1 == 13)
    #expect(m.inputs.count == 1 && m.inputs[0].0 == "input" && m.inputs[0].1 == ["N", "3", "9", "7"])
    #expect(m.outputs.count == 1 && m.outputs[0].0 == "logits" && m.outputs[0].1 == ["N", "5"])
    let downsample = ["Conv", "Relu", "Conv", "Slice", "Pad", "Add", "Relu"]
    #expect(m.ops == ["Conv", "Relu"] + basicBlock + basicBlock + downsample + basicBlock + ["GlobalAveragePool", "Flatten", "Gemm"])
    #expect(m.nodes.first!.inputs == ["input", "conv1.weight", "conv1.bias"])
    #expect(m.nodes.last!.name == "fc" && m.nodes.last!.outputs == ["logits"] && m.nodes.last!.ints["transB"] == [1])
    // Every node input is the graph input, an initializer or an earlier node's output.
    var known = Set(["input"] + m.initializers.map(\.name))
    for n in m.nodes {
        for i in n.inputs { #expect(known.contains(i), "\(n.name) reads \(i) before it exists") }
        known.formUnion(n.outputs)
    }
    // Folded BN: conv weights and a bias per conv, no BN tensors.
    #expect(m.tensor("conv1.weight")?.dims == [4, 3, 3, 3])
    #expect(m.tensor("conv1.bias")?.dims == [4])
    #expect(m.tensor("blocks.2.conv1.weight")?.dims == [7, 4, 3, 3])
    #expect(m.tensor("blocks.2.conv2.weight")?.dims == [7, 7, 3, 3])
    #expect(m.tensor("fc.weight")?.dims == [5, 7])
    #expect(m.tensor("fc.bias")?.dims == [5])
    #expect(!m.initializers.contains { $0.name.contains("running") })
    let conv = m.nodes.first { $0.name == "blocks.2.conv1" }!
    #expect(conv.op == "Conv" && conv.ints["strides"] == [2, 2] && conv.ints["pads"] == [1, 1, 1, 1] && conv.ints["kernel_shape"] == [3, 3])
    // The zero-pad shortcut: every 2nd pixel of H and W, then 4 -> 7 channels as 1 below and 2 above.
    let slice = m.nodes.first { $0.op == "Slice" }!
    #expect(slice.name == "blocks.2.shortcut.slice" && slice.inputs[0] == "blocks.1.relu")
    #expect(m.tensor("blocks.2.shortcut.slice.axes")?.type == 7)
    let pad = m.nodes.first { $0.op == "Pad" }!
    #expect(pad.strings["mode"] == "constant")
    let pads = m.tensor(pad.inputs[1])!
    #expect(pads.dims == [8] && pads.type == 7)
    #expect(pads.raw.count == 64 && pads.raw[8] == 1 && pads.raw[40] == 2)
    #expect(m.nodes.first { $0.name == "blocks.2.add" }!.inputs == ["blocks.2.conv2", "blocks.2.shortcut.pad"])
    // The folded weights are W * gamma / sqrt(var + eps), the bias beta - mean * that.
    let gamma = net.stemBN.gamma.value.array, beta = net.stemBN.beta.value.array
    let mean = net.stemBN.runningMean.value.array, variance = net.stemBN.runningVar.value.array
    let w = net.stemConv.weight.value.array
    let folded = m.floats("conv1.weight"), bias = m.floats("conv1.bias")
    for o in 0..<4 {
        let s = gamma[o] / (variance[o] + 1e-5).squareRoot()
        #expect(abs(folded[o * 27 + 5] - w[o * 27 + 5] * s) < 1e-6)
        #expect(abs(bias[o] - (beta[o] - mean[o] * s)) < 1e-6)
    }
    #expect(m.metadata[ONNXExport.specMetadataKey]?.contains("\"stagePlanes\":[4,7]") == true)
}

@Test func unfoldedExportKeepsBatchNormWithCheckpointTensors() throws {
    let net = try network(spec(shortcut: .projection))
    let m = decodeModel(ONNXExport.model(of: net, options: ONNXExportOptions(foldBatchNorm: false)).serialized())
    let unit = ["Conv", "BatchNormalization"]
    let block = unit + ["Relu"] + unit + ["Add", "Relu"]
    let projection = unit + ["Relu"] + unit + unit + ["Add", "Relu"]
    #expect(m.ops == unit + ["Relu"] + block + block + projection + block + ["GlobalAveragePool", "Flatten", "Gemm"])
    let bn = m.nodes.first { $0.name == "bn1" }!
    #expect(bn.inputs == ["conv1", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"])
    #expect(m.nodes.first!.inputs == ["input", "conv1.weight"])
    // Every parameter and running statistic of the network is an initializer of the same shape and value.
    for p in net.parameters { #expect(m.tensor(p.name)?.dims == p.shape, "\(p.name)") }
    for s in net.stateBuffers { #expect(m.floats(s.name) == s.value.array, "\(s.name)") }
    #expect(m.tensor("blocks.2.shortcut.conv.weight")?.dims == [7, 4, 1, 1])
    let shortcut = m.nodes.first { $0.name == "blocks.2.shortcut.conv" }!
    #expect(shortcut.ints["strides"] == [2, 2] && shortcut.ints["pads"] == [0, 0, 0, 0] && shortcut.ints["kernel_shape"] == [1, 1])
    #expect(m.nodes.first { $0.name == "blocks.2.add" }!.inputs == ["blocks.2.bn2", "blocks.2.shortcut.bn"])
}

@Test func prunedAndImageNetBottleneckExportsParseBack() throws {
    // Per-block inner widths (an extracted network): conv1 outputs and conv2 inputs shrink.
    let pruned = decodeModel(ONNXExport.model(of: try network(spec(shortcut: .projection, planes: [4, 6], inner: [2, 4, 3, 1]))).serialized())
    #expect(pruned.tensor("blocks.0.conv1.weight")?.dims == [2, 4, 3, 3])
    #expect(pruned.tensor("blocks.0.conv2.weight")?.dims == [4, 2, 3, 3])
    #expect(pruned.tensor("blocks.2.conv1.weight")?.dims == [3, 4, 3, 3])
    #expect(pruned.tensor("blocks.2.conv2.weight")?.dims == [6, 3, 3, 3])
    #expect(pruned.tensor("blocks.3.conv1.weight")?.dims == [1, 6, 3, 3])
    #expect(pruned.tensor("blocks.3.conv1.bias")?.dims == [1])
    #expect(pruned.tensor("blocks.2.shortcut.conv.weight")?.dims == [6, 4, 1, 1])

    // ImageNet stem and bottlenecks: 7x7 s2 stem, max pool, 1x1-3x3-1x1 with the stride on the 3x3.
    let m = decodeModel(ONNXExport.model(of: try network(spec(.bottleneck, stem: .imagenet, shortcut: .projection, planes: [2, 3]))).serialized())
    let bottleneck = ["Conv", "Relu", "Conv", "Relu", "Conv"]
    #expect(m.ops == ["Conv", "Relu", "MaxPool"]
        + bottleneck + ["Conv", "Add", "Relu"] + bottleneck + ["Add", "Relu"]
        + bottleneck + ["Conv", "Add", "Relu"] + bottleneck + ["Add", "Relu"]
        + ["GlobalAveragePool", "Flatten", "Gemm"])
    #expect(m.inputs[0].1 == ["N", "3", "19", "16"])
    let stem = m.nodes[0]
    #expect(stem.ints["kernel_shape"] == [7, 7] && stem.ints["strides"] == [2, 2] && stem.ints["pads"] == [3, 3, 3, 3])
    let pool = m.nodes[2]
    #expect(pool.name == "maxpool" && pool.ints["kernel_shape"] == [3, 3] && pool.ints["strides"] == [2, 2] && pool.ints["pads"] == [1, 1, 1, 1])
    #expect(m.tensor("conv1.weight")?.dims == [4, 3, 7, 7])
    #expect(m.tensor("blocks.0.conv1.weight")?.dims == [2, 4, 1, 1])
    #expect(m.tensor("blocks.0.conv3.weight")?.dims == [8, 2, 1, 1])
    #expect(m.tensor("blocks.2.conv2.weight")?.dims == [3, 3, 3, 3])
    #expect(m.nodes.first { $0.name == "blocks.2.conv2" }!.ints["strides"] == [2, 2])
    #expect(m.tensor("blocks.0.shortcut.conv.weight")?.dims == [8, 4, 1, 1])
    #expect(m.tensor("fc.weight")?.dims == [5, 12])

    // A zero-pad bottleneck widening 4 -> 8 without a stride: a Pad and no Slice.
    let z = decodeModel(ONNXExport.model(of: try network(spec(.bottleneck, shortcut: .zeroPad, planes: [2, 3]))).serialized())
    #expect(z.nodes.first { $0.name.hasPrefix("blocks.0.shortcut") }?.op == "Pad")
    #expect(!z.nodes.contains { $0.name == "blocks.0.shortcut.slice" })
    #expect(z.nodes.contains { $0.name == "blocks.2.shortcut.slice" })
}

@Test func exportWritesAtomicallyAndCheckFilesHoldStpLogits() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let net = try network(spec())
    let path = dir + "/tiny.onnx"
    let model = try ONNXExport.write(net, to: path)
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(model.serialized()))
    let files = try ONNXExportJob.writeCheckFiles(net, modelPath: path, batch: 3, seed: 9)
    #expect(files.input == dir + "/tiny.check-input.npy" && files.logits == dir + "/tiny.check-logits.npy")
    #expect(directoryListing(dir) == ["tiny.check-input.npy", "tiny.check-logits.npy", "tiny.onnx"])
    let input = try NumpyFile.decodeFloat32(Array(try Data(contentsOf: URL(fileURLWithPath: files.input))), path: files.input)
    let logits = try NumpyFile.decodeFloat32(Array(try Data(contentsOf: URL(fileURLWithPath: files.logits))), path: files.logits)
    #expect(input.shape == [3, 3, 9, 7] && logits.shape == [3, 5])
    #expect(input.values == ONNXExportJob.checkInput(net.spec, batch: 3, seed: 9))
    // Image 1 alone gives the same logits (NCHW -> NHWC conversion keeps images apart).
    let one = Array(input.values[189..<378])
    let alone = ONNXExportJob.evalLogits(net, nchw: one, batch: 1)
    for k in 0..<5 { #expect(abs(alone[k] - logits.values[5 + k]) <= 1e-5 * max(1, abs(alone[k]))) }
}

// MARK: onnxruntime

private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Runs python3 with `arguments`; nil when python3 is not on PATH.
private func python(_ arguments: [String], environment extra: [String: String] = [:],
                    removing: [String] = []) throws -> (status: Int32, output: String)? {
    guard let interpreter = ONNXExportJob.findExecutable("python3") else { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: interpreter)
    p.arguments = arguments
    var environment = ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
    for key in removing { environment.removeValue(forKey: key) }
    p.environment = environment
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, out)
}

/// python3 imports onnx, onnxruntime and numpy. With STP_REQUIRE_ONNX=1 (scripts/test sets it
/// when they import) the comparison runs regardless, and fails if they are missing.
private let onnxRuntimeAvailable: Bool =
    ProcessInfo.processInfo.environment["STP_REQUIRE_ONNX"] == "1"
    || (try? python(["-c", "import onnx, onnxruntime, numpy"]))?.status == 0

@Test(.enabled(if: onnxRuntimeAvailable, "python3 cannot import onnx, onnxruntime and numpy (pip install onnx onnxruntime numpy)"))
func onnxRuntimeAgreesWithStp() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let script = repositoryRoot + "/scripts/check_onnx.py"
    let cases: [(String, ResNetSpec, Bool)] = [
        ("basic-zeropad", spec(), true),
        ("basic-zeropad-unfolded", spec(), false),
        ("pruned-projection", spec(shortcut: .projection, planes: [4, 6], inner: [2, 4, 3, 1]), true),
        ("imagenet-bottleneck", spec(.bottleneck, stem: .imagenet, shortcut: .projection, planes: [2, 3]), true),
        ("bottleneck-zeropad-unfolded", spec(.bottleneck, shortcut: .zeroPad, planes: [2, 3], inner: [1, 2, 3, 2]), false),
    ]
    for (name, s, fold) in cases {
        let net = try network(s, seed: UInt64(name.count))
        let path = "\(dir)/\(name).onnx"
        try ONNXExport.write(net, to: path, options: ONNXExportOptions(foldBatchNorm: fold))
        let files = try ONNXExportJob.writeCheckFiles(net, modelPath: path, batch: 3, seed: 4)
        let result = try ONNXExportJob.runCheck(modelPath: path, inputPath: files.input, logitsPath: files.logits,
                                                script: script, requireRuntime: true)
        #expect(result.status == .passed, "\(name): \(result.message)")
        #expect(result.message.contains("check_onnx: OK"), "\(name): \(result.message)")
        print("\(name): \(result.message.split(separator: "\n").dropFirst().first ?? "")")
        // onnx's serializer writes exactly the same bytes for the parsed model.
        let same = try python(["-c", "import onnx, sys; p = sys.argv[1]; sys.exit(0 if onnx.load(p).SerializeToString() == open(p, 'rb').read() else 1)", path])
        #expect(same?.status == 0, "\(name): onnx re-serialises the model differently: \(same?.output ?? "")")
    }
    // A wrong expectation fails the check, and the failure is an error naming the script.
    let net = try network(spec())
    let path = dir + "/wrong.onnx"
    try ONNXExport.write(net, to: path)
    let files = try ONNXExportJob.writeCheckFiles(net, modelPath: path, batch: 2)
    var logits = try NumpyFile.decodeFloat32(Array(try Data(contentsOf: URL(fileURLWithPath: files.logits))), path: files.logits)
    logits.values[3] += 0.01 * logits.values.map(abs).max()!
    try NumpyFile.writeFloat32(logits.values, shape: logits.shape, to: files.logits)
    let message = errorText {
        _ = try ONNXExportJob.runCheck(modelPath: path, inputPath: files.input, logitsPath: files.logits, script: script)
    }
    #expect(message.contains("the ONNX check failed") && message.contains("exceeds"), "\(message)")
}

@Test(.enabled(if: ONNXExportJob.findExecutable("python3") != nil, "needs python3"))
func checkScriptSkipsOnlyWhenOnnxRuntimeIsMissingAndNotRequired() throws {
    let script = repositoryRoot + "/scripts/check_onnx.py"
    // Hide onnxruntime with a module that fails to import.
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try AtomicFile.write("raise ImportError('hidden by the stp test')\n", to: dir + "/onnxruntime.py")
    let args = [script, dir + "/m.onnx", dir + "/i.npy", dir + "/e.npy"]
    // CI sets STP_REQUIRE_ONNX for the whole suite; this case is about its absence.
    let skipped = try #require(try python(args, environment: ["PYTHONPATH": dir], removing: ["STP_REQUIRE_ONNX"]))
    #expect(skipped.status == 0 && skipped.output.hasPrefix("skipped: onnxruntime cannot be imported"), "\(skipped.output)")
    let required = try python(args, environment: ["PYTHONPATH": dir, "STP_REQUIRE_ONNX": "1"])!
    #expect(required.status == 2 && required.output.contains("STP_REQUIRE_ONNX is set"), "\(required.output)")
}

// MARK: stp export of a run directory

@Test func exportJobRebuildsARunAndChecksIt() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = TrainingConfig()
    config.model = "resnet20"
    config.data = "builtin:seed=3,train=16,test=8"
    config.epochs = 1
    config.batchSize = 8
    let data = try DataSource(parsing: config.data).load()
    let trainer = try Trainer(config: config, data: data, runPath: dir + "/run")
    try trainer.save()

    var options = ONNXExportJobOptions(runPath: dir + "/run", outputPath: dir + "/r20.onnx")
    options.check = true
    options.checkBatch = 2
    options.checkScript = repositoryRoot + "/scripts/check_onnx.py"
    let report = try ONNXExportJob.run(options)
    #expect(report.spec == trainer.spec)
    #expect(report.nodeCount == 2 + 9 * 5 + 2 * 2 + 3)   // stem, 9 blocks, 2 slice+pad shortcuts, head
    // Folding replaces each BN's gamma and beta by one conv bias; 2 Slice (4 x 2) and Pad (8) constants.
    let bnChannels = trainer.model.parameters.filter { $0.name.contains("bn") && $0.name.hasSuffix(".weight") }
        .reduce(0) { $0 + $1.count }
    #expect(report.initializerElements == trainer.model.parameterCount - bnChannels + 2 * (8 + 8))
    let check = try #require(report.check)
    #expect(check.logitsPath == dir + "/r20.check-logits.npy")
    let m = decodeModel(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/r20.onnx"))))
    #expect(m.inputs[0].1 == ["N", "3", "32", "32"] && m.outputs[0].1 == ["N", "10"])
    #expect(m.metadata["stp.normalization"]?.contains("mean") == true)
    #expect(m.metadata["stp.data"] == config.data)
    if onnxRuntimeAvailable {
        #expect(check.status == .passed, "\(check.message)")
    } else {
        #expect(check.status != .passed)
    }
    // Not a run directory: a clear error.
    let missing = errorText { _ = try ONNXExportJob.run(ONNXExportJobOptions(runPath: dir, outputPath: dir + "/x.onnx")) }
    #expect(missing.contains("run directory"), "\(missing)")
}

@Test func exportJobInfersPrunedWidthsFromTheCheckpoint() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = TrainingConfig()
    config.model = "resnet20"
    config.data = "mnist"
    var narrow = try ResNetSpec.named("resnet20", inputChannels: 1, classes: 10, inputSize: (28, 28))
    narrow.blockInnerWidths = [3, 16, 9, 5, 32, 17, 64, 1, 40]
    let path = dir + "/c.safetensors"
    try SafeTensorsFile.write(tensors: ModelState.tensors(of: ResNet(spec: narrow), optimizer: nil), metadata: [:], to: path)
    let inferred = try ONNXExportJob.modelSpec(config: config, checkpoint: SafeTensorsFile.read(path: path))
    #expect(inferred == narrow)
    let resized = try ONNXExportJob.modelSpec(config: config, checkpoint: SafeTensorsFile.read(path: path), inputSize: (20, 24))
    #expect(resized.inputHeight == 20 && resized.inputWidth == 24)
}
