import STPEngine

// The configurable architecture space of a supernet (METHOD.md section 2) and the operators the
// search and stimulative training use on it: sampling, mutation, crossover and repair into a
// FLOPs window. Every operator returns an architecture of the space (tests check it over many
// seeds).
//
// Genes: the kept depth of every stage and the inner width of every kept block. Stages and
// blocks are numbered from 0 in the API and from 1 in messages ("stage 2 block 1").

public struct ArchitectureSpaceOptions: Codable, Equatable, Sendable {
    public static let defaultWidthRatios = [0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0]

    /// Kept inner width as ratios of each block's full inner width.
    public var widthRatios: [Double]
    /// Widths are rounded to the nearest multiple of this (halves away from zero), then clamped to
    /// divisor...full width. 1 keeps exact ratios; 4 or 8 give hardware-friendly channel counts.
    public var divisor: Int
    /// Minimum kept depth of every stage (capped at the stage's block count); nil means 1.
    public var minDepths: [Int]?
    /// Stages (0-based) kept whole: full depth, full widths.
    public var pinnedStages: [Int]
    /// Blocks (0-based network order) kept at full width; their stage keeps at least up to them.
    public var pinnedBlocks: [Int]

    public init(widthRatios: [Double] = ArchitectureSpaceOptions.defaultWidthRatios, divisor: Int = 1,
                minDepths: [Int]? = nil, pinnedStages: [Int] = [], pinnedBlocks: [Int] = []) {
        self.widthRatios = widthRatios
        self.divisor = divisor
        self.minDepths = minDepths
        self.pinnedStages = pinnedStages
        self.pinnedBlocks = pinnedBlocks
    }

    /// The same minimum depth for every stage.
    public init(widthRatios: [Double] = ArchitectureSpaceOptions.defaultWidthRatios, divisor: Int = 1,
                minDepth: Int, stageCount: Int, pinnedStages: [Int] = [], pinnedBlocks: [Int] = []) {
        self.init(widthRatios: widthRatios, divisor: divisor, minDepths: Array(repeating: minDepth, count: stageCount),
                  pinnedStages: pinnedStages, pinnedBlocks: pinnedBlocks)
    }
}

public struct ArchitectureSpace: Equatable, Sendable {
    public let spec: ResNetSpec
    public let options: ArchitectureSpaceOptions
    public let cost: CostModel
    /// Allowed inner widths of every block (network order), ascending, without repeats.
    public let allowedWidths: [[Int]]
    /// Smallest allowed depth of every stage (the minimum depth raised by pins).
    public let minDepths: [Int]
    /// Largest allowed depth of every stage (its block count).
    public var maxDepths: [Int] { spec.blocksPerStage }

    public init(spec: ResNetSpec, options: ArchitectureSpaceOptions = ArchitectureSpaceOptions()) throws {
        try spec.validate()
        let o = options
        let stages = spec.blocksPerStage.count
        guard !o.widthRatios.isEmpty, o.widthRatios.allSatisfy({ $0 > 0 && $0 <= 1 }) else {
            throw STPError(.argument, "architecture space: width ratios \(o.widthRatios) must be non-empty, each in (0, 1]")
        }
        guard o.divisor >= 1 else {
            throw STPError(.argument, "architecture space: width divisor \(o.divisor) must be a positive integer (e.g. 1, 4, 8, 16)")
        }
        var mins = o.minDepths ?? Array(repeating: 1, count: stages)
        guard mins.count == stages else {
            throw STPError(.argument, "architecture space: \(mins.count) minimum depths for \(stages) stages of \(spec.name); expected one per stage")
        }
        for (s, m) in mins.enumerated() {
            guard m >= 1 else {
                throw STPError(.argument, "architecture space: minimum depth \(m) of stage \(s + 1) must be at least 1 (the first block is always kept)")
            }
            mins[s] = min(m, spec.blocksPerStage[s])
        }
        for s in o.pinnedStages where !(0..<stages).contains(s) {
            throw STPError(.argument, "architecture space: pinned stage index \(s) does not exist; \(spec.name) has stages 0...\(stages - 1)")
        }
        for b in o.pinnedBlocks where !(0..<spec.blockCount).contains(b) {
            throw STPError(.argument, "architecture space: pinned block index \(b) does not exist; \(spec.name) has blocks 0...\(spec.blockCount - 1)")
        }
        let pinnedStages = Set(o.pinnedStages), pinnedBlocks = Set(o.pinnedBlocks)
        let inner = spec.innerWidths
        var allowed = [[Int]]()
        var b = 0
        for (s, n) in spec.blocksPerStage.enumerated() {
            if pinnedStages.contains(s) { mins[s] = n }
            for i in 0..<n {
                let full = inner[b]
                if pinnedStages.contains(s) || pinnedBlocks.contains(b) {
                    allowed.append([full])
                    mins[s] = max(mins[s], i + 1)
                } else {
                    allowed.append(Set(o.widthRatios.map { ArchitectureSpace.round(ratio: $0, full: full, divisor: o.divisor) }).sorted())
                }
                b += 1
            }
        }
        self.spec = spec
        self.options = o
        self.cost = CostModel(spec: spec)
        self.allowedWidths = allowed
        self.minDepths = mins
    }

    /// ratio * full rounded to the nearest multiple of `divisor` (halves away from zero), at
    /// least `divisor` and at most `full`.
    public static func round(ratio: Double, full: Int, divisor: Int) -> Int {
        let multiples = (ratio * Double(full) / Double(divisor)).rounded(.toNearestOrAwayFromZero)
        return min(full, max(divisor, Int(multiples) * divisor))
    }

    /// Allowed widths of block `position` (0-based) of stage `stage`.
    public func allowedWidths(stage: Int, position: Int) -> [Int] {
        allowedWidths[cost.stageStarts[stage] + position]
    }

    // MARK: Membership

    /// Throws, naming the stage, block and the allowed values, unless `a` is in the space.
    public func validate(_ a: Architecture) throws {
        try a.validate(for: spec)
        for s in 0..<a.stageCount {
            let d = a.depths[s]
            guard d >= minDepths[s] else {
                throw STPError(.argument, "architecture \(a.text): stage \(s + 1) keeps \(d) blocks; this space needs \(minDepths[s])...\(maxDepths[s]) (minimum depth or pinned blocks)")
            }
            for (i, k) in a.widths[s].enumerated() {
                let choices = allowedWidths(stage: s, position: i)
                guard choices.contains(k) else {
                    throw STPError(.argument, "architecture \(a.text): stage \(s + 1) block \(i + 1) has width \(k); allowed widths there are \(choices.map(String.init).joined(separator: ", "))")
                }
            }
        }
    }

    public func contains(_ a: Architecture) -> Bool { (try? validate(a)) != nil }

    // MARK: Extremes and size

    /// Minimum depth, smallest widths: the fewest FLOPs and parameters in the space.
    public var smallest: Architecture {
        Architecture(unchecked: (0..<minDepths.count).map { s in (0..<minDepths[s]).map { allowedWidths(stage: s, position: $0).first! } })
    }

    /// Full depth, largest widths: the most FLOPs and parameters in the space.
    public var largest: Architecture {
        Architecture(unchecked: (0..<minDepths.count).map { s in (0..<maxDepths[s]).map { allowedWidths(stage: s, position: $0).last! } })
    }

    /// Number of architectures of each stage: sum over depths d of the product of the first d
    /// blocks' choice counts (as a Double: large spaces overflow Int).
    private func stageCounts() -> [Double] {
        (0..<minDepths.count).map { s in
            var total = 0.0, product = 1.0
            for i in 0..<maxDepths[s] {
                product *= Double(allowedWidths(stage: s, position: i).count)
                if i + 1 >= minDepths[s] { total += product }
            }
            return total
        }
    }

    /// Number of architectures in the space (approximate beyond 2^53).
    public var count: Double { stageCounts().reduce(1, *) }

    /// Exact number of architectures, or nil when it does not fit an Int.
    public var exactCount: Int? {
        var total = 1
        for s in 0..<minDepths.count {
            var stageTotal = 0, product = 1
            for i in 0..<maxDepths[s] {
                let (p, o1) = product.multipliedReportingOverflow(by: allowedWidths(stage: s, position: i).count)
                if o1 { return nil }
                product = p
                if i + 1 >= minDepths[s] {
                    let (t, o2) = stageTotal.addingReportingOverflow(product)
                    if o2 { return nil }
                    stageTotal = t
                }
            }
            let (t, o) = total.multipliedReportingOverflow(by: stageTotal)
            if o { return nil }
            total = t
        }
        return total
    }

    /// Every architecture of the space, for tests and tiny models. Throws when there are more
    /// than `limit`.
    public func allArchitectures(limit: Int = 100_000) throws -> [Architecture] {
        guard let n = exactCount, n <= limit else {
            throw STPError(.argument, "architecture space of \(spec.name) has \(count) architectures; enumeration is limited to \(limit)")
        }
        var perStage = [[[Int]]]()
        for s in 0..<minDepths.count {
            var options = [[Int]]()
            var prefixes: [[Int]] = [[]]
            for i in 0..<maxDepths[s] {
                let choices = allowedWidths(stage: s, position: i)
                prefixes = prefixes.flatMap { p in choices.map { p + [$0] } }
                if i + 1 >= minDepths[s] { options += prefixes }
            }
            perStage.append(options)
        }
        var result: [[[Int]]] = [[]]
        for options in perStage {
            result = result.flatMap { r in options.map { r + [$0] } }
        }
        return result.map { Architecture(unchecked: $0) }
    }

    // MARK: Sampling

    /// Uniform per gene, as the stimulative-training code samples: each stage's depth uniformly
    /// in its allowed range, each kept block's width uniformly among its allowed widths. (Uniform
    /// over the set of architectures would almost always pick full depth, because deeper stages
    /// have exponentially more width combinations.)
    public func randomArchitecture<R: RandomNumberGenerator>(using rng: inout R) -> Architecture {
        Architecture(unchecked: (0..<minDepths.count).map { s in
            let d = Int.random(in: minDepths[s]...maxDepths[s], using: &rng)
            return (0..<d).map { allowedWidths(stage: s, position: $0).randomElement(using: &rng)! }
        })
    }

    /// FLOPs-stratified sampling (METHOD.md section 3, option): draw a target MACs level
    /// uniformly between the smallest and the largest architecture, then return an architecture
    /// near it. For each of `candidates` per-gene-uniform draws, one-step gene moves (repair)
    /// bring it into target +- `spread` x (max - min) when they can; the candidate closest to
    /// the target is returned. Small and large subnets are therefore seen about equally often,
    /// where per-gene sampling concentrates around the middle of the FLOPs range.
    public func stratifiedArchitecture<R: RandomNumberGenerator>(using rng: inout R, candidates: Int = 3,
                                                                 spread: Double = 0.02) -> Architecture {
        let lo = cost.macs(of: smallest), hi = cost.macs(of: largest)
        let target = lo + Int((Double(hi - lo) * Double.random(in: 0...1, using: &rng)).rounded())
        let half = max(1, Int(Double(hi - lo) * spread))
        var best: (Architecture, Int)?
        for _ in 0..<max(1, candidates) {
            var a = randomArchitecture(using: &rng)
            if let repaired = repair(a, into: max(lo, target - half)...min(hi, target + half), using: &rng) { a = repaired }
            let distance = abs(cost.macs(of: a) - target)
            if best == nil || distance < best!.1 { best = (a, distance) }
            if distance <= half { break }
        }
        return best!.0
    }

    // MARK: Evolution operators

    /// Each gene (every stage's depth, every kept block's width) is resampled from its allowed
    /// values with probability `probability`; blocks added by a deeper depth get random widths.
    /// The parent must be in the space; so is the child.
    public func mutate<R: RandomNumberGenerator>(_ parent: Architecture, probability: Double,
                                                 using rng: inout R) -> Architecture {
        var widths = parent.widths
        for s in 0..<widths.count {
            if Double.random(in: 0..<1, using: &rng) < probability {
                let d = Int.random(in: minDepths[s]...maxDepths[s], using: &rng)
                if d < widths[s].count {
                    widths[s].removeLast(widths[s].count - d)
                } else {
                    for i in widths[s].count..<d { widths[s].append(allowedWidths(stage: s, position: i).randomElement(using: &rng)!) }
                }
            }
            for i in widths[s].indices where Double.random(in: 0..<1, using: &rng) < probability {
                widths[s][i] = allowedWidths(stage: s, position: i).randomElement(using: &rng)!
            }
        }
        return Architecture(unchecked: widths)
    }

    /// Uniform crossover: each stage's depth and each block's width comes from either parent with
    /// probability 1/2; a block that only one parent keeps takes that parent's width. Both parents
    /// must be in the space; so is the child.
    public func crossover<R: RandomNumberGenerator>(_ a: Architecture, _ b: Architecture,
                                                    using rng: inout R) -> Architecture {
        var widths = [[Int]]()
        for s in 0..<a.stageCount {
            let wa = a.widths[s], wb = b.widths[s]
            let d = Bool.random(using: &rng) ? wa.count : wb.count
            widths.append((0..<d).map { i in
                if i < wa.count && i < wb.count { return Bool.random(using: &rng) ? wa[i] : wb[i] }
                return i < wa.count ? wa[i] : wb[i]
            })
        }
        return Architecture(unchecked: widths)
    }

    // MARK: FLOPs windows

    /// Moves `a` into window `window` of `measure` (MACs when nil) by random one-step gene moves: while above the window,
    /// a random shrinking move (drop a stage's last block or narrow a block to its next smaller
    /// width); then, while below, a random growing move that does not overshoot the window (add a
    /// block at a random width that fits, or widen a block to its next larger width). Returns nil
    /// when no move reaches the window. The input must be in the space; so is the result.
    public func repair<R: RandomNumberGenerator>(_ a: Architecture, into window: ClosedRange<Int>,
                                                 measure: CostMeasure? = nil, using rng: inout R) -> Architecture? {
        let measure = measure ?? .macs(cost)
        var widths = a.widths
        var value = measure.value(of: a)
        func term(_ s: Int, _ i: Int, _ k: Int) -> Int { measure.blockTerm(stage: s, position: i, width: k) }

        while value > window.upperBound {
            var moves = [RepairMove]()
            for s in widths.indices {
                if widths[s].count > minDepths[s] { moves.append(.drop(s)) }
                for i in widths[s].indices {
                    let choices = allowedWidths(stage: s, position: i)
                    if let j = choices.firstIndex(of: widths[s][i]), j > 0 { moves.append(.narrow(s, i, choices[j - 1])) }
                }
            }
            guard let move = moves.randomElement(using: &rng) else { return nil }
            switch move {
            case .drop(let s):
                value -= term(s, widths[s].count - 1, widths[s].last!)
                widths[s].removeLast()
            case .narrow(let s, let i, let k):
                value += term(s, i, k) - term(s, i, widths[s][i])
                widths[s][i] = k
            default: break
            }
        }
        while value < window.lowerBound {
            var moves = [RepairMove]()
            for s in widths.indices {
                let d = widths[s].count
                if d < maxDepths[s] {
                    let fitting = allowedWidths(stage: s, position: d).filter { value + term(s, d, $0) <= window.upperBound }
                    if let k = fitting.randomElement(using: &rng) { moves.append(.add(s, k)) }
                }
                for i in widths[s].indices {
                    let choices = allowedWidths(stage: s, position: i)
                    if let j = choices.firstIndex(of: widths[s][i]), j + 1 < choices.count,
                       value + term(s, i, choices[j + 1]) - term(s, i, widths[s][i]) <= window.upperBound {
                        moves.append(.widen(s, i, choices[j + 1]))
                    }
                }
            }
            guard let move = moves.randomElement(using: &rng) else { return nil }
            switch move {
            case .add(let s, let k):
                value += term(s, widths[s].count, k)
                widths[s].append(k)
            case .widen(let s, let i, let k):
                value += term(s, i, k) - term(s, i, widths[s][i])
                widths[s][i] = k
            default: break
            }
        }
        return Architecture(unchecked: widths)
    }

    /// A random architecture with MACs (or `measure`) in `window`: per-gene samples repaired into
    /// the window, up to `attempts` tries; nil when none succeeds (the window may be empty).
    public func randomArchitecture<R: RandomNumberGenerator>(in window: ClosedRange<Int>, measure: CostMeasure? = nil,
                                                             using rng: inout R, attempts: Int = 100) -> Architecture? {
        for _ in 0..<max(1, attempts) {
            if let a = repair(randomArchitecture(using: &rng), into: window, measure: measure, using: &rng) { return a }
        }
        return nil
    }

    /// `a` itself when its MACs (or `measure`) are in `window`, else a repair of it, else a fresh
    /// sample in the window: what the search does with children that miss the budget (METHOD.md
    /// section 6).
    public func fit<R: RandomNumberGenerator>(_ a: Architecture, into window: ClosedRange<Int>, measure: CostMeasure? = nil,
                                              using rng: inout R, attempts: Int = 100) -> Architecture? {
        let measure = measure ?? .macs(cost)
        if window.contains(measure.value(of: a)) { return a }
        for _ in 0..<max(1, attempts / 2) {
            if let r = repair(a, into: window, measure: measure, using: &rng) { return r }
        }
        return randomArchitecture(in: window, measure: measure, using: &rng, attempts: attempts)
    }
}

/// One step of `ArchitectureSpace.repair`: stage s (and block i) with the new width k.
private enum RepairMove { case drop(Int), narrow(Int, Int, Int), add(Int, Int), widen(Int, Int, Int) }
