import ArgumentParser
import STPEngine
import STPMethod

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a ResNet with cross-entropy and SGD.")

    @OptionGroup var network: NetworkArguments
    @Option(help: "Shortcut of blocks that change shape: zero-pad or projection (default: zero-pad, or the --init network's).")
    var shortcut: ShortcutKind?
    @Option(help: "Data: builtin[:seed=N,train=N,test=N], cifar10:PATH, cifar100:PATH, mnist:PATH, fashion-mnist:PATH, folder:PATH (PATH/train/CLASS/*.jpg|png, PATH/val/CLASS/...).")
    var data = DataSource.default.spec
    @OptionGroup var folder: FolderArguments
    @Option(help: "Epochs.") var epochs = 30
    @Option(help: "Batch size.") var batch = 128
    @Option(help: "Peak learning rate (default: \(TrainingConfig.scratchLearningRate) from scratch, \(TrainingConfig.fromTrainedLearningRate) with --init).")
    var lr: Float?
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
    @Option(help: "Objective: standard (cross-entropy), stimulative (STP: full network plus distilled subnets) or slimming (L1 on BN gamma).")
    var method: MethodConfig.Kind = .standard
    @Option(help: "Stimulative: subnets per step (K).") var subnets = 1
    @Option(name: .customLong("kd-lambda"), help: "Stimulative: weight of the distillation loss.") var kdLambda: Float = 1
    @Option(help: "Stimulative: distillation temperature.") var temperature: Float = 1
    @Option(help: "Stimulative: kd, or kd- (standardised logits times --amplitude).") var distillation: StimulativeOptions.Distillation = .kd
    @Option(help: "Stimulative: amplitude of kd- logits.") var amplitude: Float = 4
    @Option(help: "Stimulative: subnet sampling, uniform (per gene) or flops (FLOPs level first).") var sampling: StimulativeOptions.Sampling = .uniform
    @Option(name: .customLong("width-ratios"), help: "Architecture space: kept width ratios, comma-separated.") var widthRatios: String?
    @Option(help: "Architecture space: round widths to a multiple of this (1, 4, 8, 16).") var divisor = 1
    @Option(help: "Slimming: strength s of s * sum |gamma|.") var slimming: Float = 1e-4
    @Option(name: .customLong("recalibration-images"), help: "Re-estimate BN statistics on this many training images before every evaluation (default: 2000 for stimulative and slimming, 0 for standard).")
    var recalibrationImages: Int?
    @Option(help: "Reference architecture whose relative sparsity is recorded every epoch (default: half width).") var reference: String?
    @OptionGroup var compute: ComputeArguments

    func run() throws {
        try reportingErrors {
            try compute.apply()
            var options = TrainJobOptions()
            var c = TrainingConfig()
            if resume == nil {
                try network.apply(data: data, to: &c)
            }
            if let shortcut { c.shortcut = shortcut }
            c.data = try folder.resolve(data)
            c.epochs = epochs
            c.batchSize = batch
            c.schedule = LearningRateSchedule(kind: schedule, base: lr ?? c.defaultLearningRate, warmupEpochs: warmup,
                                              milestones: try parseMilestones(milestones), gamma: gamma,
                                              totalEpochs: Double(epochs))
            c.optimizer = SGDOptions(momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
            c.labelSmoothing = labelSmoothing
            c.augmentation = Augmentation(cropPadding: cropPadding, horizontalFlip: !noFlip)
            c.seed = seed
            c.recalibrationImages = recalibrationImages ?? (method == .standard ? 0 : 2000)
            options.config = c
            options.runPath = runDirectory
            options.resumePath = resume
            options.overwrite = overwrite
            options.jsonLines = json
            var m = MethodConfig(kind: method)
            m.stimulative.subnetsPerStep = subnets
            m.stimulative.lambda = kdLambda
            m.stimulative.temperature = temperature
            m.stimulative.distillation = distillation
            m.stimulative.amplitude = amplitude
            m.stimulative.sampling = sampling
            m.stimulative.space.divisor = divisor
            if let widthRatios {
                m.stimulative.space.widthRatios = try widthRatios.split(separator: ",").map {
                    guard let r = Double($0.trimmingCharacters(in: .whitespaces)), r > 0, r <= 1 else {
                        throw STPError(.argument, "--width-ratios: '\($0)' is not a ratio in (0, 1]")
                    }
                    return r
                }
            }
            m.slimmingStrength = slimming
            try MethodTrainJob.run(options, method: m, reference: reference)
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
