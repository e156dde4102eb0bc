import Testing
@testable import STPEngine
@testable import STPMethod

// The KD-guided search on a tiny supernet with random images: budget window respected,
// deterministic for a seed, evaluations reused across budgets, cancellable, a correct Pareto set.

private func randomImages(_ count: Int, seed: UInt64) -> ImageDataset {
    var rng = SeededRandom(seed: seed)
    let pixels = (0..<(count * 8 * 8 * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    let labels = (0..<count).map { Int32($0 % 3) }
    return ImageDataset(name: "random", height: 8, width: 8, channels: 3, classNames: ["a", "b", "c"], pixels: pixels, labels: labels)
}

func makeSearch(seed: UInt64 = 1, options: SearchOptions? = nil) throws -> KDGuidedSearch {
    let spec = tinyBasicSpec()
    let model = ResNet(spec: spec, seed: 3)
    randomizeNormalization(model, seed: 4)
    let images = randomImages(48, seed: 5)
    let norm = Normalization.compute(from: images)
    var o = options ?? SearchOptions()
    o.population = 8; o.parents = 3; o.generations = 3; o.seed = seed
    let space = try ArchitectureSpace(spec: spec, options: ArchitectureSpaceOptions(widthRatios: [0.25, 0.5, 0.75, 1]))
    let calibrator = BatchNormCalibrator(dataset: images, images: 32, batchSize: 16, normalization: norm)
    return try KDGuidedSearch(network: model, space: space, options: o, fitnessImages: images.subset(Array(32..<48)),
                              validation: images.subset(Array(0..<16)), calibrator: calibrator, normalization: norm, batchSize: 16)
}

@Test func searchRespectsTheWindowAndIsDeterministic() throws {
    let a = try makeSearch(), b = try makeSearch()
    let full = a.space.cost.macs(of: a.space.largest)
    let window = Int(0.45 * Double(full))...Int(0.5 * Double(full))
    let ra = try a.run(window: window), rb = try b.run(window: window)
    let best = try #require(ra.best)
    #expect(window.contains(best.macs))
    #expect(ra.best == rb.best)
    #expect(ra.evaluated == rb.evaluated)
    #expect(ra.evaluated.allSatisfy { window.contains($0.macs) })
    #expect(ra.evaluated.allSatisfy { $0.fitness >= 0 && $0.fitness.isFinite && (0...1).contains($0.accuracy) })
    // The full network distils perfectly into itself.
    #expect(try a.evaluate(a.space.largest).fitness < 1e-6)
}

@Test func aNewBudgetReusesEvaluationsAndTheParetoSetIsNonDominated() throws {
    let search = try makeSearch()
    let full = search.space.cost.macs(of: search.space.largest)
    let w1 = Int(0.45 * Double(full))...Int(0.5 * Double(full))
    _ = try search.run(window: w1)
    let after1 = search.evaluationCount
    // Re-targeting to a budget with enough cached candidates starts from them: generation 0
    // evaluates nothing new (later generations continue the evolution).
    var startEvaluations: Int?
    let again = try search.run(window: w1, progress: { if $0.generation == 0 { startEvaluations = $0.evaluations } })
    #expect(startEvaluations == after1, "the population was rebuilt from cached evaluations")
    let w2 = Int(0.6 * Double(full))...Int(0.7 * Double(full))
    let r2 = try search.run(window: w2)
    #expect(search.evaluationCount > after1)
    #expect(r2.evaluated.count == search.evaluationCount)
    #expect(again.best != nil && r2.best.map { w2.contains($0.macs) } == true)
    for p in r2.pareto {
        #expect(!r2.evaluated.contains { $0.macs <= p.macs && $0.fitness < p.fitness && $0 != p })
    }
    #expect(zip(r2.pareto, r2.pareto.dropFirst()).allSatisfy { $0.macs <= $1.macs && $0.fitness > $1.fitness })
}

@Test func searchCanBeCancelledAndRejectsAnEmptyWindow() throws {
    let search = try makeSearch()
    var calls = 0
    let result = try search.run(window: 0...Int.max, shouldCancel: { calls += 1; return calls > 3 })
    #expect(result.cancelled)
    #expect(search.evaluationCount <= 3)
    #expect(throws: STPError.self) { try search.run(window: 1...2) }
    var bad = SearchOptions()
    bad.parents = 0
    #expect(throws: STPError.self) { try bad.validate() }
}

@Test func accuracyFromTheFitnessPassEqualsASeparateEvaluation() throws {
    // When the validation images are the fitness images, the search takes the accuracy from the
    // fitness pass's logits; it must be what a separate evaluation of the same images gives.
    let spec = tinyBasicSpec()
    let model = ResNet(spec: spec, seed: 3)
    randomizeNormalization(model, seed: 4)
    let images = randomImages(48, seed: 5)
    let norm = Normalization.compute(from: images)
    let space = try ArchitectureSpace(spec: spec, options: ArchitectureSpaceOptions(widthRatios: [0.25, 0.5, 0.75, 1]))
    let calibrator = BatchNormCalibrator(dataset: images, images: 32, batchSize: 16, normalization: norm)
    let heldOut = images.subset(Array(20..<48))
    let search = try KDGuidedSearch(network: model, space: space, options: SearchOptions(), fitnessImages: heldOut,
                                    validation: heldOut, calibrator: calibrator, normalization: norm, batchSize: 16)
    var rng = SeededRandom(seed: 9)
    var accuracies = Set<Double>()
    for _ in 0..<6 {
        let a = space.randomArchitecture(using: &rng)
        let candidate = try search.evaluate(a)
        let subnet = try a.subnet(for: spec)
        let loader = BatchLoader.evaluation(dataset: heldOut, batchSize: 16, normalization: norm)
        let separate = calibrator.withRecalibrated(search.model, subnet: subnet) { evaluate(search.model, loader: loader, subnet: subnet).top1 }
        #expect(candidate.accuracy == separate, "\(a)")
        accuracies.insert(candidate.accuracy)
    }
    #expect(accuracies.count > 1, "the candidates differ, so the check compares something")
}
