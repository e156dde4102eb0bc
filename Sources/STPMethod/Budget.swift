import Foundation
import STPEngine

// FLOPs budgets as a user writes them, and their resolution to a MACs target and a search window
// (METHOD.md section 6).
//
//   "50%", "remove 50%"      FLOPs removed (relative to the full network)
//   "keep 30%"               FLOPs kept
//   "20M", "2.5e7", "1.2G"   absolute MACs (K = 1e3, M = 1e6, G = 1e9; an optional trailing
//                            "MACs" or "FLOPs" is ignored; a bare number is MACs)
//   "1.5ms", "800us", "0.002s"  batch-1 latency on this machine (issue 12)
//   "2x-faster", "2x faster"    batch-1 latency divided by 2 relative to the full network
//
// Latency budgets are predicted by a LatencyTable measured on this machine when the run starts
// (LatencyModel.swift) and are searched in nanoseconds exactly as MACs budgets are in MACs.
//
// A budget must prune something and must be reachable: its target lies between the smallest
// architecture of the space and (strictly) the full network. The search looks for architectures
// in [target * (1 - tolerance), target], tolerance 0.03 by default. Every error of `resolve`
// states the possible range in the budget's own units and in MACs.

public enum Budget: Equatable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// Fraction of the full network's FLOPs removed, e.g. 0.5.
    case remove(fraction: Double)
    /// Fraction of the full network's FLOPs kept, e.g. 0.3.
    case keep(fraction: Double)
    /// Absolute multiply-accumulates.
    case macs(Int)
    /// Batch-1 latency on this machine, nanoseconds.
    case latency(nanoseconds: Int)
    /// Batch-1 latency of the full network divided by `factor`.
    case speedup(factor: Double)

    public static let forms = "50%, remove 50%, keep 30%, 20M, 2.5e7, 1.2G, 1.5ms or 2x-faster"

    public var description: String {
        switch self {
        case .remove(let f): return "remove \(Budget.percent(f))"
        case .keep(let f): return "keep \(Budget.percent(f))"
        case .macs(let m): return "\(CountFormat.string(m)) MACs"
        case .latency(let ns): return "\(LatencyFormat.milliseconds(nanoseconds: ns)) latency"
        case .speedup(let f): return "\(Budget.factor(f))x faster"
        }
    }

    /// Whether the budget limits latency (and needs a latency model to resolve).
    public var isLatency: Bool {
        switch self {
        case .latency, .speedup: return true
        default: return false
        }
    }

    static func factor(_ f: Double) -> String {
        f == f.rounded() ? String(Int(f)) : String(format: "%g", f)
    }

    // MARK: Parsing

    /// Parses the syntax only (no model needed); `resolve` checks the range.
    public static func parse(_ text: String) throws -> Budget {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let lower = trimmed.lowercased()
        func fail(_ why: String) -> STPError {
            STPError(.budget, "budget '\(text)': \(why); expected a form like \(forms)")
        }
        func percent(_ body: Substring) throws -> Double {
            var s = body.trimmingCharacters(in: .whitespaces)
            guard s.hasSuffix("%") else { throw fail("expected a percentage ending in '%' after '\(lower.hasPrefix("keep") ? "keep" : "remove")'") }
            s.removeLast()
            let value = try number(s.trimmingCharacters(in: .whitespaces))
            guard value >= 0 else { throw fail("a percentage cannot be negative") }
            guard value <= 100 else { throw fail("a percentage cannot exceed 100%") }
            return value / 100
        }
        func number(_ s: String) throws -> Double {
            let allowed = Set("0123456789.eE+-")
            guard !s.isEmpty, s.allSatisfy({ allowed.contains($0) }), let v = Double(s), v.isFinite else {
                throw fail(s.isEmpty ? "the number is missing" : "'\(s)' is not a number")
            }
            return v
        }
        if let speedup = try speedupFactor(lower, number: number) {
            guard speedup > 1 else { throw fail("a speed-up must be more than 1x") }
            return .speedup(factor: speedup)
        }
        for (unit, scale) in [("ms", 1e6), ("us", 1e3), ("µs", 1e3), ("s", 1e9)] where lower.hasSuffix(unit) {
            let body = String(lower.dropLast(unit.count)).trimmingCharacters(in: .whitespaces)
            // "macs" and "flops" end in "s" too: only a number before the unit makes it a time.
            guard unit != "s" || (body.last.map { $0.isNumber || $0 == "." } ?? false) else { break }
            let ns = try number(body) * scale
            guard ns > 0 else { throw fail("a latency must be positive") }
            guard ns < 1e15 else { throw fail("\(body)\(unit) is too large") }
            return .latency(nanoseconds: Int(ns.rounded()))
        }
        if lower.hasPrefix("remove") { return .remove(fraction: try percent(lower.dropFirst("remove".count))) }
        if lower.hasPrefix("keep") { return .keep(fraction: try percent(lower.dropFirst("keep".count))) }
        if lower.hasSuffix("%") { return .remove(fraction: try percent(Substring(lower))) }

        var body = lower
        for unit in ["macs", "flops"] where body.hasSuffix(unit) {
            body = String(body.dropLast(unit.count)).trimmingCharacters(in: .whitespaces)
        }
        var scale = 1.0
        if let last = body.last, let s = ["k": 1e3, "m": 1e6, "g": 1e9][String(last)] {
            scale = s
            body = String(body.dropLast()).trimmingCharacters(in: .whitespaces)
        }
        let value = try number(body) * scale
        guard value >= 0 else { throw fail("MACs cannot be negative") }
        guard value < Double(Int.max / 2) else { throw fail("\(body) is too large") }
        return .macs(Int(value.rounded()))
    }

    /// "2x-faster", "2x faster", "2.5x": the factor; nil when the text is not a speed-up.
    private static func speedupFactor(_ lower: String, number: (String) throws -> Double) throws -> Double? {
        var body = lower
        for suffix in ["-faster", " faster", "faster"] where body.hasSuffix(suffix) {
            body = String(body.dropLast(suffix.count))
            break
        }
        body = body.trimmingCharacters(in: .whitespaces)
        guard body.hasSuffix("x"), body.count > 1 else { return nil }
        return try number(String(body.dropLast()).trimmingCharacters(in: .whitespaces))
    }

    // MARK: Resolution

    /// Target and search window of this budget for `space` (percentages relative to the full
    /// network of the space's spec). A latency budget needs `latency`, the batch-1 table measured
    /// on this machine; its target and window are in nanoseconds of predicted latency.
    public func resolve(for space: ArchitectureSpace, tolerance: Double = 0.03,
                        latency: LatencyTable? = nil) throws -> ResolvedBudget {
        guard tolerance >= 0, tolerance < 1 else {
            throw STPError(.budget, "budget tolerance \(tolerance) must be in [0, 1), e.g. 0.03")
        }
        if isLatency {
            guard let latency else {
                throw STPError(.budget, "budget \(shortText) is a latency budget: stp prune takes those (it measures the latency table on this machine); here use a FLOPs budget (\(Budget.flopsForms))")
            }
            return try resolveLatency(space: space, table: latency, tolerance: tolerance)
        }
        let limits = BudgetLimits(space: space)
        let target: Int
        switch self {
        case .remove(let f): target = Int((Double(limits.full) * (1 - f)).rounded(.down))
        case .keep(let f): target = Int((Double(limits.full) * f).rounded(.down))
        case .macs(let m): target = m
        case .latency, .speedup: preconditionFailure("resolved above")
        }
        if target < limits.smallest {
            let what: String
            switch self {
            case .remove: what = "removes more than the smallest architecture allows"
            case .keep: what = "keeps less than the smallest architecture"
            default: what = "is below the smallest architecture (\(CountFormat.string(limits.smallest)) MACs)"
            }
            throw STPError(.budget, "budget \(self.shortText) \(what): \(limits.range(in: self))")
        }
        if target >= limits.full {
            throw STPError(.budget, "budget \(self.shortText) does not prune anything (the full network has \(CountFormat.string(limits.full)) MACs): \(limits.range(in: self))")
        }
        if target > limits.largest {
            throw STPError(.budget, "budget \(self.shortText) is above the largest architecture of this space (\(CountFormat.string(limits.largest)) MACs): \(limits.range(in: self))")
        }
        let low = Int((Double(target) * (1 - tolerance)).rounded(.up))
        return ResolvedBudget(budget: self, measure: .macs, target: target, full: limits.full, tolerance: tolerance,
                              window: min(low, target)...target, latency: nil)
    }

    private func resolveLatency(space: ArchitectureSpace, table: LatencyTable, tolerance: Double) throws -> ResolvedBudget {
        let measure = CostMeasure.latency(table, stageStarts: space.cost.stageStarts)
        let smallest = measure.value(of: space.smallest), largest = measure.value(of: space.largest)
        let full = measure.value(of: Architecture.full(space.spec))
        let target: Int
        switch self {
        case .latency(let ns): target = ns
        case .speedup(let f): target = Int((Double(full) / f).rounded(.down))
        default: preconditionFailure("a FLOPs budget")
        }
        let ms = { LatencyFormat.milliseconds(nanoseconds: $0) }
        let range = "possible range on this machine is \(ms(smallest)) up to \(ms(min(largest, full - 1))) at batch 1 "
            + "(up to \(Budget.factor((Double(full) / Double(max(smallest, 1)) * 10).rounded(.down) / 10))x faster than the full network's \(ms(full)))"
        if target < smallest {
            throw STPError(.budget, "budget \(shortText) is faster than the smallest architecture of this space (predicted \(ms(smallest))): \(range)")
        }
        if target >= full {
            throw STPError(.budget, "budget \(shortText) does not prune anything (the full network's predicted latency is \(ms(full))): \(range)")
        }
        let low = Int((Double(target) * (1 - tolerance)).rounded(.up))
        return ResolvedBudget(budget: self, measure: .latency, target: min(target, largest), full: full, tolerance: tolerance,
                              window: min(low, target)...min(target, largest), latency: table)
    }

    /// Parses and resolves `text`; every error, a syntax error too, states the possible range.
    public static func resolve(_ text: String, for space: ArchitectureSpace, tolerance: Double = 0.03,
                               latency: LatencyTable? = nil) throws -> ResolvedBudget {
        try resolveSyntax(text, for: space).resolve(for: space, tolerance: tolerance, latency: latency)
    }

    /// Parses `text`; a syntax error states the possible range of `space`.
    @discardableResult
    static func resolveSyntax(_ text: String, for space: ArchitectureSpace) throws -> Budget {
        do {
            return try parse(text)
        } catch let e as STPError {
            throw STPError(.budget, "\(e.message); \(BudgetLimits(space: space).range(in: .remove(fraction: 0.5)))")
        }
    }

    static let flopsForms = "50%, remove 50%, keep 30%, 20M, 2.5e7 or 1.2G"

    /// What the user typed, normalised: "99%", "keep 5%", "1M".
    var shortText: String {
        switch self {
        case .remove(let f): return Budget.percent(f)
        case .keep(let f): return "keep \(Budget.percent(f))"
        case .macs(let m): return CountFormat.string(m)
        case .latency(let ns): return LatencyFormat.milliseconds(nanoseconds: ns).replacingOccurrences(of: " ", with: "")
        case .speedup(let f): return "\(Budget.factor(f))x-faster"
        }
    }

    /// 0.873 -> "87.3%", 0.5 -> "50%"; `.up`/`.down` round the tenth of a percent.
    static func percent(_ fraction: Double, rounding: FloatingPointRoundingRule = .toNearestOrAwayFromZero) -> String {
        let tenths = Int((fraction * 1000).rounded(rounding))
        return tenths % 10 == 0 ? "\(tenths / 10)%" : "\(tenths / 10).\(tenths % 10)%"
    }
}

/// A budget resolved for one model and space.
public struct ResolvedBudget: Equatable, Sendable, CustomStringConvertible {
    public let budget: Budget
    /// What the budget limits: MACs, or predicted batch-1 latency in nanoseconds.
    public let measure: CostMeasure.Kind
    /// Upper end of the window, in the measure's units.
    public let target: Int
    /// The full network in the measure's units.
    public let full: Int
    public let tolerance: Double
    /// [target * (1 - tolerance), target]: what an acceptable architecture may cost.
    public let window: ClosedRange<Int>
    /// The table a latency budget was resolved with.
    public let latency: LatencyTable?

    /// The MACs target of a FLOPs budget; nil for a latency budget.
    public var targetMACs: Int? { measure == .macs ? target : nil }
    /// Share of the full network's cost (MACs or latency) removed at the target.
    public var removedFraction: Double { 1 - Double(target) / Double(full) }

    /// The measure the search repairs and ranks by.
    public func costMeasure(in space: ArchitectureSpace) -> CostMeasure {
        if let latency { return .latency(latency, stageStarts: space.cost.stageStarts) }
        return .macs(space.cost)
    }

    public var description: String {
        switch measure {
        case .macs:
            return "\(budget): at most \(CountFormat.string(target)) MACs (\(Budget.percent(removedFraction)) removed), "
                + "window \(CountFormat.string(window.lowerBound))...\(CountFormat.string(window.upperBound)) MACs"
        case .latency:
            let ms = { LatencyFormat.milliseconds(nanoseconds: $0) }
            return "\(budget): at most \(ms(target)) at batch 1 (full network \(ms(full)), predicted on this machine), "
                + "window \(ms(window.lowerBound))...\(ms(window.upperBound))"
        }
    }
}

/// The MACs a budget can target in a space, and how to say so.
struct BudgetLimits {
    let smallest: Int, largest: Int, full: Int

    init(space: ArchitectureSpace) {
        smallest = space.cost.macs(of: space.smallest)
        largest = space.cost.macs(of: space.largest)
        full = space.cost.full.macs
    }

    /// Largest reachable target: the largest architecture, but strictly below the full network.
    private var top: Int { min(largest, full - 1) }

    /// "possible range: ..." in the units of `budget`, with the other units in parentheses.
    func range(in budget: Budget) -> String {
        let fullF = Double(full)
        let topIsFull = top == full - 1
        let removedLow = topIsFull ? "above 0%" : Budget.percent(1 - Double(top) / fullF, rounding: .up)
        let removedHigh = Budget.percent(1 - Double(smallest) / fullF, rounding: .down)
        let keepLow = Budget.percent(Double(smallest) / fullF, rounding: .up)
        let keepHigh = topIsFull ? "below 100%" : Budget.percent(Double(top) / fullF, rounding: .down)
        let macsLow = CountFormat.string(smallest, rounding: .up)
        let macsHigh = topIsFull ? "below \(CountFormat.string(full))" : CountFormat.string(top, rounding: .down)
        let removed = "\(removedLow) up to \(removedHigh) FLOPs removed"
        let kept = "keep \(keepLow) up to \(keepHigh) of the FLOPs"
        let macs = "\(macsLow) up to \(macsHigh) MACs"
        switch budget {
        case .remove: return "possible range is \(removed) (\(macs))"
        case .keep: return "possible range is \(kept) (\(macs))"
        case .macs, .latency, .speedup: return "possible range is \(macs) (\(removed))"
        }
    }
}
