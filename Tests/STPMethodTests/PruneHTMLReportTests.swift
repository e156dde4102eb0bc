import Foundation
import Testing
import STPTestSupport
@testable import STPEngine
@testable import STPMethod

// stp report on a real (tiny) prune output: the page holds the results, the plots with a point
// per result where it belongs, the architecture of each result and the training curves; bad
// paths and files are refused naming them.

@Test func aPruneOutputBecomesOnePageWithItsResultsFrontsPlotsAndCurves() throws {
    let root = temporaryDirectory("report")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var trained = tinyOptions(.uniform, output: root + "/trained")
    trained.training.epochs = 1
    _ = try PrunePipeline.runAll(trained, console: Console(fileDescriptor: 2, isTerminal: false))
    #expect(!FileManager.default.fileExists(atPath: root + "/trained/front-as-imported.json"), "from scratch: nothing imported")

    // From the trained network: three methods at two budgets, stp with its fronts.
    var o = tinyOptions(.uniform, output: root + "/prune")
    o.training.initialWeights = root + "/trained/train-standard"
    o.methods = [.uniform, .l1Filter, .stp]
    o.budgets = ["50%", "70%"]
    o.training.epochs = 1
    o.frontRounds = 1
    o.front.buckets = 2
    let summary = try PrunePipeline.runAll(o, console: Console(fileDescriptor: 2, isTerminal: false))
    let output = root + "/prune"
    var report = try PruneHTMLReport.load(outputDirectory: output)
    #expect(report.summary.reports.count == 6)
    #expect(report.curves.map(\.name) == ["train-standard", "train-stimulative"], "the trained networks' curves")
    #expect(report.curves.allSatisfy { $0.top1.count == 1 })
    // stp's fronts: before any training (the network as imported) and at the first search.
    #expect(report.fronts.map(\.name) == ["front as imported", "front at the first search"])
    #expect(report.fronts[0].file.front.map(\.fitness) != report.fronts[1].file.front.map(\.fitness),
            "the two fronts are on different weights")
    let peer = output + "/peer.json"
    try AtomicFile.write(#"{"peer": "torch-pruning 1.6.0", "criterion": "group", "macs": 20000000, "top1_fine_tuned": 0.8967, "epochs": 10}"#
                         + "\n" + #"{"peer": "torch-pruning 1.6.0", "criterion": "group", "macs": 12000000, "top1_fine_tuned": 86.1, "epochs": 10}"#,
                         to: peer)
    report.compared = try PruneHTMLReport.comparedResults(path: peer)
    #expect(report.compared == [.init(label: "torch-pruning 1.6.0 group + 10 epochs fine-tuning", macs: 20_000_000, top1: 0.8967),
                                .init(label: "torch-pruning 1.6.0 group + 10 epochs fine-tuning", macs: 12_000_000, top1: 0.861)])
    let html = report.html
    #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
    #expect(!html.contains("<script"), "readable without JavaScript")
    let links = html.components(separatedBy: "http").count - 1
    let namespaces = html.components(separatedBy: "xmlns=\"http://www.w3.org/2000/svg\"").count - 1
    #expect(links == namespaces, "nothing is fetched: the only URLs are the SVG namespace's")
    for r in summary.reports {
        #expect(html.contains(String(format: "%.2f%%", 100 * r.prunedTestTop1)))
        #expect(html.contains(HTML.escape(r.architecture)))
        #expect(html.contains(">\(r.method) at \(r.budget):"), "an architecture drawing per result")
    }
    // The FLOPs plot: 3 methods x 2 budgets + the full network + 2 compared results as dots,
    // the fronts as lines.
    let firstPlot = String(html[html.range(of: "<svg")!.lowerBound..<html.range(of: "</svg>")!.upperBound])
    #expect(firstPlot.components(separatedBy: "<circle").count - 1 == 6 + 1 + 2)
    #expect(firstPlot.contains("front as imported (held-out top-1)") && firstPlot.contains("front at the first search"))
    #expect(firstPlot.contains("torch-pruning 1.6.0 group + 10 epochs fine-tuning"))
    #expect(html.contains("full network&#39;s test top-1") || html.contains("full network's test top-1"))
}

@Test func theDotsOfAPlotAreWhereTheirValuesAre() {
    let plot = SVGPlot(title: "t", xTitle: "x", yTitle: "y",
                       series: [.init(name: "a", color: "red", points: [(0, 0), (10, 100)])])
    let low = plot.position(0, 0), high = plot.position(10, 100), middle = plot.position(5, 50)
    #expect(low.x < middle.x && middle.x < high.x)
    #expect(low.y > middle.y && middle.y > high.y, "larger values higher up")
    #expect(abs(middle.x - (low.x + high.x) / 2) < 1e-9 && abs(middle.y - (low.y + high.y) / 2) < 1e-9)
    #expect(plot.svg.contains(String(format: "cx=\"%.1f\" cy=\"%.1f\"", high.x, high.y)))
    #expect(HTML.escape("a<b & \"c\"") == "a&lt;b &amp; &quot;c&quot;")
}

@Test func badPathsAndFilesAreRefusedNamingThem() throws {
    let root = temporaryDirectory("report-bad")
    defer { try? FileManager.default.removeItem(atPath: root) }
    #expect(errorText { _ = try PruneHTMLReport.load(outputDirectory: root + "/missing") }.contains("no such file or directory; expected the output directory of stp prune"))
    #expect(errorText { _ = try PruneHTMLReport.load(outputDirectory: root) }.contains("holds no report.json"))
    try AtomicFile.write("{\"reports\": 3}", to: root + "/report.json")
    #expect(errorText { _ = try PruneHTMLReport.load(outputDirectory: root) }.contains("is not the report of stp prune"))
    #expect(errorText { _ = try PruneHTMLReport.load(outputDirectory: root + "/report.json") }.contains("is a file"))
    try AtomicFile.write("{\"macs\": 5, \"top1\": 0.5}\nnot json\n", to: root + "/peer.json")
    #expect(errorText { _ = try PruneHTMLReport.comparedResults(path: root + "/peer.json") }.contains("line 2 is not a JSON object"))
    try AtomicFile.write("[{\"top1\": 0.5}]", to: root + "/peer.json")
    #expect(errorText { _ = try PruneHTMLReport.comparedResults(path: root + "/peer.json") }.contains("result 1 has no \"macs\""))
}

