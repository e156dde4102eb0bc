import Foundation
import STPTestSupport
import Testing
@testable import STPEngine
@testable import STPMethod

// The whole pruning pipeline on a tiny budget: the report meets the budget, the extracted network
// reloads and scores what the report says, and an impossible budget fails before any training.

func tinyOptions(_ method: PruneOptions.Method, output: String) -> PruneOptions {
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
    #expect(report.macs <= report.targetMACs!)
    #expect(report.method == method.rawValue)
    #expect(FileManager.default.fileExists(atPath: root + "/report.json"))
    #expect(FileManager.default.fileExists(atPath: root + "/report.md"))
    #expect(report.extractedPath == root + "/\(method.rawValue)-50pct/extracted")
    #expect(FileManager.default.fileExists(atPath: root + "/\(method.rawValue)-50pct/report.md"))
    let extracted = try ExtractedModel.load(from: report.extractedPath)
    #expect(extracted.info.architectureText == report.architecture)
    #expect(ModelSummary(spec: extracted.network.spec).totalMACs == report.macs)
    let data = try DataSource(parsing: "builtin:seed=4,train=200,test=40").load()
    let loader = BatchLoader.evaluation(dataset: data.test, batchSize: 40, normalization: Normalization.compute(from: data.train.subset(Array(0..<160))))
    let again = evaluate(extracted.network, loader: loader)
    #expect(abs(again.top1 - report.prunedTestTop1) < 1e-9, "the saved network scores what the report says")
}

@Test func anExtractedNetworkEvaluatesAndExportsWithoutTheRunItCameFrom() throws {
    let root = temporaryDirectory("prune-alone")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let report = try PrunePipeline.run(tinyOptions(.uniform, output: root), console: Console(fileDescriptor: 2, isTerminal: false))
    // A pruned network copied elsewhere (docs/results/, another machine) has no training run beside it.
    let alone = root + "/copied"
    try FileManager.default.copyItem(atPath: report.extractedPath, toPath: alone)
    try FileManager.default.removeItem(atPath: root + "/train-standard")
    let source = try ExtractedEvalJob.load(alone)
    #expect(source.data == "builtin:seed=4,train=200,test=40")
    #expect(source.epochs == 2)
    let again = try ExtractedEvalJob.run(EvalJobOptions(runPath: alone))
    #expect(abs(again.result.top1 - report.prunedTestTop1) < 1e-9, "the copy scores what the report says, on the recorded data")
    #expect(again.epochs == 2)
    var export = ONNXExportJobOptions(runPath: alone, outputPath: root + "/copied.onnx")
    export.loadNetwork = { try ExtractedEvalJob.load(alone) }
    let onnx = try ONNXExportJob.run(export)
    #expect(onnx.epochs == 2 && FileManager.default.fileExists(atPath: root + "/copied.onnx"))
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

@Test func methodsAndBudgetsOfOneInvocationShareTheirTraining() throws {
    let root = temporaryDirectory("prune-many")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var o = tinyOptions(.uniform, output: root)
    o.methods = [.uniform, .l1Filter, .stp]
    o.budgets = ["50%", "keep 30%"]
    let summary = try PrunePipeline.runAll(o, console: Console(fileDescriptor: 2, isTerminal: false))
    #expect(summary.reports.map(\.method) == ["uniform", "uniform", "l1-filter", "l1-filter", "stp", "stp"])
    #expect(summary.reports.map(\.budget) == ["50%", "keep 30%", "50%", "keep 30%", "50%", "keep 30%"])
    for r in summary.reports {
        #expect(r.macs <= r.targetMACs!, "\(r.method) at \(r.budget)")
        #expect(FileManager.default.fileExists(atPath: r.extractedPath + "/architecture.json"))
    }
    let fm = FileManager.default
    // One plain run serves uniform and l1-filter; one stimulative trunk and a branch per budget serve stp.
    #expect(fm.fileExists(atPath: root + "/train-standard/checkpoint.safetensors"))
    #expect(fm.fileExists(atPath: root + "/train-stimulative/checkpoint.safetensors"))
    #expect(!fm.fileExists(atPath: root + "/train-slimming"))
    #expect(fm.fileExists(atPath: root + "/stp-50pct/run/checkpoint.safetensors"))
    #expect(fm.fileExists(atPath: root + "/stp-keep-30pct/run/checkpoint.safetensors"))
    let full = Set(summary.reports.filter { $0.method != "stp" }.map(\.fullTestTop1))
    #expect(full.count == 1, "uniform and l1-filter share one trained network")
    // The branches start from the trunk at the first search and then train on their own.
    let trunk = try RunRecord.read(path: root + "/train-stimulative/run.json")
    let branch = try RunRecord.read(path: root + "/stp-50pct/run/run.json")
    #expect(trunk.epochsCompleted == 1)
    #expect(branch.epochsCompleted == 2)
    #expect(branch.history.first == trunk.history.first, "the branch carries the trunk's history")
    let table = try String(contentsOfFile: root + "/report.md", encoding: .utf8)
    #expect(table.components(separatedBy: "\n").filter { $0.hasPrefix("| stp |") }.count == 2)
}

@Test func aRepeatedBudgetOrMethodIsRefused() throws {
    let root = temporaryDirectory("prune-dup")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var o = tinyOptions(.uniform, output: root)
    o.budgets = ["50%", "remove 50%"]
    #expect(throws: STPError.self) { try PrunePipeline.runAll(o, console: Console(fileDescriptor: 2, isTerminal: false)) }
    o.budgets = ["50%"]
    o.methods = [.uniform, .uniform]
    #expect(throws: STPError.self) { try PrunePipeline.runAll(o, console: Console(fileDescriptor: 2, isTerminal: false)) }
}

@Test func zeroEpochsPrunesTheInitNetworkAsItIsAndNeedsOne() throws {
    let root = temporaryDirectory("prune-zero")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var o = tinyOptions(.uniform, output: root + "/trained")
    o.methods = [.uniform]
    o.training.epochs = 1
    let trained = try PrunePipeline.runAll(o, console: Console(fileDescriptor: 2, isTerminal: false)).reports[0]

    var zero = tinyOptions(.uniform, output: root + "/zero")
    zero.methods = [.uniform, .stp]
    zero.training.epochs = 0
    zero.training.initialWeights = root + "/trained/train-standard"
    let summary = try PrunePipeline.runAll(zero, console: Console(fileDescriptor: 2, isTerminal: false))
    #expect(summary.reports.map(\.epochs) == [0, 0])
    let uniform = try #require(summary.reports.first { $0.method == "uniform" })
    // No step was taken: the same network, cut the same way, scores what it scored after training.
    #expect(uniform.fullTestTop1 == trained.fullTestTop1)
    #expect(uniform.architecture == trained.architecture)
    #expect(uniform.prunedTestTop1 == trained.prunedTestTop1)
    let stp = try #require(summary.reports.first { $0.method == "stp" })
    #expect(stp.macs <= stp.targetMACs! && stp.searchEvaluations > 0, "stp searched the given network")
    #expect(stp.fullTestTop1 == trained.fullTestTop1)
    #expect(!FileManager.default.fileExists(atPath: root + "/zero/stp-50pct/run"), "no expansion branch without epochs")

    zero.training.initialWeights = nil
    zero.outputPath = root + "/no-init"
    do {
        _ = try PrunePipeline.runAll(zero, console: Console(fileDescriptor: 2, isTerminal: false))
        Issue.record("--epochs 0 without --init must fail")
    } catch let e as STPError {
        #expect(e.message.contains("--init"), "\(e.message)")
    }
}

// --channel-order l1 sorts the stimulative run's channels by L1 norm before it trains: with no
// training, st-uniform then keeps exactly the channels l1-filter keeps, and stp searches that
// network (the full network computes the same, so it scores the same).
@Test func theL1ChannelOrderMakesTheFirstChannelsTheLargestOnes() throws {
    let root = temporaryDirectory("prune-order-l1")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var o = tinyOptions(.uniform, output: root + "/trained")
    o.training.epochs = 1
    _ = try PrunePipeline.runAll(o, console: Console(fileDescriptor: 2, isTerminal: false))
    var zero = tinyOptions(.uniform, output: root + "/zero")
    zero.methods = [.l1Filter, .stUniform, .stp]
    zero.training.epochs = 0
    zero.training.initialWeights = root + "/trained/train-standard"
    zero.channelOrder = .l1
    let summary = try PrunePipeline.runAll(zero, console: Console(fileDescriptor: 2, isTerminal: false))
    let l1 = try #require(summary.reports.first { $0.method == "l1-filter" })
    let st = try #require(summary.reports.first { $0.method == "st-uniform" })
    #expect(st.architecture == l1.architecture)
    #expect(st.fullTestTop1 == l1.fullTestTop1, "the sorted network computes what the given one does")
    #expect(st.prunedTestTop1 == l1.prunedTestTop1)
    let stWeights = try ExtractedModel.load(from: st.extractedPath).network.parameters.map(\.value.array)
    let l1Weights = try ExtractedModel.load(from: l1.extractedPath).network.parameters.map(\.value.array)
    #expect(stWeights == l1Weights, "the same channels kept")
    // The given order keeps the first channels, which are not the largest here.
    zero.channelOrder = .given
    zero.methods = [.stUniform]
    zero.outputPath = root + "/given"
    let given = try PrunePipeline.runAll(zero, console: Console(fileDescriptor: 2, isTerminal: false)).reports[0]
    #expect(try ExtractedModel.load(from: given.extractedPath).network.parameters.map(\.value.array) != l1Weights)
}

/// The output filters of a conv weight [out, in, kh, kw].
private func filters(_ w: Parameter) -> [[Float]] {
    let per = w.count / w.shape[0], a = w.value.array
    return (0..<w.shape[0]).map { Array(a[($0 * per)..<(($0 + 1) * per)]) }
}

/// Per input channel of a conv weight, the weights every output filter gives it.
private func inputSlices(_ w: Parameter) -> [[Float]] {
    let out = w.shape[0], cin = w.shape[1], taps = w.count / (out * cin), a = w.value.array
    var slices = [[Float]](repeating: [], count: cin)
    for c in 0..<cin {
        for o in 0..<out {
            let start = (o * cin + c) * taps
            slices[c] += a[start..<(start + taps)]
        }
    }
    return slices
}

// uniform and l1-filter share one trained network; l1-filter's channel choice (a permutation of
// that network) must not reach uniform, whichever runs first (`--method all` runs l1-filter first).
@Test(arguments: [[PruneOptions.Method.uniform, .l1Filter], [.l1Filter, .uniform]])
func uniformAndL1FilterKeepTheirOwnChannelsOfTheSharedNetwork(methods: [PruneOptions.Method]) throws {
    let root = temporaryDirectory("prune-order")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var o = tinyOptions(.uniform, output: root)
    o.methods = methods
    o.budgets = ["50%", "70%"]
    o.training.data = "builtin:seed=5,train=80,test=20"
    o.training.epochs = 1
    o.fitnessImages = 20
    o.recalibrationImages = 20
    let summary = try PrunePipeline.runAll(o, console: Console(fileDescriptor: 2, isTerminal: false))
    #expect(summary.reports.count == 4)
    let trained = try SavedRun.load(root + "/train-standard").model
    let l1View = trained.copy()
    Baselines.reorderInnerChannels(l1View, order: Baselines.l1Order(l1View))
    for report in summary.reports {
        let extracted = try ExtractedModel.load(from: report.extractedPath)
        let blocks = extracted.network.blocks
        try #require(blocks.count == trained.blocks.count, "uniform widths keep every block")
        for (b, (block, full)) in zip(blocks, trained.blocks).enumerated() {
            let kept = filters(block.units[0].conv.weight), all = filters(full.units[0].conv.weight)
            #expect(kept.count < all.count, "\(report.method) at \(report.budget): block \(b) is pruned")
            // The trained filter each kept one is; conv2's input channels must follow it.
            let sources = kept.map { all.firstIndex(of: $0) }
            #expect(!sources.contains(nil), "\(report.method) at \(report.budget): block \(b) keeps trained filters")
            let next = inputSlices(block.units[1].conv.weight), allNext = inputSlices(full.units[1].conv.weight)
            for (i, s) in sources.enumerated() { if let s { #expect(next[i] == allNext[s]) } }
            if report.method == "uniform" {
                #expect(sources == Array(0..<kept.count), "uniform at \(report.budget): block \(b) keeps the first channels")
            } else {
                let l1 = all.map { $0.reduce(0) { $0 + abs($1) } }
                let largest = Set((0..<all.count).sorted { l1[$0] > l1[$1] }.prefix(kept.count))
                #expect(Set(sources.compactMap { $0 }) == largest, "l1-filter at \(report.budget): block \(b) keeps its largest-L1 filters")
            }
        }
        // Relative sparsity is measured on the method's own view of the trained network.
        let view = report.method == "uniform" ? trained : l1View
        let expected = try RelativeSparsity.measure(view, architecture: extracted.architecture).meanWeightRatio
        #expect(abs((report.relativeSparsity ?? .nan) - (expected ?? .nan)) < 1e-9, "\(report.method) at \(report.budget)")
    }
    for budget in o.budgets {
        let uniform = try #require(summary.reports.first { $0.method == "uniform" && $0.budget == budget })
        let l1 = try #require(summary.reports.first { $0.method == "l1-filter" && $0.budget == budget })
        // Keeping the largest filters gives the larger kept/dropped ratio (equal only if the first
        // channels happened to be the largest in every layer).
        #expect((l1.relativeSparsity ?? 0) > (uniform.relativeSparsity ?? .infinity), "at \(budget)")
        #expect(l1.fullTestTop1 == uniform.fullTestTop1, "one trained network")
    }
}

@Test func aLatencyBudgetIsSearchedOnTheMeasuredTableAndTheResultIsTimed() throws {
    let root = temporaryDirectory("prune-latency")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var o = tinyOptions(.stp, output: root)
    o.methods = [.stp, .uniform]
    o.budgets = ["2x-faster"]
    let summary = try PrunePipeline.runAll(o, console: Console(fileDescriptor: 2, isTerminal: false))
    let model = try #require(summary.latencyModel)
    #expect(model.throughput.batch == 128)
    #expect(model.latency.check?.rows.count == 4)
    for r in summary.reports {
        let target = try #require(r.targetLatencyMilliseconds, "\(r.method)")
        #expect(r.targetMACs == nil)
        let predicted = try #require(r.predictedLatencyMilliseconds)
        #expect(predicted <= target + 1e-6, "\(r.method): predicted \(predicted) ms, budget \(target) ms")
        #expect(abs(predicted - model.latencyMilliseconds(of: try Architecture(parsing: r.architecture))) < 1e-9)
        #expect((r.latencyMilliseconds ?? 0) > 0 && (r.imagesPerSecond ?? 0) > 0)
    }
    let json = try String(contentsOfFile: root + "/report.json", encoding: .utf8)
    #expect(json.contains("\"latencyModel\""))
    #expect(try String(contentsOfFile: root + "/report.md", encoding: .utf8).contains("latency, batch 1"))
}
