import Foundation
import STPEngine

// FLOPs budgets as a user writes them, and their resolution to a MACs target and a search window
// (METHOD.md section 6).
//
//   "50%", "remove 50%"      FLOPs removed (relative to the full network)
//   "keep 30%"               FLOPs kept
//   "20M", "2.5e7", "1.2G"   absolute MACs (K = 1e3, M = 1e6, G = 1e9; an optional trailing
//                            "MACs" or "FLOPs" is ignored; a bare number is MACs)
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

    public static let forms = "50%, remove 50%, keep 30%, 20M, 2.5e7 or 1.2G"

    public var description: String {
        switch self {
        case .remove(let f): return "remove \(Budget.percent(f))"
        case .keep(let f): return "keep \(Budget.percent(f))"
        case .macs(let m): return "\(CountFormat.string(m)) MACs"
        }
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

    // MARK: Resolution

    /// Target MACs and search window of this budget for `space` (percentages relative to the
    /// full network of the space's spec).
    public func resolve(for space: ArchitectureSpace, tolerance: Double = 0.03) throws -> ResolvedBudget {
        guard tolerance >= 0, tolerance < 1 else {
            throw STPError(.budget, "budget tolerance \(tolerance) must be in [0, 1), e.g. 0.03")
        }
        let limits = BudgetLimits(space: space)
        let target: Int
        switch self {
        case .remove(let f): target = Int((Double(limits.full) * (1 - f)).rounded(.down))
        case .keep(let f): target = Int((Double(limits.full) * f).rounded(.down))
        case .macs(let m): target = m
        }
        if target < limits.smallest {
            let what: String
            switch self {
            case .remove: what = "removes more than the smallest architecture allows"
            case .keep: what = "keeps less than the smallest architecture"
            case .macs: what = "is below the smallest architecture (\(CountFormat.string(limits.smallest)) MACs)"
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
        return ResolvedBudget(budget: self, targetMACs: target, fullMACs: limits.full, tolerance: tolerance,
                              window: min(low, target)...target)
    }

    /// Parses and resolves `text`; every error, a syntax error too, states the possible range.
    public static func resolve(_ text: String, for space: ArchitectureSpace, tolerance: Double = 0.03) throws -> ResolvedBudget {
        let budget: Budget
        do {
            budget = try parse(text)
        } catch let e as STPError {
            throw STPError(.budget, "\(e.message); \(BudgetLimits(space: space).range(in: .remove(fraction: 0.5)))")
        }
        return try budget.resolve(for: space, tolerance: tolerance)
    }

    /// What the user typed, normalised: "99%", "keep 5%", "1M".
    var shortText: String {
        switch self {
        case .remove(let f): return Budget.percent(f)
        case .keep(let f): return "keep \(Budget.percent(f))"
        case .macs(let m): return CountFormat.string(m)
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
    /// Upper end of the window: at most this many MACs.
    public let targetMACs: Int
    public let fullMACs: Int
    public let tolerance: Double
    /// [target * (1 - tolerance), target], the MACs an acceptable architecture may have.
    public let window: ClosedRange<Int>

    public var removedFraction: Double { 1 - Double(targetMACs) / Double(fullMACs) }

    public var description: String {
        "\(budget): at most \(CountFormat.string(targetMACs)) MACs (\(Budget.percent(removedFraction)) removed), "
            + "window \(CountFormat.string(window.lowerBound))...\(CountFormat.string(window.upperBound)) MACs"
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
        case .macs: return "possible range is \(macs) (\(removed))"
        }
    }
}
