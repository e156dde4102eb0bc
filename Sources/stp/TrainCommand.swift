import ArgumentParser
import STPEngine

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a ResNet with cross-entropy and SGD.")

    @Option(help: "Model: \(ResNetSpec.knownNames.joined(separator: ", ")).") var model = "resnet20"
    @Option(help: "Shortcut of blocks that change shape: zero-pad or projection.") var shortcut: ShortcutKind = .zeroPad
    @Option(help: "Data: builtin[:seed=N,train=N,test=N], cifar10:PATH, cifar100:PATH, mnist:PATH, fashion-mnist:PATH.")
    var data = DataSource.default.spec
    @Option(help: "Epochs.") var epochs = 30
    @Option(help: "Batch size.") var batch = 128
    @Option(help: "Peak learning rate.") var lr: Float = 0.1
    @Option(help: "Learning-rate schedule: cosine, step or constant.") var schedule: LearningRateSchedule.Kind = .cosine
    @Option(help: "Linear warm-up, in epochs.") var warmup: Double = 0
    @Option(help: "Step schedule milestones in epochs, comma-separated (e.g. 15,25).") var milestones = ""
    @Option(help: "Step schedule factor.") var gamma: Float = 0.1
    @Option(help: "SGD momentum.") var momentum: Float = 0.9
    @Flag(help: "Nesterov momentum.") var nesterov = false
    @Option(name: .customLong("weight-decay"), help: "Weight decay.") var weightDecay: Float = 5e-4
    @Option(name: .customLong("label-smoothing"), help: "Label smoothing of the cross-entropy.") var labelSmoothing: Float = 0
    @Option(name: .customLong("crop-padding"), help: "Random-crop padding in pixels (0 turns cropping off).") var cropPadding = 4
    @Flag(name: .customLong("no-flip"), help: "No random horizontal flips.") var noFlip = false
    @Option(help: "Random seed (initialisation, shuffling, augmentation).") var seed: UInt64 = 0
    @Option(name: .customLong("run"), help: "Run directory (default: runs/DATE-TIME-MODEL-DATA).") var runDirectory: String?
    @Option(help: "Continue the run saved in this directory.") var resume: String?
    @Flag(help: "Replace an existing run in --run.") var overwrite = false
    @Flag(help: "Print each epoch's metrics as a JSON line on standard output.") var json = false
    @Option(help: "Compute threads (default: all cores; OpenBLAS runs single-threaded inside each).") var threads: Int?

    func run() throws {
        try reportingErrors {
            if let threads { ComputeThreads.set(workers: threads) }
            var options = TrainJobOptions()
            var c = TrainingConfig()
            c.model = model
            c.shortcut = shortcut
            c.data = data
            c.epochs = epochs
            c.batchSize = batch
            c.schedule = LearningRateSchedule(kind: schedule, base: lr, warmupEpochs: warmup,
                                              milestones: try parseMilestones(milestones), gamma: gamma,
                                              totalEpochs: Double(epochs))
            c.optimizer = SGDOptions(momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
            c.labelSmoothing = labelSmoothing
            c.augmentation = Augmentation(cropPadding: cropPadding, horizontalFlip: !noFlip)
            c.seed = seed
            options.config = c
            options.runPath = runDirectory
            options.resumePath = resume
            options.overwrite = overwrite
            options.jsonLines = json
            try TrainJob.run(options)
        }
    }

    private func parseMilestones(_ text: String) throws -> [Double] {
        if text.isEmpty { return [] }
        return try text.split(separator: ",").map {
            guard let v = Double($0.trimmingCharacters(in: .whitespaces)), v > 0 else {
                throw STPError(.argument, "--milestones: '\($0)' is not a positive number of epochs")
            }
            return v
        }
    }
}
