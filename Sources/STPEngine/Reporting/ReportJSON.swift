import Foundation

// The JSON of stp's reports (stp eval --json, stp prune's report.json and --json lines, the
// explorer's exported evaluations). JSON has no NaN or infinity, and a loss or fitness of a
// broken network is one of them: such numbers are written as the strings "nan", "inf" and
// "-inf", as run records and metrics logs write them, rather than failing to encode.

public enum ReportJSON {
    public static func encoder(_ formatting: JSONEncoder.OutputFormatting = [.sortedKeys]) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = formatting
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: RunRecord.nonFinite.positive, negativeInfinity: RunRecord.nonFinite.negative, nan: RunRecord.nonFinite.nan)
        return encoder
    }
}

extension EvaluationResult {
    /// The loss for people: four decimals, or what a non-finite loss means.
    public var lossText: String {
        loss.isFinite ? String(format: "%.4f", loss) : "\(loss.isNaN ? "nan" : "inf") (the network produces non-finite outputs)"
    }
}
