import ArgumentParser
import Foundation
import STPEngine
import STPMethod

struct Sparsity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Relative sparsity of a saved network: kept versus dropped weight magnitude per layer for an architecture.")

    @Argument(help: "Run directory written by stp train.") var runDirectory: String
    @Option(help: "Reference architecture, e.g. 'd=2,1,3 w=8,12|16|32,48,64' (default: half width, full depth).")
    var arch: String?
    @Flag(help: "Print the report as JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let report = try SparsityJob.run(runPath: runDirectory, architecture: arch)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(report.table())
            }
        }
    }
}
