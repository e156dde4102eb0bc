import STPEngine

// KD-guided exploration (METHOD.md section 6): an evolutionary search over the architecture space
// under a FLOPs window, whose fitness is the distillation loss KL(full || candidate) on a fixed
// set of held-out training images (no labels needed), each candidate's BN statistics recalibrated
// first. Validation accuracy is computed too, for display and the accuracy-versus-FLOPs plot.
// Every evaluation is cached by architecture, so a new budget reuses all earlier work, and the
// search is deterministic for a seed. It runs on its own copy of the weights and can be
// cancelled between evaluations.
//
// In a data-parallel job (docs/SCALING.md) every rank runs the same evolution; the candidates
// of each round (the first population, then each generation's children) are split over the
// ranks, each evaluates its share on its own weights, and one allreduce gives every rank every
// result, so all ranks keep the same cache and population and pick the same best candidate.

public struct SearchOptions: Codable, Sendable, Equatable {
    public var population = 50
    public var parents = 10
    public var generations = 20
    public var mutationProbability = 0.1
    public var tolerance = 0.03
    public var seed: UInt64 = 0
    public init() {}

    public func validate() throws {
        guard population >= 2, parents >= 1, parents <= population, generations >= 0,
              (0...1).contains(mutationProbability), (0..<1).contains(tolerance) else {
            throw STPError(.argument, "search needs population >= 2, 1 <= parents <= population, generations >= 0, mutation probability in [0, 1] and tolerance in [0, 1)")
        }
    }
}

public struct Candidate: Codable, Sendable, Equatable {
    public var architecture: Architecture
    public var macs: Int
    public var parameters: Int
    /// KL(full || candidate), lower is better.
    public var fitness: Double
    /// Top-1 on the validation images.
    public var accuracy: Double
    /// Predicted batch-1 latency of the extracted network on this machine (nil without a
    /// latency model; LatencyModel.swift).
    public var latencyMilliseconds: Double? = nil
    /// Predicted images per second of the extracted network at the latency model's throughput batch.
    public var imagesPerSecond: Double? = nil
}

public struct SearchProgress: Sendable {
    public var generation: Int
    public var generations: Int
    public var evaluations: Int
    public var best: Candidate?
}

public struct SearchResult: Sendable {
    public var best: Candidate?
    public var window: ClosedRange<Int>
    /// Every candidate evaluated so far (all budgets), cheapest first.
    public var evaluated: [Candidate]
    /// The non-dominated candidates in (FLOPs, fitness), cheapest first.
    public var pareto: [Candidate]
    public var cancelled: Bool
}

public final class KDGuidedSearch: @unchecked Sendable {
    public let model: ResNet
    public let space: ArchitectureSpace
    public let options: SearchOptions
    private let calibrator: BatchNormCalibrator
    private let fitnessLoader: BatchLoader
    private let validationLoader: BatchLoader?
    /// Labels of the fitness images when they are also the validation images (as in stp prune):
    /// the accuracy then comes from the fitness pass's logits instead of a second forward pass.
    private let fitnessLabelsForAccuracy: [Int32]?
    private var teacherLogits: [Float] = []
    private var cache: [Architecture: Candidate] = [:]
    /// Every evaluation so far, by architecture (the front search reads and extends it).
    var cachedCandidates: [Architecture: Candidate] { cache }
    /// Rounds of the front search run so far (FrontSearch.swift): each round's random draws
    /// depend on it, so a search continues its front where it left off, deterministically.
    var frontRoundsRun = 0
    /// The ranks that share the evaluations (a single process unless given).
    public let communicator: any Communicator
    /// Called with every newly evaluated candidate (not with cached ones), on the searching
    /// thread: the explorer plots candidates as they arrive.
    public var onEvaluation: ((Candidate) -> Void)?
    /// When set, every candidate gets its predicted latency and throughput.
    public var latencyModel: LatencyModel? {
        didSet { for (a, c) in cache { cache[a] = withLatency(c) } }
    }

    /// - Parameters:
    ///   - network: the trained supernet; the search works on a copy of its weights.
    ///   - fitnessImages: held-out training images whose KL(full || candidate) is the fitness.
    ///   - validation: labelled images for the displayed accuracy (nil: accuracy is not computed).
    ///   - calibrator: BN recalibration images (see BatchNormCalibrator).
    public init(network: ResNet, space: ArchitectureSpace, options: SearchOptions, fitnessImages: ImageDataset,
                validation: ImageDataset?, calibrator: BatchNormCalibrator, normalization: Normalization, batchSize: Int = 128,
                communicator: any Communicator = SingleProcess()) throws {
        try options.validate()
        self.communicator = communicator
        // A copy's batch statistics are its own: each rank evaluates different candidates.
        model = network.copy()
        self.space = space
        self.options = options
        self.calibrator = calibrator
        fitnessLoader = BatchLoader.evaluation(dataset: fitnessImages, batchSize: batchSize, normalization: normalization)
        if let validation, validation.labels == fitnessImages.labels, validation.pixels == fitnessImages.pixels {
            fitnessLabelsForAccuracy = fitnessImages.labels
        } else {
            fitnessLabelsForAccuracy = nil
        }
        validationLoader = validation.map { BatchLoader.evaluation(dataset: $0, batchSize: batchSize, normalization: normalization) }
        teacherLogits = calibrator.withRecalibrated(model, subnet: nil) { logits(subnet: nil) }
    }

    /// Replaces the weights (e.g. after more training) and forgets every evaluation.
    public func updateWeights(from network: ResNet) {
        model.copyWeights(from: network)
        cache.removeAll()
        frontRoundsRun = 0
        teacherLogits = calibrator.withRecalibrated(model, subnet: nil) { logits(subnet: nil) }
    }

    public var evaluationCount: Int { cache.count }

    private func logits(subnet: SubnetSelection?) -> [Float] {
        let k = model.spec.classes
        var out = [Float]()
        out.reserveCapacity(fitnessLoader.dataset.count * k)
        let pixels = FloatBuffer(count: fitnessLoader.batchElementCount)
        var labels = [Int32]()
        for b in 0..<fitnessLoader.evaluationBatchCount {
            let n = fitnessLoader.fillEvaluationBatch(batch: b, pixels: pixels.pointer, labels: &labels)
            let z = model.forward(pixels.pointer, batch: n, mode: .eval, subnet: subnet)
            out.append(contentsOf: UnsafeBufferPointer(start: z, count: n * k))
        }
        return out
    }

    /// The candidate for `architecture` (cached).
    public func evaluate(_ architecture: Architecture) throws -> Candidate {
        if let c = cache[architecture] { return c }
        let (fitness, accuracy) = try measure(architecture)
        // A subnet with non-finite outputs has no fitness; +infinity ranks it below every usable
        // one (a NaN would compare false both ways and could be chosen as the best).
        return record(architecture, fitness: fitness.isNaN ? .infinity : fitness, accuracy: accuracy)
    }

    /// KL(full || candidate) on the fitness images and the validation top-1, BN recalibrated.
    private func measure(_ architecture: Architecture) throws -> (fitness: Double, accuracy: Double) {
        let subnet = try architecture.subnet(for: model.spec)
        let k = model.spec.classes, n = fitnessLoader.dataset.count
        let (student, accuracy) = calibrator.withRecalibrated(model, subnet: subnet) { () -> ([Float], Double) in
            let s = logits(subnet: subnet)
            if let labels = fitnessLabelsForAccuracy { return (s, KDGuidedSearch.top1(logits: s, labels: labels, classes: k)) }
            let acc = validationLoader.map { STPEngine.evaluate(model, loader: $0, subnet: subnet).top1 } ?? .nan
            return (s, acc)
        }
        let fitness = teacherLogits.withUnsafeBufferPointer { t in student.withUnsafeBufferPointer { s in
            Double(klDivergenceForwardBackward(teacher: t.baseAddress!, student: s.baseAddress!, batch: n, classes: k, dstudent: nil))
        } }
        return (fitness, accuracy)
    }

    @discardableResult
    private func record(_ architecture: Architecture, fitness: Double, accuracy: Double) -> Candidate {
        let cost = space.cost.cost(of: architecture)
        let candidate = withLatency(Candidate(architecture: architecture, macs: cost.macs, parameters: cost.parameters,
                                              fitness: fitness, accuracy: accuracy))
        cache[architecture] = candidate
        onEvaluation?(candidate)
        return candidate
    }

    private func withLatency(_ c: Candidate) -> Candidate {
        var c = c
        c.latencyMilliseconds = latencyModel?.latencyMilliseconds(of: c.architecture)
        c.imagesPerSecond = latencyModel?.imagesPerSecond(of: c.architecture)
        return c
    }

    /// The candidates of `architectures`, in order, evaluating the ones not cached. Alone, it
    /// checks `shouldCancel` before each evaluation; in a job, the ranks agree on cancelling once
    /// before the round, then each evaluates every size-th new architecture and one allreduce of
    /// (fitness, accuracy) pairs gives all ranks all results. nil: cancelled.
    func evaluateAll(_ architectures: [Architecture], shouldCancel: () -> Bool) throws -> [Candidate]? {
        guard communicator.isDistributed else {
            var out = [Candidate]()
            for a in architectures {
                if shouldCancel() { return nil }
                out.append(try evaluate(a))
            }
            return out
        }
        var flag = [shouldCancel() ? 1.0 : 0]
        communicator.allreduceSum(&flag)
        if flag[0] > 0 { return nil }
        var fresh = [Architecture]()
        var seenFresh = Set<Architecture>()
        for a in architectures where cache[a] == nil && seenFresh.insert(a).inserted { fresh.append(a) }
        var results = [Double](repeating: 0, count: 2 * fresh.count)
        for i in stride(from: communicator.rank, to: fresh.count, by: communicator.size) {
            let (fitness, accuracy) = try measure(fresh[i])
            results[2 * i] = fitness
            results[2 * i + 1] = accuracy
        }
        communicator.allreduceSum(&results)
        for (i, a) in fresh.enumerated() { record(a, fitness: results[2 * i], accuracy: results[2 * i + 1]) }
        return architectures.map { cache[$0]! }
    }

    /// Evolution within `window` of `measure` (MACs when nil: a latency budget passes its
    /// predicted latency); returns the best candidate there and the Pareto set of all.
    public func run(window: ClosedRange<Int>, measure: CostMeasure? = nil, shouldCancel: () -> Bool = { false },
                    progress: (SearchProgress) -> Void = { _ in }) throws -> SearchResult {
        let measure = measure ?? .macs(space.cost)
        var rng = SeededRandom(seed: options.seed &+ UInt64(window.lowerBound) &* 31 &+ UInt64(window.upperBound))
        func inWindow(_ c: Candidate) -> Bool { window.contains(measure.value(of: c.architecture)) }
        var population = [Candidate]()
        var seen = Set<Architecture>()
        // Earlier evaluations that fit this window seed the population (a re-targeted search).
        for c in cache.values.sorted(by: { $0.fitness < $1.fitness }) where inWindow(c) && population.count < options.population {
            population.append(c)
            seen.insert(c.architecture)
        }
        var attempts = 0
        var first = [Architecture]()
        while population.count + first.count < options.population && attempts < options.population * 20 {
            attempts += 1
            guard let a = space.randomArchitecture(in: window, measure: measure, using: &rng), seen.insert(a).inserted else { continue }
            first.append(a)
        }
        guard let evaluatedFirst = try evaluateAll(first, shouldCancel: shouldCancel) else {
            return result(window: window, measure: measure, cancelled: true)
        }
        population += evaluatedFirst
        guard !population.isEmpty else {
            throw STPError(.budget, "no architecture of the space has \(measure.format(window.lowerBound))...\(measure.format(window.upperBound))")
        }
        progress(SearchProgress(generation: 0, generations: options.generations, evaluations: cache.count,
                                best: population.min { $0.fitness < $1.fitness }))
        for generation in 1...max(options.generations, 1) where options.generations > 0 {
            population.sort { ($0.fitness, $0.macs) < ($1.fitness, $1.macs) }
            let parents = Array(population.prefix(options.parents))
            var children = [Architecture]()
            let wanted = options.population - parents.count
            var tries = 0
            while children.count < wanted && tries < wanted * 10 {
                tries += 1
                let child: Architecture
                if children.count < wanted / 2 || parents.count < 2 {
                    let p = parents[Int(rng.next() % UInt64(parents.count))].architecture
                    child = space.mutate(p, probability: options.mutationProbability, using: &rng)
                } else {
                    let i = Int(rng.next() % UInt64(parents.count))
                    var j = Int(rng.next() % UInt64(parents.count - 1))
                    if j >= i { j += 1 }
                    child = space.crossover(parents[i].architecture, parents[j].architecture, using: &rng)
                }
                guard let fitted = space.fit(child, into: window, measure: measure, using: &rng), seen.insert(fitted).inserted else { continue }
                children.append(fitted)
            }
            guard let evaluatedChildren = try evaluateAll(children, shouldCancel: shouldCancel) else {
                return result(window: window, measure: measure, cancelled: true)
            }
            population = parents + evaluatedChildren
            progress(SearchProgress(generation: generation, generations: options.generations, evaluations: cache.count,
                                    best: population.min { ($0.fitness, $0.macs) < ($1.fitness, $1.macs) }))
        }
        return result(window: window, measure: measure, cancelled: false)
    }

    private func result(window: ClosedRange<Int>, measure: CostMeasure, cancelled: Bool) -> SearchResult {
        let all = cache.values.sorted { ($0.macs, $0.fitness) < ($1.macs, $1.fitness) }
        let best = all.filter { window.contains(measure.value(of: $0.architecture)) }.min { ($0.fitness, $0.macs) < ($1.fitness, $1.macs) }
        return SearchResult(best: best, window: window, evaluated: all, pareto: KDGuidedSearch.pareto(all), cancelled: cancelled)
    }

    /// Top-1 accuracy of `logits` [labels.count, classes], counted as the engine's evaluation counts it.
    static func top1(logits: [Float], labels: [Int32], classes: Int) -> Double {
        guard !labels.isEmpty else { return .nan }
        let correct = logits.withUnsafeBufferPointer { z in labels.withUnsafeBufferPointer { y in
            topKCorrect(logits: z.baseAddress!, labels: y.baseAddress!, batch: labels.count, classes: classes, k: 1)
        } }
        return Double(correct) / Double(labels.count)
    }

    /// Candidates no other candidate beats in both FLOPs (fewer or equal) and fitness (lower).
    public static func pareto(_ candidates: [Candidate]) -> [Candidate] {
        var front = [Candidate]()
        var bestFitness = Double.infinity
        for c in candidates.sorted(by: { ($0.macs, $0.fitness) < ($1.macs, $1.fitness) }) where c.fitness < bestFitness {
            front.append(c)
            bestFitness = c.fitness
        }
        return front
    }
}
