import ArgumentParser
import Foundation
import STPEngine
import STPMethod

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a saved run on its test set (top-1, top-5, loss).")

    @Argument(help: "Run directory written by stp train, or an extracted network's directory (stp prune's OUTPUT/extracted).")
    var runDirectory: String
    @Option(help: "Evaluate on this data set instead of the run's own.") var data: String?
    @Option(help: "Batch size.") var batch = 256
    @Flag(help: "Print the result as JSON.") var json = false
    @OptionGroup var compute: ComputeArguments

    func run() throws {
        try reportingErrors {
            try compute.apply()
            var options = EvalJobOptions(runPath: runDirectory)
            options.data = data
            options.batch = batch
            let report = ExtractedEvalJob.isExtracted(runDirectory) ? try ExtractedEvalJob.run(options) : try EvalJob.run(options)
            if json {
                print(String(decoding: try ReportJSON.encoder().encode(report), as: UTF8.self))
            } else {
                print(String(format: "%@ (%@, %d epochs) on %@: top-1 %.2f%%  top-5 %.2f%%  loss %@  (%d images)",
                             report.run, report.model, report.epochs, report.data, 100 * report.result.top1,
                             100 * report.result.top5, report.result.lossText, report.result.count))
            }
        }
    }
}
