import Foundation

// `stp train` (and, until the explorer exists, `stp` with no arguments): a training run with a
// progress bar on a terminal (plain lines otherwise), one summary line per epoch, metrics as JSON
// lines in the run directory, a checkpoint after every epoch, and a clean stop on Ctrl-C.

public struct TrainJobOptions {
    public var config = TrainingConfig()
    /// Where to write the run; nil picks runs/DATE-TIME-MODEL-DATA.
    public var runPath: String?
    public var resumePath: String?
    public var overwrite = false
    /// Also print each epoch's metrics as one JSON line on standard output.
    public var jsonLines = false
    /// Called with the trainer before training starts (`resumed` tells whether it continues a
    /// run): a method installs its objective here.
    public var prepare: ((Trainer, _ resumed: Bool) throws -> Void)?
    public init() {}
}

public enum TrainJob {
    public static func defaultRunPath(model: String, data: String) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let kind = data.split(separator: ":").first.map(String.init) ?? "data"
        return "runs/\(formatter.string(from: Date()))-\(model)-\(kind)"
    }

    @discardableResult
    public static func run(_ options: TrainJobOptions, console: Console = .standardError) throws -> RunRecord {
        let workers = ComputeThreads.workers
        let blas = BLASRuntime.status()
        let world = Distributed.world
        console.writeLine(blas.logLine + "; engine: \(workers) compute threads"
                          + (world.isDistributed ? ", \(world.size) MPI ranks (each batch split over them)" : ""))
        if let alarm = blas.alarm { console.writeLine(alarm) }

        let trainer: Trainer
        // Under mpirun every rank trains its slice of each batch; ranks other than 0 keep their
        // files in a private folder (and read a run to resume from their copy of it).
        if let resume = options.resumePath {
            trainer = try Trainer.resume(runPath: try Distributed.privatePath(resume, copyingExisting: true))
            console.writeLine("resuming \(resume) at epoch \(trainer.record.epochsCompleted + 1), step \(trainer.record.stepsCompleted % trainer.stepsPerEpoch + 1) of \(trainer.stepsPerEpoch)")
        } else {
            let t0 = monotonicSeconds()
            let data = try DataSource(parsing: options.config.data).load()
            console.writeLine("data: \(options.config.data): \(data.train.count) train / \(data.test.count) test images, \(data.train.inputHeight)x\(data.train.inputWidth)x\(data.train.channels), \(data.train.classCount) classes (loaded in \(String(format: "%.1f", monotonicSeconds() - t0)) s)")
            let path = options.runPath ?? defaultRunPath(model: options.config.model, data: options.config.data)
            trainer = try Trainer(config: options.config, data: data, runPath: try Distributed.privatePath(path),
                                  overwrite: options.overwrite)
        }
        try trainer.distribute(over: Distributed.world)
        try options.prepare?(trainer, options.resumePath != nil)
        let config = trainer.config
        let summary = ModelSummary(spec: trainer.spec)
        console.writeLine("model: \(config.model) (\(config.shortcut.rawValue) shortcuts), \(formatCount(summary.totalParameters)) parameters, \(formatSI(summary.totalMACs)) MACs per image")
        console.writeLine("training: \(config.epochs) epochs x \(trainer.stepsPerEpoch) steps of \(config.batchSize), SGD lr \(config.schedule.base) \(config.schedule.kind.rawValue), momentum \(config.optimizer.momentum)\(config.optimizer.nesterov ? " (Nesterov)" : ""), weight decay \(config.optimizer.weightDecay), seed \(config.seed)")
        console.writeLine("objective: \(trainer.objective.name)"
                          + (trainer.calibrator.map { ", BN recalibrated on \($0.imageCount) training images before every evaluation" } ?? ""))
        if let run = trainer.runDirectory { console.writeLine("run directory: \(run.path)") }
        if trainer.isFinished {
            console.writeLine("nothing to do: the run already completed its \(config.epochs) epochs")
            return trainer.record
        }

        Interrupts.install()
        defer { Interrupts.uninstall() }
        var bar: ProgressBar?
        var firstStep = 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try trainer.train(events: { event in
            switch event {
            case .epochStarted(let epoch, let first, let steps):
                firstStep = first
                bar = ProgressBar(label: "epoch \(epoch + 1)/\(config.epochs)", total: steps, unit: "img", console: console)
            case .step(let p):
                bar?.update(completed: p.step + 1, items: (p.step + 1 - firstStep) * config.batchSize, fields: [
                    ("loss", String(format: "%.3f", p.runningLoss)),
                    ("acc", String(format: "%.1f%%", 100 * p.runningTop1)),
                    ("lr", String(format: "%.4f", p.learningRate)),
                ])
            case .evaluating:
                bar?.finish()
                bar = nil
            case .epochFinished(let m):
                console.writeLine(String(format: "epoch %d/%d  train loss %.4f acc %.2f%%  test loss %.4f top-1 %.2f%% top-5 %.2f%%  lr %.4f  %.0f img/s  %@",
                                         m.epoch, config.epochs, m.trainLoss, 100 * m.trainTop1, m.testLoss, 100 * m.testTop1,
                                         100 * m.testTop5, m.learningRate, m.imagesPerSecond, ProgressFormat.duration(m.seconds)))
                if options.jsonLines, let line = try? encoder.encode(m) {
                    Console.standardOutput.writeLine(String(decoding: line, as: UTF8.self))
                }
            case .checkpointSaved:
                break
            case .stopped(let epoch, let step):
                bar?.finish(completed: step)
                bar = nil
                let dir = trainer.runDirectory?.path ?? "(not saved)"
                console.writeLine("stopped at epoch \(epoch + 1), step \(step) of \(trainer.stepsPerEpoch); checkpoint saved in \(dir)")
                console.writeLine("continue with: stp train --resume \(dir)")
            }
        }, shouldStop: { Interrupts.stopRequested })
        if trainer.isFinished, let last = trainer.record.history.last {
            console.writeLine(String(format: "done: test top-1 %.2f%% after %d epochs in %@; run saved in %@",
                                     100 * last.testTop1, last.epoch, ProgressFormat.duration(trainer.record.wallSeconds),
                                     trainer.runDirectory?.path ?? "-"))
        }
        return trainer.record
    }
}
