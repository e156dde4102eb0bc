import Foundation
import STPEngine

// What a budget limits, as one additive cost over an architecture: a base (stem, classifier,
// the pass's fixed overhead) plus one term per kept block that depends only on the block's
// position and inner width. Two measures have that shape:
//
//   macs      exact multiply-accumulates (CostModel)
//   latency   predicted batch-1 latency in nanoseconds (LatencyTable, measured on this machine)
//
// The search, the repair of children into a window and the baselines work on either, in the
// measure's integer units, so a latency budget is searched exactly like a FLOPs budget.

public struct CostMeasure: Sendable {
    public enum Kind: String, Codable, Sendable { case macs, latency }

    public let kind: Kind
    public let base: Int
    private let stageStarts: [Int]
    private let term: @Sendable (_ block: Int, _ width: Int) -> Int

    /// Exact MACs of `cost`'s network.
    public static func macs(_ cost: CostModel) -> CostMeasure {
        let blocks = cost.blocks
        return CostMeasure(kind: .macs, base: cost.base.macs, stageStarts: cost.stageStarts) { b, k in blocks[b].macs(k) }
    }

    /// Predicted latency (nanoseconds) from a measured table of the same spec.
    public static func latency(_ table: LatencyTable, stageStarts: [Int]) -> CostMeasure {
        CostMeasure(kind: .latency, base: table.baseNanoseconds, stageStarts: stageStarts) { b, k in
            table.blockNanoseconds(b, width: k)
        }
    }

    /// The term of block `block` (network order) at inner width `width`.
    public func blockTerm(_ block: Int, width: Int) -> Int { term(block, width) }

    /// The term of block `position` of stage `stage`.
    public func blockTerm(stage: Int, position: Int, width: Int) -> Int { term(stageStarts[stage] + position, width) }

    public func value(of architecture: Architecture) -> Int {
        var v = base
        for (s, stage) in architecture.widths.enumerated() {
            for (i, k) in stage.enumerated() { v += term(stageStarts[s] + i, k) }
        }
        return v
    }

    /// "20.2M MACs" or "1.52 ms".
    public func format(_ value: Int) -> String {
        switch kind {
        case .macs: return "\(CountFormat.string(value)) MACs"
        case .latency: return LatencyFormat.milliseconds(nanoseconds: value)
        }
    }
}

public enum LatencyFormat {
    /// 1_523_000 ns -> "1.52 ms", 84_000 ns -> "0.084 ms": three significant digits.
    public static func milliseconds(nanoseconds: Int) -> String {
        milliseconds(Double(nanoseconds) / 1e6)
    }

    public static func milliseconds(_ ms: Double) -> String {
        let digits = ms >= 100 ? 0 : ms >= 10 ? 1 : ms >= 1 ? 2 : 3
        return String(format: "%.\(digits)f ms", ms)
    }
}
