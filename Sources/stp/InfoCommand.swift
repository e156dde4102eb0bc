import ArgumentParser
import STPEngine

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the BLAS core, threads and CPU features, or a model's per-layer table.")

    @Option(help: "Print this model's layers, parameters and MACs.") var model: String?
    @Option(help: "Shortcut kind for --model.") var shortcut: ShortcutKind?
    @Option(name: .customLong("input-size"), help: "Input height and width for --model.") var inputSize: Int?
    @Option(help: "Input channels for --model.") var channels = 3
    @Option(help: "Classes for --model.") var classes = 10
    @Flag(help: "Print the table as CSV.") var csv = false

    func run() throws {
        try reportingErrors {
            if let model {
                let spec = try ResNetSpec.named(model, inputChannels: channels, classes: classes,
                                                inputSize: inputSize.map { ($0, $0) }, shortcut: shortcut)
                print(InfoReport.modelTable(spec, csv: csv), terminator: csv ? "" : "\n")
            } else {
                _ = ComputeThreads.workers   // the engine sets OpenBLAS single-threaded; report that state
                print(InfoReport.system(BLASRuntime.status()))
            }
        }
    }
}
