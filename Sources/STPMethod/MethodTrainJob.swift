import STPEngine

// `stp train --method ...`: the engine's training job with a method's objective, and the
// relative sparsity of a reference architecture recorded into metrics.jsonl after every epoch.

public struct SparsityRecord: Codable, Sendable {
    public var epoch: Int
    public var relativeSparsity: RelativeSparsityReport
}

public enum MethodTrainJob {
    /// Runs `options` with `method` (ignored when resuming: the run's own method is used).
    /// `reference` is the architecture whose relative sparsity is recorded (default: half width).
    @discardableResult
    public static func run(_ options: TrainJobOptions, method: MethodConfig, reference: String? = nil) throws -> RunRecord {
        var options = options
        let outer = options.prepare
        options.prepare = { trainer, resumed in
            try outer?(trainer, resumed)
            let chosen = resumed ? try MethodTraining.method(of: trainer.record, path: trainer.runDirectory?.path ?? "run") : method
            try MethodTraining.configure(trainer, method: chosen)
            let architecture = try reference.map { try Architecture(parsing: $0) }
                ?? SparsityJob.defaultArchitecture(for: trainer.spec)
            try architecture.validate(for: trainer.spec)
            trainer.onEpochEnd = { t, metrics in
                let report = try RelativeSparsity.measure(t.model, architecture: architecture)
                try t.appendMetrics(SparsityRecord(epoch: metrics.epoch, relativeSparsity: report))
                if let r = report.meanWeightRatio {
                    Console.standardError.writeLine(String(format: "  relative sparsity (%@): kept/dropped |w| %.3f, |gamma| %.3f, dropped |w| %.4f",
                                                           architecture.text, r, report.meanGammaRatio ?? .nan,
                                                           report.meanDroppedMagnitude ?? .nan))
                }
            }
        }
        return try TrainJob.run(options)
    }
}
