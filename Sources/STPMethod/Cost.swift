import STPEngine

// Analytic FLOPs (multiply-accumulates of convolutions and the final linear layer) and parameter
// counts of any architecture, without building a model.
//
// Everything outside the blocks (stem, fc) and the shortcut of a stage's first block is always
// present. A block's own cost depends only on its inner width k, because the residual stream
// keeps its full width and the first block of a stage (the only one that changes the spatial
// size) is always kept. So each block gets a small table, cost(k) = quad*k^2 + lin*k + const
// (quadratic only for the bottleneck's k x k 3x3 convolution), and an architecture's cost is the
// base plus a sum over its kept blocks: a few dozen integer operations. The counts are exactly
// those of ModelSummary (tests check every architecture of small spaces).

public struct ArchitectureCost: Equatable, Hashable, Sendable, Codable {
    public var macs: Int
    public var parameters: Int

    public init(macs: Int, parameters: Int) {
        self.macs = macs
        self.parameters = parameters
    }
}

/// One block's cost as a function of its inner width k.
public struct BlockCostTable: Equatable, Sendable, Codable {
    public var macsQuadratic = 0, macsLinear = 0, macsConstant = 0
    public var parametersQuadratic = 0, parametersLinear = 0, parametersConstant = 0

    public func macs(_ k: Int) -> Int { (macsQuadratic * k + macsLinear) * k + macsConstant }
    public func parameters(_ k: Int) -> Int { (parametersQuadratic * k + parametersLinear) * k + parametersConstant }
}

public struct CostModel: Equatable, Sendable {
    public let spec: ResNetSpec
    /// Stem, its BN and the fc layer.
    public let base: ArchitectureCost
    /// One table per block, in network order.
    public let blocks: [BlockCostTable]
    /// Index of the first block of every stage.
    public let stageStarts: [Int]

    public init(spec: ResNetSpec) {
        self.spec = spec
        var h = spec.inputHeight, w = spec.inputWidth
        func out(_ size: Int, _ k: Int, _ stride: Int) -> Int { (size + 2 * (k / 2) - k) / stride + 1 }

        let stemK = spec.stem == .cifar ? 3 : 7
        let stemStride = spec.stem == .cifar ? 1 : 2
        h = out(h, stemK, stemStride); w = out(w, stemK, stemStride)
        let stemParams = spec.stemWidth * spec.inputChannels * stemK * stemK
        var baseMACs = stemParams * h * w
        var baseParams = stemParams + 2 * spec.stemWidth
        if spec.stem == .imagenet { h = out(h, 3, 2); w = out(w, 3, 2) }
        baseMACs += spec.classes * spec.featureWidth
        baseParams += spec.classes * spec.featureWidth + spec.classes
        base = ArchitectureCost(macs: baseMACs, parameters: baseParams)

        var tables = [BlockCostTable]()
        var starts = [Int]()
        var width = spec.stemWidth
        for (s, n) in spec.blocksPerStage.enumerated() {
            starts.append(tables.count)
            for i in 0..<n {
                let stride = (i == 0 && s > 0) ? 2 : 1
                let cin = width, cout = spec.stageOutWidth(s)
                let inPixels = h * w
                h = out(h, 3, stride); w = out(w, 3, stride)
                let outPixels = h * w
                var t = BlockCostTable()
                switch spec.block {
                case .basic:
                    // conv1 3x3 cin->k (stride), bn1, conv2 3x3 k->cout, bn2
                    t.macsLinear = (cin * 9 + cout * 9) * outPixels
                    t.parametersLinear = cin * 9 + 2 + cout * 9
                case .bottleneck:
                    // conv1 1x1 cin->k, bn1, conv2 3x3 k->k (stride), bn2, conv3 1x1 k->cout, bn3
                    t.macsQuadratic = 9 * outPixels
                    t.macsLinear = cin * inPixels + cout * outPixels
                    t.parametersQuadratic = 9
                    t.parametersLinear = cin + 2 + 2 + cout
                }
                t.parametersConstant = 2 * cout
                if spec.shortcut == .projection && (stride != 1 || cin != cout) {
                    t.macsConstant += cin * cout * outPixels
                    t.parametersConstant += cin * cout + 2 * cout
                }
                tables.append(t)
                width = cout
            }
        }
        blocks = tables
        stageStarts = starts
    }

    /// Cost of `architecture` (which must fit the spec: see Architecture.validate(for:)).
    public func cost(of architecture: Architecture) -> ArchitectureCost {
        var c = base
        for (s, stage) in architecture.widths.enumerated() {
            let start = stageStarts[s]
            for (i, k) in stage.enumerated() {
                c.macs += blocks[start + i].macs(k)
                c.parameters += blocks[start + i].parameters(k)
            }
        }
        return c
    }

    public func macs(of architecture: Architecture) -> Int {
        var m = base.macs
        for (s, stage) in architecture.widths.enumerated() {
            let start = stageStarts[s]
            for (i, k) in stage.enumerated() { m += blocks[start + i].macs(k) }
        }
        return m
    }

    /// Cost of an engine subnet selection of the same spec.
    public func cost(of selection: SubnetSelection) -> ArchitectureCost {
        var c = base
        for b in blocks.indices where selection.keep[b] {
            c.macs += blocks[b].macs(selection.innerWidth[b])
            c.parameters += blocks[b].parameters(selection.innerWidth[b])
        }
        return c
    }

    /// The whole network.
    public var full: ArchitectureCost { cost(of: Architecture.full(spec)) }
}

/// Human-readable operation counts: 40551040 -> "40.55M"; `.up`/`.down` round the last digit in
/// that direction so that a displayed bound is itself inside the range it describes.
public enum CountFormat {
    public enum Rounding: Sendable { case nearest, up, down }

    public static func string(_ value: Int, rounding: Rounding = .nearest) -> String {
        let v = Double(value)
        let (scale, suffix): (Double, String) =
            abs(v) >= 1e9 ? (1e9, "G") : abs(v) >= 1e6 ? (1e6, "M") : abs(v) >= 1e3 ? (1e3, "K") : (1, "")
        if suffix.isEmpty { return String(value) }
        var x = v / scale * 100
        switch rounding {
        case .nearest: x = x.rounded()
        case .up: x = x.rounded(.up)
        case .down: x = x.rounded(.down)
        }
        let hundredths = Int(x)
        var text = "\(hundredths / 100)"
        let frac = abs(hundredths % 100)
        if frac != 0 {
            text += frac % 10 == 0 ? ".\(frac / 10)" : (frac < 10 ? ".0\(frac)" : ".\(frac)")
        }
        return text + suffix
    }
}
