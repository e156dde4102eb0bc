import Foundation
import STPEngine

// `stp report OUTPUT`: one self-contained HTML file (inline SVG and CSS, no script, no network)
// for the output directory of `stp prune`, to show a result to someone who does not run stp:
//   - the results table (method, budget, MACs, parameters, pruned top-1, latency, architecture);
//   - pruned top-1 against MACs and against measured batch-1 latency, one series per method,
//     the full network as a point, and the results of other tools given with --compare (the
//     peer's result.json from bench/prune_peer.py: its fine-tuned top-1 at its MACs);
//   - stp's fronts over the whole space (front.json, at the first search, and with --init
//     front-as-imported.json, before any training): held-out top-1 of the subnets on the front,
//     so the gain of stimulative training shows at every size;
//   - each result's architecture drawn as the explorer draws it: per stage one bar per kept
//     block, its height the kept share of the block's full inner width;
//   - the training curves (test top-1 of the full network per epoch) of every run directory of
//     the output, the shared trunk included;
//   - the relative sparsity of each result and what made it (epochs, wall time, data, model).

public struct PruneHTMLReport {
    /// One run directory's test top-1 per epoch.
    public struct Curve {
        public var name: String
        public var top1: [(epoch: Int, top1: Double)]
    }

    /// A result of another tool to overlay: `label` at `macs` with `top1`.
    public struct ComparedResult: Equatable {
        public var label: String
        public var macs: Int
        public var top1: Double
    }

    public var summary: PruneSummary
    public var curves: [Curve]
    /// stp's fronts, by name: "front as imported" and "front at the first search" when written.
    public var fronts: [(name: String, file: FrontFile)] = []
    public var compared: [ComparedResult]
    /// The directory read, as given.
    public var path: String

    /// Reads the prune output at `path`: its report.json and the run.json of each run directory.
    public static func load(outputDirectory path: String) throws -> PruneHTMLReport {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw STPError.file(.argument, path, "no such file or directory; expected the output directory of stp prune")
        }
        guard isDirectory.boolValue else {
            throw STPError.file(.argument, path, "is a file; expected the output directory of stp prune (holding report.json)")
        }
        let reportPath = path + "/report.json"
        guard FileManager.default.fileExists(atPath: reportPath) else {
            throw STPError.file(.argument, path, "holds no report.json: not the output of a finished stp prune (a stopped one writes it when it finishes; continue it with --resume)")
        }
        let bytes = try RegularFile.read(reportPath, kind: .argument, what: "the report of stp prune (JSON)")
        let summary: PruneSummary
        do {
            summary = try JSONDecoder().decode(PruneSummary.self, from: Data(bytes))
        } catch {
            throw STPError.file(.argument, reportPath, "is not the report of stp prune: \(error)")
        }
        guard !summary.reports.isEmpty else {
            throw STPError.file(.argument, reportPath, "lists no results; expected at least one pruned network")
        }
        var curves: [Curve] = []
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path))?.sorted() ?? []
        for entry in entries {
            for run in [path + "/" + entry + "/run.json", path + "/" + entry + "/run/run.json"]
            where FileManager.default.fileExists(atPath: run) {
                guard let record = try? RunRecord.read(path: run), !record.history.isEmpty else { continue }
                curves.append(Curve(name: entry, top1: record.history.map { ($0.epoch, $0.testTop1) }))
            }
        }
        var report = PruneHTMLReport(summary: summary, curves: curves, compared: [], path: path)
        for (file, name) in [("front-as-imported.json", "front as imported"), ("front.json", "front at the first search")]
        where FileManager.default.fileExists(atPath: path + "/" + file) {
            let bytes = try RegularFile.read(path + "/" + file, kind: .argument, what: "a front written by stp prune (JSON)")
            do {
                report.fronts.append((name, try JSONDecoder().decode(FrontFile.self, from: Data(bytes))))
            } catch {
                throw STPError.file(.argument, path + "/" + file, "is not a front written by stp prune: \(error)")
            }
        }
        return report
    }

    /// The fronts' held-out top-1 against MACs, as plot series.
    var frontSeries: [SVGPlot.Series] {
        fronts.enumerated().map { i, f in
            SVGPlot.Series(name: f.name + " (held-out top-1)", color: i == 0 && fronts.count > 1 ? "#aaaaaa" : "#555555",
                           points: f.file.front.compactMap { row in row.accuracy.map { (Double(row.macs), 100 * $0) } }.sorted { $0.0 < $1.0 },
                           dots: false, dashed: true)
        }
    }

    /// Reads results to overlay from `path`: JSON objects (one per line, or an array), each with
    /// "macs" and a top-1 (bench/prune_peer.py's result.json: "top1_fine_tuned", else
    /// "top1_pruned_bn_recalibrated"; fractions or percentages).
    public static func comparedResults(path: String) throws -> [ComparedResult] {
        let text = String(decoding: try RegularFile.read(path, kind: .argument, what: "results to compare (JSON)"), as: UTF8.self)
        var objects: [[String: Any]] = []
        if let array = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] {
            objects = array
        } else if let one = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] {
            objects = [one]
        } else {
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw STPError.file(.argument, path, "line \(i + 1) is not a JSON object; expected one result per line (bench/prune_peer.py's result.json)")
                }
                objects.append(object)
            }
        }
        return try objects.enumerated().map { i, o in
            guard let macs = (o["macs"] as? NSNumber)?.intValue else {
                throw STPError.file(.argument, path, "result \(i + 1) has no \"macs\"; expected bench/prune_peer.py's result.json")
            }
            let fineTuned = (o["top1_fine_tuned"] as? NSNumber)?.doubleValue
            guard var top1 = fineTuned ?? (o["top1_pruned_bn_recalibrated"] as? NSNumber)?.doubleValue ?? (o["top1"] as? NSNumber)?.doubleValue else {
                throw STPError.file(.argument, path, "result \(i + 1) has no top-1 (top1_fine_tuned, top1_pruned_bn_recalibrated or top1)")
            }
            if top1 > 1 { top1 /= 100 }
            let peer = o["peer"] as? String ?? "compared"
            let criterion = (o["criterion"] as? String).map { " " + $0 } ?? ""
            let epochs = (o["epochs"] as? NSNumber)?.intValue
            let label = peer + criterion + (fineTuned != nil ? " + \(epochs.map(String.init) ?? "?") epochs fine-tuning" : "")
            return ComparedResult(label: label, macs: macs, top1: top1)
        }
    }

    private static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]

    /// The whole page.
    public var html: String {
        let reports = summary.reports
        let first = reports[0]
        let methods = reports.map(\.method).reduce(into: [String]()) { if !$1.isEmpty && !$0.contains($1) { $0.append($1) } }
        func color(_ method: String) -> String { Self.palette[(methods.firstIndex(of: method) ?? 0) % Self.palette.count] }
        func pct(_ v: Double) -> String { String(format: "%.2f%%", 100 * v) }

        var macsSeries = methods.map { m in
            SVGPlot.Series(name: m, color: color(m), points: reports.filter { $0.method == m }.sorted { $0.macs < $1.macs }
                .map { (Double($0.macs), 100 * $0.prunedTestTop1) })
        }
        macsSeries.append(SVGPlot.Series(name: "full network", color: "black", points: [(Double(first.fullMACs), 100 * first.fullTestTop1)], line: false))
        macsSeries += frontSeries
        let labels = compared.map(\.label).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        for (i, label) in labels.enumerated() {
            macsSeries.append(SVGPlot.Series(name: label, color: Self.palette[(methods.count + i) % Self.palette.count],
                                             points: compared.filter { $0.label == label }.sorted { $0.macs < $1.macs }
                                                .map { (Double($0.macs), 100 * $0.top1) }, dashed: true))
        }
        let macsPlot = SVGPlot(title: "pruned top-1 (no fine-tuning) against FLOPs", xTitle: "MACs", yTitle: "top-1 (%)",
                               series: macsSeries, xLabel: { CountFormat.string(Int($0)) }, yLabel: { String(format: "%.1f", $0) })
        let latencySeries = methods.map { m in
            SVGPlot.Series(name: m, color: color(m), points: reports.filter { $0.method == m }
                .compactMap { r in r.latencyMilliseconds.map { ($0, 100 * r.prunedTestTop1) } }.sorted { $0.0 < $1.0 })
        }
        let hasLatency = latencySeries.contains { !$0.points.isEmpty }
        let latencyPlot = SVGPlot(title: "pruned top-1 against measured batch-1 latency", xTitle: "milliseconds", yTitle: "top-1 (%)",
                                  series: latencySeries, xLabel: { String(format: "%.3f", $0) }, yLabel: { String(format: "%.1f", $0) })
        let curvePlot = SVGPlot(title: "full network's test top-1 during training", xTitle: "epoch", yTitle: "top-1 (%)",
                                series: curves.enumerated().map { i, c in
                                    SVGPlot.Series(name: c.name, color: Self.palette[i % Self.palette.count],
                                                   points: c.top1.map { (Double($0.epoch), 100 * $0.top1) })
                                }, xLabel: { String(format: "%g", ($0 * 10).rounded() / 10) }, yLabel: { String(format: "%.1f", $0) })

        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>stp prune: \(HTML.escape(first.model)) on \(HTML.escape(first.data))</title>
            <style>
            body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1200px; }
            table { border-collapse: collapse; margin: 12px 0; font-size: 13px; }
            th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
            th { background: #f0f0f0; } td.text { text-align: left; font-family: monospace; }
            .plots { display: flex; flex-wrap: wrap; gap: 16px; } .note { color: #666; font-size: 12px; }
            </style></head><body>
            <h1>stp prune: \(HTML.escape(first.model)) on \(HTML.escape(first.data))</h1>
            <p>\(reports.count) pruned network\(reports.count == 1 ? "" : "s"), \(first.epochs) training epochs, full network \(pct(first.fullTestTop1)) top-1, \(CountFormat.string(first.fullMACs)) MACs, \(CountFormat.string(first.fullParameters)) parameters. Every pruned top-1 is of the extracted network with no fine-tuning. Wall time of the invocation \(ProgressFormat.duration(summary.wallSeconds)). Output directory: <code>\(HTML.escape(path))</code>.</p>
            <table><tr><th>method</th><th>budget</th><th>MACs</th><th>removed</th><th>params</th><th>pruned top-1</th><th>top-5</th><th>latency, batch 1</th><th>img/s</th><th>relative sparsity</th><th>wall time</th><th>architecture</th></tr>

            """
        for r in reports {
            page += "<tr><td class=\"text\">\(HTML.escape(r.method))</td><td>\(HTML.escape(r.budget))</td><td>\(CountFormat.string(r.macs))</td>"
                + "<td>\(pct(1 - Double(r.macs) / Double(r.fullMACs)))</td><td>\(CountFormat.string(r.parameters))</td>"
                + "<td><b>\(pct(r.prunedTestTop1))</b></td><td>\(pct(r.prunedTestTop5))</td>"
                + "<td>\(r.latencyMilliseconds.map(LatencyFormat.milliseconds) ?? "-")</td>"
                + "<td>\(r.imagesPerSecond.map { String(format: "%.0f", $0) } ?? "-")</td>"
                + "<td>\(r.relativeSparsity.map { String(format: "%.3f", $0) } ?? "-")</td>"
                + "<td>\(ProgressFormat.duration(r.wallSeconds))</td><td class=\"text\">\(HTML.escape(r.architecture))</td></tr>\n"
        }
        page += "</table>\n<div class=\"plots\">\n" + macsPlot.svg + "\n"
        if hasLatency { page += latencyPlot.svg + "\n" }
        if !curves.isEmpty { page += curvePlot.svg + "\n" }
        page += "</div>\n<h2>Architectures</h2>\n<p class=\"note\">Per stage, one bar per kept block; its height is the block's kept inner width as a share of the full network's.</p>\n<div class=\"plots\">\n"
        for r in reports { page += Self.architectureSVG(r, color: color(r.method)) + "\n" }
        page += "</div>\n"
        if !compared.isEmpty {
            page += "<h2>Compared results</h2>\n<table><tr><th>result</th><th>MACs</th><th>top-1</th></tr>\n"
            for c in compared {
                page += "<tr><td class=\"text\">\(HTML.escape(c.label))</td><td>\(CountFormat.string(c.macs))</td><td>\(pct(c.top1))</td></tr>\n"
            }
            page += "</table>\n"
        }
        page += "<p class=\"note\">Made by stp report from \(HTML.escape(path))/report.json. Regenerate with <code>stp report \(HTML.escape(path))</code>.</p>\n</body></html>\n"
        return page
    }

    /// One result's architecture: per stage a group of bars, one per kept block.
    static func architectureSVG(_ r: PruneReport, color: String) -> String {
        guard let architecture = try? Architecture(parsing: r.architecture),
              let spec = try? ResNetSpec.named(r.model) else {
            return "<p>\(HTML.escape(r.method)) at \(HTML.escape(r.budget)): <code>\(HTML.escape(r.architecture))</code></p>"
        }
        var full: [[Int]] = [], next = 0
        for n in spec.blocksPerStage {
            full.append(Array(spec.innerWidths[next..<(next + n)]))
            next += n
        }
        let barWidth = 10.0, gap = 3.0, stageGap = 14.0, height = 60.0
        let totalBars = full.map(\.count).reduce(0, +)
        let width = 16 + Double(totalBars) * (barWidth + gap) + Double(full.count) * stageGap
        var out = #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(width))" height="\#(Int(height + 36))" font-family="sans-serif" font-size="11">"#
        out += #"<text x="4" y="12">\#(HTML.escape(r.method)) at \#(HTML.escape(r.budget)): \#(String(format: "%.2f%%", 100 * r.prunedTestTop1))</text>"#
        var x = 8.0
        for (s, stage) in full.enumerated() {
            for (b, fullWidth) in stage.enumerated() {
                let kept = s < architecture.widths.count && b < architecture.widths[s].count ? architecture.widths[s][b] : 0
                out += #"<rect x="\#(x)" y="20" width="\#(barWidth)" height="\#(height)" fill="none" stroke="gainsboro"/>"#
                if kept > 0 {
                    let h = height * Double(kept) / Double(max(fullWidth, 1))
                    out += #"<rect x="\#(x)" y="\#(20 + height - h)" width="\#(barWidth)" height="\#(h)" fill="\#(color)"/>"#
                }
                x += barWidth + gap
            }
            out += #"<text x="\#(x - Double(stage.count) * (barWidth + gap) / 2)" y="\#(Int(height + 32))" text-anchor="middle">s\#(s + 1)</text>"#
            x += stageGap
        }
        return out + "</svg>"
    }
}
