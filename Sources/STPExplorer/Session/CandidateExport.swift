import Foundation
import STPEngine
import STPMethod

// `e` in the explorer: the selected candidate becomes a real, smaller network. Extraction copies
// the weights the architecture uses, BN statistics are recalibrated on the training images, the
// test set is evaluated with no gradient step (no fine-tuning), and the network is saved under
// the run directory as extracted weights + architecture.json (what `stp eval` and `stp export`
// read) and as an ONNX model with BatchNorm folded.

struct CandidateExportResult: Sendable {
    var directory: String
    var onnxPath: String
    var test: EvaluationResult
    var macs: Int
    var parameters: Int
}

enum CandidateExport {
    /// The directory of an export: RUN/exports/d=...-MACS, readable and unique per architecture.
    static func directory(runPath: String, architecture: Architecture, macs: Int) -> String {
        let name = "d" + architecture.depthString.replacingOccurrences(of: ",", with: "-") + "-" + CountFormat.string(macs)
            + "-" + String(stableHash(architecture.text), radix: 16)
        return runPath + "/exports/" + name
    }

    /// FNV-1a of the text: the same name for the same architecture in every process.
    static func stableHash(_ text: String) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for byte in text.utf8 { h = (h ^ UInt32(byte)) &* 16_777_619 }
        return h
    }

    static func run(supernet: ResNet, architecture: Architecture, calibrator: BatchNormCalibrator,
                    testLoader: BatchLoader, runPath: String, normalization: Normalization, dataSpec: String,
                    convention: KeyConvention? = nil) throws -> CandidateExportResult {
        let extracted = try ExtractedModel(supernet: supernet, architecture: architecture, source: runPath)
        calibrator.recalibrate(extracted.network, subnet: nil)
        let test = evaluate(extracted.network, loader: testLoader)
        let dir = directory(runPath: runPath, architecture: architecture, macs: extracted.info.macs)
        try extracted.save(to: dir, normalization: normalization, convention: convention, data: dataSpec)
        var onnx = ONNXExportOptions(foldBatchNorm: true)
        let normText = String(decoding: try JSONEncoder().encode(normalization), as: UTF8.self)
        onnx.metadata = ["stp.data": dataSpec, "stp.architecture": architecture.text, "stp.normalization": normText]
        let onnxPath = dir + "/model.onnx"
        _ = try ONNXExport.write(extracted.network, to: onnxPath, options: onnx)
        let summary: [String: String] = [
            "architecture": architecture.text, "macs": String(extracted.info.macs),
            "parameters": String(extracted.info.parameters),
            "test_top1": String(format: "%.4f", test.top1), "test_top5": String(format: "%.4f", test.top5),
            "test_loss": String(format: "%.4f", test.loss), "fine_tuned": "false",
        ]
        let encoder = ReportJSON.encoder([.prettyPrinted, .sortedKeys])
        try AtomicFile.write(try encoder.encode(summary), to: dir + "/evaluation.json")
        return CandidateExportResult(directory: dir, onnxPath: onnxPath, test: test,
                                     macs: extracted.info.macs, parameters: extracted.info.parameters)
    }
}
