import ArgumentParser
import Foundation
import STPEngine
import STPMethod

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a saved run as an ONNX model (NCHW float input 'input', output 'logits').",
        discussion: """
            The model takes inputs normalised as in training (the mean and std are in the model's \
            metadata). With --check, also writes OUT.check-input.npy (a random batch) and \
            OUT.check-logits.npy (stp's logits for it) and runs scripts/check_onnx.py, which compares \
            them with onnxruntime's (needs python3 with onnx and onnxruntime; it reports "skipped" \
            without onnxruntime unless STP_REQUIRE_ONNX is set).
            """)

    @Option(name: .customLong("onnx"), help: ArgumentHelp("Write the ONNX model to this file.", valueName: "OUT.onnx"))
    var output: String
    @Argument(help: "Run directory written by stp train, or an extracted network's directory (stp prune's OUTPUT/extracted).")
    var runDirectory: String
    @Flag(help: "Check the exported model against stp with onnxruntime.") var check = false
    @Flag(name: .customLong("keep-batchnorm"), help: "Keep BatchNormalization nodes instead of folding them into the convolutions.")
    var keepBatchNorm = false
    @Option(name: .customLong("input-size"), help: "Input height and width (default: the run's data set's).") var inputSize: Int?
    @Option(name: .customLong("check-batch"), help: "Images in the --check batch.") var checkBatch = 4
    @Option(name: .customLong("check-script"), help: "Path of check_onnx.py (default: scripts/check_onnx.py of this checkout).")
    var checkScript: String?

    func run() throws {
        try reportingErrors {
            var options = ONNXExportJobOptions(runPath: runDirectory, outputPath: output)
            options.foldBatchNorm = !keepBatchNorm
            options.inputSize = inputSize.map { ($0, $0) }
            options.check = check
            options.checkBatch = checkBatch
            options.checkScript = checkScript
            if ExtractedEvalJob.isExtracted(runDirectory) {
                let path = runDirectory
                options.loadNetwork = { try ExtractedEvalJob.load(path) }
            }
            let report = try ONNXExportJob.run(options)
            let s = report.spec
            print(String(format: "wrote %@: %@ after %d epochs, input [N, %d, %d, %d], %d nodes, %d weights, %.2f MB%@",
                         report.outputPath, s.name, report.epochs, s.inputChannels, s.inputHeight, s.inputWidth,
                         report.nodeCount, report.initializerElements, Double(report.bytes) / 1e6,
                         report.foldedBatchNorm ? " (BatchNorm folded into the convolutions)" : ""))
            if let check = report.check {
                print("check batch: \(check.inputPath), stp logits: \(check.logitsPath)")
                if !check.message.isEmpty { print(check.message) }
                if check.status != .passed { print("stp: the ONNX model was not checked (\(check.status.rawValue))") }
            }
        }
    }
}
