import Foundation
@testable import STPEngine
@testable import STPExplorer
@testable import STPMethod

// Snapshots for the rendering and reducer tests, built from the real ResNet-20 spec, cost model
// and architecture space (candidates are real architectures of the space at their exact costs;
// their fitness and accuracy are fixed numbers, as a search would report them).

enum ExplorerFixtures {
    static let spec = try! ResNetSpec.named("resnet20")
    static let space = try! ArchitectureSpace(spec: spec)

    /// Candidates spread over the whole space (cheapest first) with accuracy rising with FLOPs.
    static func candidates(count: Int = 24, seed: UInt64 = 7) -> [Candidate] {
        var rng = SeededRandom(seed: seed)
        var seen = Set<Architecture>()
        var out = [Candidate]()
        // A few inside the 50% budget window, so that the fixtures have a best candidate.
        let window = try! Budget.resolve("50%", for: space).window
        while out.count < count {
            let a = (out.count < 4 ? space.randomArchitecture(in: window, using: &rng) : nil) ?? space.randomArchitecture(using: &rng)
            guard seen.insert(a).inserted else { continue }
            let cost = space.cost.cost(of: a)
            let share = Double(cost.macs) / Double(space.cost.full.macs)
            out.append(Candidate(architecture: a, macs: cost.macs, parameters: cost.parameters,
                                 fitness: 0.5 * (1 - share) + 0.01 * Double(out.count % 5),
                                 accuracy: 0.5 + 0.4 * share - 0.01 * Double(out.count % 3)))
        }
        return out.sorted { ($0.macs, $0.fitness) < ($1.macs, $1.fitness) }
    }

    static func snapshot(budget: String = "50%", candidates: [Candidate] = candidates()) -> ExplorerSnapshot {
        var s = ExplorerSnapshot()
        s.sequence = 5
        s.dataDescription = "builtin"
        s.trainImages = 9744
        s.testImages = 2000
        s.modelName = "resnet20"
        s.runPath = "runs/test-run"
        s.spec = spec
        s.architectureSpace = space
        s.phase = .stimulativeTraining
        s.epoch = 2
        s.totalEpochs = 30
        s.step = 17
        s.stepsPerEpoch = 76
        s.globalStep = 2 * 76 + 17
        s.learningRate = 0.098
        s.runningLoss = 1.234
        s.runningTop1 = 0.55
        s.imagesPerSecond = 612
        s.elapsed = 95
        s.eta = 1234
        let resolved = try! Budget.resolve(budget, for: space)
        s.budgetText = resolved.budget.description
        s.targetMACs = resolved.targetMACs ?? 0
        s.window = resolved.window
        s.blasCore = "SkylakeX"
        s.blasThreads = 1
        s.computeThreads = 2
        let full = space.cost.full
        var blockCounts = Array(repeating: 100, count: spec.blockCount)
        blockCounts[1] = 70
        s.space = SpaceView(blocksPerStage: spec.blocksPerStage, fullWidths: spec.innerWidths, allowedWidths: space.allowedWidths,
                            blockSampleCounts: blockCounts, widthSampleCounts: space.allowedWidths.map { ws in
                                Dictionary(uniqueKeysWithValues: ws.enumerated().map { ($0.element, 10 + $0.offset) })
                            }, subnetsSampled: 100, smallestMACs: space.cost.macs(of: space.smallest),
                            fullMACs: full.macs, fullParameters: full.parameters)
        s.curves = [EpochPoint(epoch: 1, trainLoss: 1.9, trainTop1: 0.3, testLoss: 1.7, testTop1: 0.41, subnetLoss: 2.1, subnetTop1: 0.25, distillation: 0.3),
                    EpochPoint(epoch: 2, trainLoss: 1.5, trainTop1: 0.45, testLoss: 1.4, testTop1: 0.52, subnetLoss: 1.8, subnetTop1: 0.38, distillation: 0.25)]
        s.candidates = candidates
        s.pareto = KDGuidedSearch.pareto(candidates)
        s.best = candidates.filter { resolved.window.contains($0.macs) }.min { $0.fitness < $1.fitness }
        let reference = Baselines.uniformArchitecture(space: space, window: resolved.window)!
        s.reference = reference
        s.referenceKind = .uniform
        let model = ResNet(spec: spec, seed: 1)
        let report = try! RelativeSparsity.measure(model, architecture: reference)
        s.sparsity = SparsityView(report: report, ratioHistory: [1.0, 1.02, 1.05, 1.04, 1.08], droppedHistory: [0.1, 0.1, 0.1, 0.1, 0.1])
        s.search.completed = 1
        s.search.generations = 5
        s.log = [LogEntry(time: 1, level: .info, text: "resnet20 on builtin: started"),
                 LogEntry(time: 60, level: .good, text: "search finished: best candidate found")]
        s.stepsSinceSave = 17
        return s
    }

    static func render(_ s: ExplorerSnapshot, _ state: ExplorerUIState = ExplorerUIState(), width: Int, height: Int,
                       glyphs: GlyphSet = .unicode) -> CellGrid {
        ExplorerRenderer.render(snapshot: s, state: state, width: width, height: height, glyphs: glyphs)
    }
}
