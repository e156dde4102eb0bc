// Exact parameter and FLOP counts, computed from the spec alone (no weights needed), for the
// full network or any subnet. FLOPs are multiply-accumulates of convolutions and the final linear
// layer, the convention of the pruning literature; BN, ReLU, adds and pooling are not counted.

public struct LayerInfo: Equatable, Sendable, Codable {
    public enum Kind: String, Sendable, Codable { case conv, batchNorm = "bn", maxPool = "maxpool", avgPool = "avgpool", linear }
    public var name: String
    public var kind: Kind
    /// Output shape without the batch dimension, as [C, H, W] or [features].
    public var outputShape: [Int]
    /// Shape of the layer's weight (empty for parameter-free layers).
    public var weightShape: [Int]
    public var parameters: Int
    public var macs: Int
}

public struct ModelSummary: Equatable, Sendable {
    public var layers: [LayerInfo]
    public var totalParameters: Int { layers.reduce(0) { $0 + $1.parameters } }
    public var totalMACs: Int { layers.reduce(0) { $0 + $1.macs } }

    /// Per-layer counts of `spec` running `subnet` (the full network when nil).
    public init(spec: ResNetSpec, subnet: SubnetSelection? = nil) {
        let sel = subnet ?? SubnetSelection.full(spec)
        var rows = [LayerInfo]()
        var h = spec.inputHeight, w = spec.inputWidth

        func conv(_ name: String, _ cin: Int, _ cout: Int, _ k: Int, _ stride: Int) {
            let pad = k / 2
            h = (h + 2 * pad - k) / stride + 1
            w = (w + 2 * pad - k) / stride + 1
            let params = cout * cin * k * k
            rows.append(LayerInfo(name: name, kind: .conv, outputShape: [cout, h, w], weightShape: [cout, cin, k, k],
                                  parameters: params, macs: params * h * w))
        }
        func bn(_ name: String, _ c: Int) {
            rows.append(LayerInfo(name: name, kind: .batchNorm, outputShape: [c, h, w], weightShape: [c],
                                  parameters: 2 * c, macs: 0))
        }

        let stemK = spec.stem == .cifar ? 3 : 7
        conv("conv1", spec.inputChannels, spec.stemWidth, stemK, spec.stem == .cifar ? 1 : 2)
        bn("bn1", spec.stemWidth)
        if spec.stem == .imagenet {
            h = (h + 2 - 3) / 2 + 1
            w = (w + 2 - 3) / 2 + 1
            rows.append(LayerInfo(name: "maxpool", kind: .maxPool, outputShape: [spec.stemWidth, h, w], weightShape: [],
                                  parameters: 0, macs: 0))
        }
        var width = spec.stemWidth
        var b = 0
        for (s, n) in spec.blocksPerStage.enumerated() {
            for i in 0..<n {
                defer { b += 1 }
                let stride = (i == 0 && s > 0) ? 2 : 1
                let out = spec.stageOutWidth(s)
                guard sel.keep[b] else { continue }
                let inner = sel.innerWidth[b]
                let name = "blocks.\(b)"
                let (h0, w0) = (h, w)
                if spec.block == .basic {
                    conv("\(name).conv1", width, inner, 3, stride); bn("\(name).bn1", inner)
                    conv("\(name).conv2", inner, out, 3, 1); bn("\(name).bn2", out)
                } else {
                    conv("\(name).conv1", width, inner, 1, 1); bn("\(name).bn1", inner)
                    conv("\(name).conv2", inner, inner, 3, stride); bn("\(name).bn2", inner)
                    conv("\(name).conv3", inner, out, 1, 1); bn("\(name).bn3", out)
                }
                if spec.shortcut == .projection && (stride != 1 || width != out) {
                    let (h1, w1) = (h, w)
                    (h, w) = (h0, w0)
                    conv("\(name).shortcut.conv", width, out, 1, stride); bn("\(name).shortcut.bn", out)
                    (h, w) = (h1, w1)
                }
                width = out
            }
        }
        rows.append(LayerInfo(name: "avgpool", kind: .avgPool, outputShape: [width], weightShape: [], parameters: 0, macs: 0))
        rows.append(LayerInfo(name: "fc", kind: .linear, outputShape: [spec.classes], weightShape: [spec.classes, width],
                              parameters: spec.classes * width + spec.classes, macs: spec.classes * width))
        layers = rows
    }
}
