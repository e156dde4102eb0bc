import Foundation
import STPEngine

// `stp prune` (METHOD.md section 8): train, choose an architecture for the FLOPs budget, extract
// a physically smaller network, recalibrate its BN statistics and evaluate it with no fine-tuning.
// Every method runs through this one path so that they are compared under the same training
// budget, data, seed, held-out split, recalibration and evaluation:
//   stp         stimulative training (60% of the epochs by default), KD-guided search, subnet
//               mutating expansion with a re-search every 2 epochs, final search;
//   st-uniform  stimulative training, then the uniform-width architecture at the budget;
//   slimming    CE + s * sum |gamma|, then channels by |gamma| under one global threshold;
//   l1-filter   plain CE, uniform widths, each block keeping its filters of largest L1 norm;
//   uniform     plain CE, then the uniform-width architecture (first channels).
// The last `fitnessImages` training images are held out of training: they are the search's
// fitness set and the validation images whose accuracy the search reports.

public struct PruneOptions: Sendable {
    public enum Method: String, Codable, Sendable, CaseIterable {
        case stp, stUniform = "st-uniform", slimming, l1Filter = "l1-filter", uniform
    }
    public var method: Method = .stp
    public var training = TrainingConfig()
    public var budget = "50%"
    public var stimulative = StimulativeOptions()
    public var search = SearchOptions()
    public var slimmingStrength: Float = 1e-4
    /// Fraction of the epochs trained over the whole space before the first search (stp only).
    public var stimulativeFraction = 0.6
    /// Epochs between re-searches during subnet mutating expansion (stp only).
    public var researchEvery = 2
    public var fitnessImages = 1024
    public var recalibrationImages = 2000
    /// Where the run, the extracted network and the report go.
    public var outputPath = "runs/prune"
    public var overwrite = false
    public init() {}
}

public struct PruneReport: Codable, Sendable {
    public var method: String
    public var model: String
    public var data: String
    public var budget: String
    public var targetMACs: Int
    public var fullMACs: Int
    public var fullParameters: Int
    public var architecture: String
    public var macs: Int
    public var parameters: Int
    public var fullTestTop1: Double
    public var prunedTestTop1: Double
    public var prunedTestTop5: Double
    public var searchFitness: Double?
    public var searchEvaluations: Int
    public var relativeSparsity: Double?
    public var relativeGammaSparsity: Double?
    public var droppedMagnitude: Double?
    public var epochs: Int
    public var wallSeconds: Double

    public var markdown: String {
        func pct(_ v: Double) -> String { String(format: "%.2f%%", 100 * v) }
        let removed = 1 - Double(macs) / Double(fullMACs)
        var lines = ["| method | budget | FLOPs (MACs) | removed | params | full top-1 | pruned top-1 (no fine-tuning) | relative sparsity | epochs | wall time |",
                     "|---|---|---|---|---|---|---|---|---|---|"]
        lines.append("| \(method) | \(budget) | \(CountFormat.string(macs)) | \(pct(removed)) | \(CountFormat.string(parameters)) | "
                     + "\(pct(fullTestTop1)) | \(pct(prunedTestTop1)) | \(relativeSparsity.map { String(format: "%.3f", $0) } ?? "-") | "
                     + "\(epochs) | \(ProgressFormat.duration(wallSeconds)) |")
        return lines.joined(separator: "\n") + "\n\narchitecture: `\(architecture)`\n"
    }
}

public enum PrunePipeline {
    public static func run(_ o: PruneOptions, console: Console = .standardError, shouldStop: @escaping () -> Bool = { false }) throws -> PruneReport {
        let start = monotonicSeconds()
        var config = o.training
        config.recalibrationImages = o.recalibrationImages
        try config.validate()
        let data = try DataSource(parsing: config.data).load()
        let spec = try config.modelSpec(for: data.train)
        let space = try ArchitectureSpace(spec: spec, options: o.stimulative.space)
        let budget = try Budget.resolve(o.budget, for: space, tolerance: o.search.tolerance)
        guard o.fitnessImages >= 1, o.fitnessImages < data.train.count / 2 else {
            throw STPError(.argument, "--fitness-images must be between 1 and half the training set (\(data.train.count / 2))")
        }
        // Hold out the last images of the training set for the search.
        let trainCount = data.train.count - o.fitnessImages
        let heldOut = data.train.subset(Array(trainCount..<data.train.count), name: data.train.name + "-held-out")
        let splits = DataSplits(train: data.train.subset(Array(0..<trainCount)), test: data.test)
        console.writeLine("prune: \(o.method.rawValue), \(spec.name) on \(config.data), budget \(budget) "
                          + "(\(CountFormat.string(budget.targetMACs)) of \(CountFormat.string(budget.fullMACs)) MACs), \(config.epochs) epochs")

        let trainer = try Trainer(config: config, data: splits, runPath: o.outputPath + "/run", overwrite: o.overwrite)
        var method = MethodConfig(kind: .standard)
        switch o.method {
        case .stp, .stUniform: method = MethodConfig(kind: .stimulative); method.stimulative = o.stimulative
        case .slimming: method = MethodConfig(kind: .slimming); method.slimmingStrength = o.slimmingStrength
        case .l1Filter, .uniform: break
        }
        try MethodTraining.configure(trainer, method: method)
        let normalization = trainer.trainLoader.normalization
        let calibrator = BatchNormCalibrator(dataset: splits.train, images: o.recalibrationImages,
                                             batchSize: config.batchSize, normalization: normalization)
        let steps = trainer.stepsPerEpoch
        func train(untilEpoch epoch: Int) throws {
            var bar: ProgressBar?
            try trainer.train(events: { event in
                switch event {
                case .epochStarted(let e, _, let n):
                    bar = ProgressBar(label: "\(o.method.rawValue) epoch \(e + 1)/\(config.epochs)", total: n, console: console)
                case .step(let p):
                    bar?.update(completed: p.step + 1, items: (p.step + 1) * config.batchSize,
                                fields: [("loss", String(format: "%.3f", p.runningLoss)), ("acc", String(format: "%.1f%%", 100 * p.runningTop1))])
                case .evaluating: bar?.finish(); bar = nil
                case .epochFinished(let m):
                    console.writeLine(String(format: "epoch %d/%d  train loss %.4f acc %.2f%%  test top-1 %.2f%% (full network)",
                                             m.epoch, config.epochs, m.trainLoss, 100 * m.trainTop1, 100 * m.testTop1))
                default: break
                }
            }, shouldStop: { shouldStop() || trainer.record.stepsCompleted >= epoch * steps })
            if shouldStop() { throw STPError(.engine, "prune stopped by the user; the run is saved in \(o.outputPath)/run") }
        }

        var architecture: Architecture
        var fitness: Double?
        var evaluations = 0
        switch o.method {
        case .stp:
            let firstSearch = min(config.epochs, max(1, Int((Double(config.epochs) * o.stimulativeFraction).rounded())))
            try train(untilEpoch: firstSearch)
            let search = try KDGuidedSearch(network: trainer.model, space: space, options: o.search, fitnessImages: heldOut,
                                            validation: heldOut, calibrator: calibrator, normalization: normalization,
                                            batchSize: config.batchSize)
            func runSearch() throws -> Candidate {
                let bar = ProgressBar(label: "search", total: max(o.search.generations, 1), unit: "gen", console: console)
                let result = try search.run(window: budget.window, progress: { p in
                    bar.update(completed: p.generation, fields: [("evaluated", "\(p.evaluations)"),
                                                                  ("best KL", p.best.map { String(format: "%.4f", $0.fitness) } ?? "-")])
                })
                bar.finish()
                guard let best = result.best else { throw STPError(.budget, "the search found no architecture in the budget window") }
                console.writeLine("search: best \(best.architecture) \(CountFormat.string(best.macs)) MACs, KL \(String(format: "%.4f", best.fitness)), held-out top-1 \(String(format: "%.2f%%", 100 * best.accuracy))")
                return best
            }
            var best = try runSearch()
            evaluations += search.evaluationCount
            if let objective = trainer.objective as? StimulativeObjective, firstSearch < config.epochs {
                objective.expansion = ExpansionPlan(target: best.architecture, startEpoch: Double(firstSearch), endEpoch: Double(config.epochs))
                var epoch = firstSearch
                while epoch < config.epochs {
                    let next = min(config.epochs, epoch + max(1, o.researchEvery))
                    try train(untilEpoch: next)
                    epoch = next
                    search.updateWeights(from: trainer.model)
                    best = try runSearch()
                    evaluations += search.evaluationCount
                    objective.expansion?.target = best.architecture
                }
            }
            architecture = best.architecture
            fitness = best.fitness
        case .stUniform, .uniform, .l1Filter, .slimming:
            try train(untilEpoch: config.epochs)
            switch o.method {
            case .slimming:
                Baselines.reorderInnerChannels(trainer.model, order: Baselines.gammaOrder(trainer.model))
                guard let a = Baselines.slimmingArchitecture(trainer.model, space: space, window: budget.window) else {
                    throw STPError(.budget, "no |gamma| threshold meets the budget")
                }
                architecture = a
            case .l1Filter:
                Baselines.reorderInnerChannels(trainer.model, order: Baselines.l1Order(trainer.model))
                fallthrough
            default:
                guard let a = Baselines.uniformArchitecture(space: space, window: budget.window) else {
                    throw STPError(.budget, "no uniform width meets the budget")
                }
                architecture = a
            }
        }
        try trainer.save()

        // Extract, recalibrate, evaluate: no gradient step after training.
        let sparsity = try RelativeSparsity.measure(trainer.model, architecture: architecture)
        let fullTest = trainer.evaluateTest()
        let extracted = try ExtractedModel(supernet: trainer.model, architecture: architecture, source: o.outputPath + "/run")
        calibrator.recalibrate(extracted.network, subnet: nil)
        let test = evaluate(extracted.network, loader: trainer.testLoader)
        try extracted.save(to: o.outputPath + "/extracted")
        let cost = space.cost.cost(of: architecture)
        let report = PruneReport(method: o.method.rawValue, model: spec.name, data: config.data, budget: o.budget,
                                 targetMACs: budget.targetMACs, fullMACs: budget.fullMACs,
                                 fullParameters: ModelSummary(spec: spec).totalParameters,
                                 architecture: architecture.text, macs: cost.macs, parameters: cost.parameters,
                                 fullTestTop1: fullTest.top1, prunedTestTop1: test.top1, prunedTestTop5: test.top5,
                                 searchFitness: fitness, searchEvaluations: evaluations,
                                 relativeSparsity: sparsity.meanWeightRatio, relativeGammaSparsity: sparsity.meanGammaRatio,
                                 droppedMagnitude: sparsity.meanDroppedMagnitude, epochs: config.epochs,
                                 wallSeconds: monotonicSeconds() - start)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(try encoder.encode(report), to: o.outputPath + "/report.json")
        try AtomicFile.write(report.markdown + "\n" + sparsity.table() + "\n", to: o.outputPath + "/report.md")
        return report
    }
}
