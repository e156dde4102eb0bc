import STPEngine
import STPMethod

// The rows of the candidates table: the snapshot's candidates filtered by the `/` text and
// sorted by the chosen column. Pure, so the reducer and the panel agree on what row k is.

public enum CandidateSort: String, CaseIterable, Sendable {
    case macs = "FLOPs"
    case parameters = "params"
    case fitness = "KD fitness"
    case accuracy = "top-1"
    case latency = "latency"

    public var next: CandidateSort {
        let all = CandidateSort.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }
}

/// The accuracy plot's x axis: FLOPs, or the latency model's predicted batch-1 latency.
public enum PlotAxis: String, Sendable {
    case macs = "MACs"
    case latency = "latency"
}

public enum CandidateList {
    /// "depth 2,1,3 w 62%,100%,75%": the table's summary column.
    public static func summary(_ a: Architecture, spec: ResNetSpec?) -> String {
        guard let spec else { return a.text }
        let ratios = a.meanWidthRatios(for: spec).map { "\(Int(($0 * 100).rounded()))%" }
        return "d \(a.depthString)  w \(ratios.joined(separator: ","))"
    }

    public static func matches(_ c: Candidate, filter: String, spec: ResNetSpec?) -> Bool {
        let f = filter.trimmingCharacters(in: .whitespaces).lowercased()
        guard !f.isEmpty else { return true }
        let haystack = (c.architecture.text + " " + summary(c.architecture, spec: spec) + " " + CountFormat.string(c.macs)).lowercased()
        return haystack.contains(f)
    }

    public static func rows(_ snapshot: ExplorerSnapshot, filter: String, sort: CandidateSort, descending: Bool) -> [Candidate] {
        let kept = snapshot.candidates.filter { matches($0, filter: filter, spec: snapshot.spec) }
        func key(_ c: Candidate) -> Double {
            switch sort {
            case .macs: return Double(c.macs)
            case .parameters: return Double(c.parameters)
            case .fitness: return c.fitness
            case .accuracy: return c.accuracy.isNaN ? -1 : c.accuracy
            // Without a latency model no candidate has one: the order is then the FLOPs order.
            case .latency: return c.latencyMilliseconds ?? Double(c.macs)
            }
        }
        // Ties broken by FLOPs then text, so the order never flickers between snapshots.
        let sorted = kept.sorted { a, b in
            let (ka, kb) = (key(a), key(b))
            if ka != kb { return descending ? ka > kb : ka < kb }
            if a.macs != b.macs { return a.macs < b.macs }
            return a.architecture.text < b.architecture.text
        }
        return sorted
    }
}

import Foundation
