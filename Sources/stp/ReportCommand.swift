import ArgumentParser
import STPEngine
import STPMethod

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one self-contained HTML page (inline SVG, no script) of a stp prune output: results, fronts, architectures, training curves.")

    @Argument(help: "The output directory of stp prune.") var output: String
    @Option(name: .customLong("out"), help: "The HTML file to write (default: OUTPUT/report.html).") var file: String?
    @Option(help: "Results of another tool to overlay: bench/prune_peer.py's result.json (one JSON object per line, or an array).")
    var compare: [String] = []

    func run() throws {
        try reportingErrors {
            var report = try PruneHTMLReport.load(outputDirectory: output)
            for path in compare { report.compared += try PruneHTMLReport.comparedResults(path: path) }
            let target = file ?? output + "/report.html"
            try AtomicFile.write(report.html, to: target)
            Console.standardError.writeLine("wrote \(target): \(report.summary.reports.count) results, \(report.curves.count) training curves"
                                            + (report.compared.isEmpty ? "" : ", \(report.compared.count) compared results"))
        }
    }
}
