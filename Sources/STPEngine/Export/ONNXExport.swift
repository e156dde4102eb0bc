import Foundation

// A ResNet in eval mode as an ONNX model (IR version 8, default opset 13), for onnxruntime,
// TensorRT, OpenVINO and friends. The graph takes NCHW float32 `input` [N, C, H, W] (N free) and
// returns `logits` [N, classes]; the engine's NHWC layout stays inside the engine.
//
//   stem        Conv [-> BatchNormalization] -> Relu [-> MaxPool 3x3 s2 p1 (ImageNet stem)]
//   block       (Conv [-> BatchNormalization] -> Relu) per inner unit, Conv [-> BN] of the last
//               unit, Add with the shortcut, Relu
//   shortcut    identity: the block input
//               zero-pad: Slice (every stride-th pixel of H and W from 0) -> Pad (channels,
//                         (out-in)/2 zeros before, the rest after, mode constant)
//               projection: Conv 1x1 stride s [-> BatchNormalization]
//   head        GlobalAveragePool -> Flatten -> Gemm (transB = 1) = logits
//
// Batch normalisation is folded into the convolution before it by default: in eval mode BN is
// the per-channel affine map y = x * s + (beta - mean * s) with s = gamma / sqrt(var + eps), so
// W' = W * s (per output channel) and b' = beta - mean * s give the same function with one node
// instead of two and no extra pass over the activations; the folding is done in double precision.
// Runtimes would do the same fusion themselves, but a folded file is smaller, simpler to read and
// identical across runtimes. `foldBatchNorm = false` keeps explicit BatchNormalization nodes whose
// scale/B/mean/var initializers are the checkpoint tensors under their PyTorch names.
//
// Tensor names follow the PyTorch parameter names: a node is named after the layer it computes
// and its output carries the same name ("blocks.3.conv1", "blocks.3.bn1", "blocks.3.relu1",
// "blocks.3.shortcut.pad", "blocks.3.add", "blocks.3.relu", "avgpool", "flatten"); the final Gemm
// is node "fc" with output "logits". Initializers are "<layer>.weight", "<layer>.bias" (for a
// folded convolution: the folded weights, documented as such in the tensor's doc_string),
// "<bn>.running_mean", "<bn>.running_var", and "<node>.starts" etc. for Slice and Pad constants.

public struct ONNXExportOptions: Sendable {
    /// Fold every BatchNormalization into the preceding convolution (weights and a bias).
    public var foldBatchNorm = true
    /// Free-form description stored as the model's doc_string (a default one when nil).
    public var docString: String?
    /// Extra key/value pairs for the model's metadata_props (written in key order).
    public var metadata: [String: String] = [:]

    public init(foldBatchNorm: Bool = true) { self.foldBatchNorm = foldBatchNorm }
}

public enum ONNXExport {
    public static let inputName = "input"
    public static let outputName = "logits"
    /// The name of the free batch dimension of the input and the output.
    public static let batchDimension = "N"
    public static let irVersion: Int64 = 8
    public static let opsetVersion: Int64 = 13
    /// Metadata key holding the model's ResNetSpec as JSON.
    public static let specMetadataKey = "stp.resnet_spec"

    /// The ONNX model of `net` (its current weights and running statistics, eval mode).
    public static func model(of net: ResNet, options: ONNXExportOptions = ONNXExportOptions()) -> ONNXModel {
        let spec = net.spec
        var b = GraphBuilder(graph: ONNXGraph(name: spec.name), fold: options.foldBatchNorm)
        b.graph.inputs = [ONNXValueInfo(name: inputName, shape: [.parameter(batchDimension), .value(spec.inputChannels),
                                                                  .value(spec.inputHeight), .value(spec.inputWidth)])]
        b.graph.outputs = [ONNXValueInfo(name: outputName, shape: [.parameter(batchDimension), .value(spec.classes)])]

        var x = b.convBN(net.stemConv, net.stemBN, input: inputName)
        x = b.node("Relu", "relu", [x])
        if spec.stem == .imagenet {
            x = b.node("MaxPool", "maxpool", [x], [.ints("kernel_shape", [3, 3]), .ints("strides", [2, 2]),
                                                   .ints("pads", [1, 1, 1, 1])])
        }
        for block in net.blocks {
            x = b.block(block, input: x)
        }
        x = b.node("GlobalAveragePool", "avgpool", [x])
        x = b.node("Flatten", "flatten", [x], [.int("axis", 1)])
        b.parameter(net.fc.weight)
        b.parameter(net.fc.bias)
        b.graph.nodes.append(ONNXNode(name: "fc", opType: "Gemm", inputs: [x, net.fc.weight.name, net.fc.bias.name],
                                      outputs: [outputName], attributes: [.int("transB", 1)]))

        var model = ONNXModel(graph: b.graph)
        model.irVersion = irVersion
        model.opsetImports = [("", opsetVersion)]
        model.producerName = "stp"
        model.docString = options.docString ?? defaultDescription(spec, folded: options.foldBatchNorm)
        var metadata = options.metadata
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let json = try? encoder.encode(spec) { metadata[specMetadataKey] = String(decoding: json, as: UTF8.self) }
        model.metadata = metadata.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
        return model
    }

    /// Writes the ONNX model of `net` to `path` atomically; returns the model written.
    @discardableResult
    public static func write(_ net: ResNet, to path: String, options: ONNXExportOptions = ONNXExportOptions()) throws -> ONNXModel {
        let m = model(of: net, options: options)
        try AtomicFile.write(m.serialized(), to: path)
        return m
    }

    static func defaultDescription(_ spec: ResNetSpec, folded: Bool) -> String {
        "\(spec.name): ResNet with \(spec.block.rawValue) blocks \(spec.blocksPerStage), \(spec.stem.rawValue) stem, "
            + "\(spec.shortcut.rawValue) shortcuts, exported by stp in eval mode"
            + (folded ? " with BatchNorm folded into the convolutions" : "")
            + ". Input '\(inputName)': float32 NCHW [N, \(spec.inputChannels), \(spec.inputHeight), \(spec.inputWidth)], "
            + "normalised as in training; output '\(outputName)': [N, \(spec.classes)] (pre-softmax)."
    }
}

/// Appends nodes and initializers; every node's single output carries the node's name.
private struct GraphBuilder {
    var graph: ONNXGraph
    let fold: Bool

    /// The layer name of a parameter ("blocks.0.conv1" for "blocks.0.conv1.weight").
    static func layerName(_ p: Parameter) -> String {
        p.name.hasSuffix(".weight") ? String(p.name.dropLast(".weight".count)) : p.name
    }

    @discardableResult
    mutating func node(_ op: String, _ name: String, _ inputs: [String], _ attributes: [ONNXAttribute] = []) -> String {
        graph.nodes.append(ONNXNode(name: name, opType: op, inputs: inputs, outputs: [name], attributes: attributes))
        return name
    }

    mutating func parameter(_ p: Parameter) {
        graph.initializers.append(.float32(p.name, dims: p.shape, p.value.array))
    }

    mutating func state(_ s: StateBuffer) {
        graph.initializers.append(.float32(s.name, dims: s.shape, s.value.array))
    }

    /// Conv followed by eval-mode BN, folded or not; returns the output name.
    mutating func convBN(_ conv: ConvLayer, _ bn: BatchNormLayer, input: String) -> String {
        let convName = Self.layerName(conv.weight)
        let bnName = Self.layerName(bn.gamma)
        let p = conv.padding
        let attributes: [ONNXAttribute] = [.ints("kernel_shape", [conv.kernel, conv.kernel]),
                                           .ints("strides", [conv.stride, conv.stride]),
                                           .ints("pads", [p, p, p, p])]
        precondition(bn.channels == conv.outChannels, "\(bnName) does not match \(convName)")
        guard fold else {
            parameter(conv.weight)
            let c = node("Conv", convName, [input, conv.weight.name], attributes)
            parameter(bn.gamma); parameter(bn.beta); state(bn.runningMean); state(bn.runningVar)
            return node("BatchNormalization", bnName,
                        [c, bn.gamma.name, bn.beta.name, bn.runningMean.name, bn.runningVar.name],
                        [.float("epsilon", bn.options.epsilon)])
        }
        let outC = conv.outChannels, per = conv.weight.count / outC
        let w = conv.weight.pointer, gamma = bn.gamma.pointer, beta = bn.beta.pointer
        let mean = bn.runningMean.value.pointer, variance = bn.runningVar.value.pointer
        let eps = Double(bn.options.epsilon)
        var folded = [Float](repeating: 0, count: conv.weight.count)
        var bias = [Float](repeating: 0, count: outC)
        for o in 0..<outC {
            let s = Double(gamma[o]) / (Double(variance[o]) + eps).squareRoot()
            for j in 0..<per { folded[o * per + j] = Float(Double(w[o * per + j]) * s) }
            bias[o] = Float(Double(beta[o]) - Double(mean[o]) * s)
        }
        let doc = "\(conv.weight.name) with \(bnName) folded in: scaled per output channel by "
            + "\(bnName).weight / sqrt(\(bnName).running_var + \(bn.options.epsilon))"
        graph.initializers.append(.float32(convName + ".weight", dims: conv.weight.shape, folded, doc: doc))
        graph.initializers.append(.float32(convName + ".bias", dims: [outC], bias,
                                           doc: "\(bnName).bias - \(bnName).running_mean * that scale"))
        return node("Conv", convName, [input, convName + ".weight", convName + ".bias"], attributes)
    }

    mutating func block(_ block: ResidualBlock, input: String) -> String {
        let name = block.name
        var x = input
        for (i, unit) in block.units.enumerated() {
            x = convBN(unit.conv, unit.bn, input: x)
            if i < block.units.count - 1 { x = node("Relu", "\(name).relu\(i + 1)", [x]) }
        }
        let residual: String
        switch block.shortcut {
        case .identity:
            residual = input
        case .zeroPad:
            var r = input
            if block.stride > 1 {
                let slice = name + ".shortcut.slice"
                let s = Int64(block.stride)
                graph.initializers.append(.int64(slice + ".starts", dims: [2], [0, 0]))
                graph.initializers.append(.int64(slice + ".ends", dims: [2], [Int64.max, Int64.max]))
                graph.initializers.append(.int64(slice + ".axes", dims: [2], [2, 3]))
                graph.initializers.append(.int64(slice + ".steps", dims: [2], [s, s]))
                r = node("Slice", slice, [r, slice + ".starts", slice + ".ends", slice + ".axes", slice + ".steps"])
            }
            let extra = block.outWidth - block.inWidth
            if extra > 0 {
                let pad = name + ".shortcut.pad"
                let low = Int64(extra / 2), high = Int64(extra - extra / 2)
                graph.initializers.append(.int64(pad + ".pads", dims: [8], [0, low, 0, 0, 0, high, 0, 0]))
                r = node("Pad", pad, [r, pad + ".pads"], [.string("mode", "constant")])
            }
            residual = r
        case .projection(let unit):
            residual = convBN(unit.conv, unit.bn, input: input)
        }
        x = node("Add", name + ".add", [x, residual])
        return node("Relu", name + ".relu", [x])
    }
}
