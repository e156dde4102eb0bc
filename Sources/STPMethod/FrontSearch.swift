import STPEngine

// The trade-off curve over the whole space: KD fitness (and held-out accuracy) against FLOPs, from
// the smallest subnet to the full network, so a person can see what each budget buys before
// choosing one. Evolution per FLOPs bucket: the MACs range of the space is cut into equal
// buckets, and each round gives every bucket a few new candidates (random ones until it holds
// `seedsPerBucket`, then mutations and crossovers of its best ones, fitted back into the bucket),
// and the first round evaluates the two ends, the smallest subnet and the full network.
// It shares KDGuidedSearch's evaluation cache both ways: every candidate a budget search
// evaluated counts for the front, and every front candidate seeds later budget searches. Rounds
// can be run whenever there is time (the explorer runs one per epoch); each continues the last.
//
// Why buckets and not NSGA-II: fitness against FLOPs is a two-objective problem with one cheap,
// exactly known objective; equal-width buckets spread the effort evenly along the x axis that
// the user reads, and each bucket's evolution is the budget search's own (same operators, same
// fit into a window), so the front's best candidate at a FLOPs value is what a budget search
// there would start from.

public struct FrontOptions: Codable, Sendable, Equatable {
    /// Equal-width MACs buckets from the smallest architecture to the full network.
    public var buckets = 12
    /// Random candidates a bucket gets before it evolves.
    public var seedsPerBucket = 2
    /// New candidates per bucket and round once it evolves.
    public var childrenPerBucket = 2
    /// A bucket's best candidates (by fitness) that breed its children.
    public var parentsPerBucket = 2
    public init() {}

    public func validate() throws {
        guard buckets >= 1, seedsPerBucket >= 1, childrenPerBucket >= 1, parentsPerBucket >= 1 else {
            throw STPError(.argument, "front search: --front-buckets must be at least 1 (got \(buckets)); seeds, children and parents per bucket at least 1")
        }
    }
}

/// One point of the front: a non-dominated candidate and the bucket it falls in.
public struct FrontPoint: Codable, Sendable, Equatable {
    public var bucket: Int
    public var bucketMACs: ClosedRange<Int>
    public var candidate: Candidate
}

public struct FrontResult: Sendable {
    /// Candidates no other evaluated candidate beats in both MACs (fewer or equal) and fitness,
    /// cheapest first.
    public var front: [FrontPoint]
    /// Every bucket's MACs range, cheapest first.
    public var buckets: [ClosedRange<Int>]
    /// Every candidate evaluated on these weights, cheapest first.
    public var evaluated: [Candidate]
    public var evaluations: Int
    public var cancelled: Bool
}

extension KDGuidedSearch {
    /// The buckets of `options`: the MACs from the space's smallest to its largest architecture,
    /// in equal parts (the last one ends at the full network).
    public func frontBuckets(_ options: FrontOptions) -> [ClosedRange<Int>] {
        let lo = space.cost.macs(of: space.smallest), hi = space.cost.macs(of: space.largest)
        let n = max(1, options.buckets)
        return (0..<n).map { b in
            let start = lo + Int((Double(hi - lo) * Double(b) / Double(n)).rounded(.down))
            let end = b == n - 1 ? hi : lo + Int((Double(hi - lo) * Double(b + 1) / Double(n)).rounded(.down)) - 1
            return start...max(start, end)
        }
    }

    /// Runs `rounds` rounds of the front search (see the top of this file) and returns the front
    /// of everything evaluated so far. Deterministic for the search's seed and the number of
    /// rounds run before; cancellable between evaluations (then `cancelled`).
    public func improveFront(_ options: FrontOptions, rounds: Int = 1, shouldCancel: () -> Bool = { false }) throws -> FrontResult {
        try options.validate()
        let buckets = frontBuckets(options)
        for _ in 0..<max(0, rounds) {
            var rng = SeededRandom(seed: self.options.seed &* 0x9E37_79B9 &+ 0xF207 &+ UInt64(frontRoundsRun) &* 7919)
            frontRoundsRun += 1
            var seen = Set(cachedCandidates.keys)
            var wanted = [Architecture]()
            func add(_ a: Architecture?) { if let a, seen.insert(a).inserted { wanted.append(a) } }
            // The two ends of the curve: the smallest subnet and the full network.
            add(space.smallest)
            add(space.largest)
            let all = Array(cachedCandidates.values)
            for window in buckets {
                let members = all.filter { window.contains($0.macs) }.sorted { ($0.fitness, $0.macs) < ($1.fitness, $1.macs) }
                if members.count < options.seedsPerBucket {
                    for _ in members.count..<options.seedsPerBucket { add(space.randomArchitecture(in: window, using: &rng)) }
                    continue
                }
                let parents = Array(members.prefix(options.parentsPerBucket))
                for c in 0..<options.childrenPerBucket {
                    let p = parents[c % parents.count].architecture
                    let child: Architecture
                    if c % 2 == 1 && parents.count >= 2 {
                        child = space.crossover(parents[0].architecture, parents[1].architecture, using: &rng)
                    } else {
                        child = space.mutate(p, probability: max(self.options.mutationProbability, 0.2), using: &rng)
                    }
                    add(space.fit(child, into: window, using: &rng))
                }
            }
            guard try evaluateAll(wanted, shouldCancel: shouldCancel) != nil else {
                return frontResult(buckets: buckets, cancelled: true)
            }
        }
        return frontResult(buckets: buckets, cancelled: false)
    }

    /// The front of everything evaluated so far over `buckets`.
    func frontResult(buckets: [ClosedRange<Int>], cancelled: Bool) -> FrontResult {
        let front = KDGuidedSearch.pareto(Array(cachedCandidates.values)).map { c in
            let b = buckets.firstIndex { $0.contains(c.macs) } ?? (c.macs < buckets[0].lowerBound ? 0 : buckets.count - 1)
            return FrontPoint(bucket: b, bucketMACs: buckets[b], candidate: c)
        }
        let evaluated = cachedCandidates.values.sorted { ($0.macs, $0.fitness) < ($1.macs, $1.fitness) }
        return FrontResult(front: front, buckets: buckets, evaluated: evaluated, evaluations: evaluationCount, cancelled: cancelled)
    }
}

extension FrontResult {
    /// front.csv: one row per front point, cheapest first.
    public var csv: String {
        var lines = ["bucket,bucket_min_macs,bucket_max_macs,macs,params,fitness,accuracy,architecture"]
        for p in front {
            let c = p.candidate
            lines.append("\(p.bucket),\(p.bucketMACs.lowerBound),\(p.bucketMACs.upperBound),\(c.macs),\(c.parameters),"
                         + "\(c.fitness),\(c.accuracy.isFinite ? String(c.accuracy) : ""),\"\(c.architecture)\"")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// front.json: the points as the CSV has them, plus the buckets and the evaluations.
    public func file(fullMACs: Int) -> FrontFile {
        FrontFile(fullMACs: fullMACs, evaluations: evaluations, buckets: buckets.map { [$0.lowerBound, $0.upperBound] },
                  front: front.map { p in
                      FrontFile.Row(bucket: p.bucket, bucketMACs: [p.bucketMACs.lowerBound, p.bucketMACs.upperBound],
                                    macs: p.candidate.macs, params: p.candidate.parameters, fitness: p.candidate.fitness,
                                    accuracy: p.candidate.accuracy.isFinite ? p.candidate.accuracy : nil,
                                    architecture: p.candidate.architecture.description)
                  })
    }
}

public struct FrontFile: Codable, Sendable, Equatable {
    public struct Row: Codable, Sendable, Equatable {
        public var bucket: Int
        public var bucketMACs: [Int]
        public var macs: Int
        public var params: Int
        public var fitness: Double
        public var accuracy: Double?
        public var architecture: String
    }
    public var fullMACs: Int
    public var evaluations: Int
    public var buckets: [[Int]]
    public var front: [Row]
}
