import Foundation
import Testing
@testable import STPEngine
@testable import STPMethod

// The whole pruning pipeline on a tiny budget: the report meets the budget, the extracted network
// reloads and scores what the report says, and an impossible budget fails before any training.

private func tinyOptions(_ method: PruneOptions.Method, output: String) -> PruneOptions {
    var o = PruneOptions()
    o.method = method
    o.training.data = "builtin:seed=4,train=200,test=40"
    o.training.epochs = 2
    o.training.batchSize = 40
    o.budget = "50%"
    o.fitnessImages = 40
    o.recalibrationImages = 40
    o.search.population = 4
    o.search.parents = 2
    o.search.generations = 1
    o.researchEvery = 1
    o.outputPath = output
    return o
}

@Test(arguments: [PruneOptions.Method.stp, .l1Filter])
func prunePipelineMeetsTheBudgetAndSavesAReloadableNetwork(method: PruneOptions.Method) throws {
    let root = temporaryDirectory("prune")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let report = try PrunePipeline.run(tinyOptions(method, output: root), console: Console(fileDescriptor: 2, isTerminal: false))
    #expect(report.macs <= report.targetMACs)
    #expect(report.method == method.rawValue)
    #expect(FileManager.default.fileExists(atPath: root + "/report.json"))
    #expect(FileManager.default.fileExists(atPath: root + "/report.md"))
    let extracted = try ExtractedModel.load(from: root + "/extracted")
    #expect(extracted.info.architectureText == report.architecture)
    #expect(ModelSummary(spec: extracted.network.spec).totalMACs == report.macs)
    let data = try DataSource(parsing: "builtin:seed=4,train=200,test=40").load()
    let loader = BatchLoader.evaluation(dataset: data.test, batchSize: 40, normalization: Normalization.compute(from: data.train.subset(Array(0..<160))))
    let again = evaluate(extracted.network, loader: loader)
    #expect(abs(again.top1 - report.prunedTestTop1) < 1e-9, "the saved network scores what the report says")
}

@Test func anImpossibleBudgetFailsBeforeTraining() throws {
    let root = temporaryDirectory("prune-bad")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var o = tinyOptions(.stp, output: root)
    o.budget = "99.9%"
    do {
        _ = try PrunePipeline.run(o, console: Console(fileDescriptor: 2, isTerminal: false))
        Issue.record("an impossible budget must fail")
    } catch let e as STPError {
        #expect(e.message.contains("possible range"), "\(e.message)")
    }
    #expect(!FileManager.default.fileExists(atPath: root + "/run"), "nothing was trained")
}
