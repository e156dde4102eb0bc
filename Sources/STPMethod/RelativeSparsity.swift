import STPEngine

// Relative sparsity (METHOD.md section 4): how much stronger the part of the network that a
// reference architecture keeps is than the part it drops, measured on the shared weights.
//
//   per inner layer l (the convolutions whose output channels a subnet slices, and their BN):
//     weight ratio  R_l = mean |w| over the kept output filters / mean |w| over the dropped ones
//     gamma ratio       = mean |gamma| kept / mean |gamma| dropped   (the following BN)
//     dropped magnitude = mean |w| over the dropped filters (stays about constant under STP,
//                         collapses under L1-on-gamma slimming)
//   per stage: the same weight ratio over whole blocks (kept blocks versus dropped blocks)
// Means are per element. A layer whose architecture keeps every filter has no ratio (nil), and
// layers of dropped blocks are reported in the stage row only.

public struct LayerSparsity: Codable, Sendable, Equatable {
    public var name: String
    public var keptFilters: Int
    public var totalFilters: Int
    public var weightRatio: Double?
    public var gammaRatio: Double?
    public var keptMeanAbs: Double
    public var droppedMeanAbs: Double?
}

public struct StageSparsity: Codable, Sendable, Equatable {
    public var stage: Int
    public var keptBlocks: Int
    public var totalBlocks: Int
    public var blockRatio: Double?
    public var keptMeanAbs: Double
    public var droppedMeanAbs: Double?
}

public struct RelativeSparsityReport: Codable, Sendable, Equatable {
    public var architecture: String
    public var layers: [LayerSparsity]
    public var stages: [StageSparsity]

    /// Geometric mean of the defined per-layer weight ratios (nil when none is defined).
    public var meanWeightRatio: Double? { RelativeSparsityReport.geometricMean(layers.compactMap(\.weightRatio)) }
    public var meanGammaRatio: Double? { RelativeSparsityReport.geometricMean(layers.compactMap(\.gammaRatio)) }
    /// Mean of the dropped filters' mean |w| over the layers that drop some.
    public var meanDroppedMagnitude: Double? {
        let values = layers.compactMap(\.droppedMeanAbs)
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    static func geometricMean(_ values: [Double]) -> Double? {
        let positive = values.filter { $0 > 0 && $0.isFinite }
        guard !positive.isEmpty else { return nil }
        return exp(positive.map { log($0) }.reduce(0, +) / Double(positive.count))
    }

    /// A plain-text table (layer, kept/total filters, ratios, dropped magnitude) and stage rows.
    public func table() -> String {
        func f(_ v: Double?, _ digits: Int = 3) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "-" }
        var rows = layers.map { l in
            [l.name, "\(l.keptFilters)/\(l.totalFilters)", f(l.weightRatio), f(l.gammaRatio), f(l.keptMeanAbs, 4), f(l.droppedMeanAbs, 4)]
        }
        for s in stages {
            rows.append(["stage \(s.stage + 1) blocks", "\(s.keptBlocks)/\(s.totalBlocks)", f(s.blockRatio), "", f(s.keptMeanAbs, 4), f(s.droppedMeanAbs, 4)])
        }
        rows.append(["mean (geometric)", "", f(meanWeightRatio), f(meanGammaRatio), "", f(meanDroppedMagnitude, 4)])
        return "relative sparsity for \(architecture)\n"
            + TextTable(headers: ["layer", "kept", "|w| ratio", "|gamma| ratio", "kept |w|", "dropped |w|"], rows: rows).render()
    }
}

public enum RelativeSparsity {
    /// The report of `model`'s current weights for `architecture`.
    public static func measure(_ model: ResNet, architecture: Architecture) throws -> RelativeSparsityReport {
        let spec = model.spec
        try architecture.validate(for: spec)
        var layers = [LayerSparsity]()
        var stages = [StageSparsity]()
        var blockIndex = 0
        for (s, n) in spec.blocksPerStage.enumerated() {
            var keptSum = 0.0, keptCount = 0, droppedSum = 0.0, droppedCount = 0
            for i in 0..<n {
                let block = model.blocks[blockIndex + i]
                let kept = i < architecture.depths[s]
                let (sum, count) = block.allUnits.reduce((0.0, 0)) { acc, u in
                    let w = u.conv.weight
                    return (acc.0 + absSum(w.pointer, 0..<w.count), acc.1 + w.count)
                }
                if kept { keptSum += sum; keptCount += count } else { droppedSum += sum; droppedCount += count }
                guard kept else { continue }
                let k = architecture.widths[s][i]
                for u in block.units.dropLast() {   // the inner convolutions: their outputs are sliced
                    let w = u.conv.weight
                    let perFilter = w.count / u.conv.outChannels
                    let keptW = absSum(w.pointer, 0..<(k * perFilter)) / Double(k * perFilter)
                    let droppedFilters = u.conv.outChannels - k
                    var droppedW: Double?
                    var gammaRatio: Double?
                    if droppedFilters > 0 {
                        droppedW = absSum(w.pointer, (k * perFilter)..<w.count) / Double(droppedFilters * perFilter)
                        let g = u.bn.gamma.pointer
                        let keptG = absSum(g, 0..<k) / Double(k)
                        let droppedG = absSum(g, k..<u.bn.channels) / Double(droppedFilters)
                        gammaRatio = droppedG > 0 ? keptG / droppedG : nil
                    }
                    layers.append(LayerSparsity(name: w.name.replacingOccurrences(of: ".weight", with: ""),
                                                keptFilters: k, totalFilters: u.conv.outChannels,
                                                weightRatio: droppedW.flatMap { $0 > 0 ? keptW / $0 : nil },
                                                gammaRatio: gammaRatio, keptMeanAbs: keptW, droppedMeanAbs: droppedW))
                }
            }
            let keptMean = keptSum / Double(max(keptCount, 1))
            let droppedMean = droppedCount > 0 ? droppedSum / Double(droppedCount) : nil
            stages.append(StageSparsity(stage: s, keptBlocks: architecture.depths[s], totalBlocks: n,
                                        blockRatio: droppedMean.flatMap { $0 > 0 ? keptMean / $0 : nil },
                                        keptMeanAbs: keptMean, droppedMeanAbs: droppedMean))
            blockIndex += n
        }
        return RelativeSparsityReport(architecture: architecture.text, layers: layers, stages: stages)
    }

    private static func absSum(_ p: UnsafeMutablePointer<Float>, _ range: Range<Int>) -> Double {
        var s = 0.0
        for i in range { s += Double(abs(p[i])) }
        return s
    }
}

#if canImport(Glibc)
import Glibc
#endif
