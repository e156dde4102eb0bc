import ArgumentParser
import STPEngine
import STPMethod

// Options that `stp prune` and `stp explore` share, with the same names and defaults. The search's
// sizes are not here: the explorer's defaults are smaller so a search finishes in seconds.

struct TrainingArguments: ParsableArguments {
    @Option(help: "Data: builtin[:seed=N,train=N,test=N], cifar10:PATH, cifar100:PATH, mnist:PATH, fashion-mnist:PATH.")
    var data = DataSource.default.spec
    @Option(help: "Model: \(ResNetSpec.knownNames.joined(separator: ", ")).") var model = "resnet20"
    @Option(help: "Training epochs.") var epochs = 30
    @Option(help: "Batch size.") var batch = 128
    @Option(help: "Peak learning rate (cosine schedule).") var lr: Float = 0.1
    @Option(help: "Random seed (training and search).") var seed: UInt64 = 0
    @Option(help: "Compute threads (default: all cores; OpenBLAS runs single-threaded inside each).") var threads: Int?

    /// Sets the compute threads and fills `config` (model, data, epochs, batch, schedule, seed).
    func apply(to config: inout TrainingConfig) {
        if let threads { ComputeThreads.set(workers: threads) }
        config.model = model
        config.data = data
        config.epochs = epochs
        config.batchSize = batch
        config.schedule = LearningRateSchedule(kind: .cosine, base: lr, totalEpochs: Double(epochs))
        config.seed = seed
    }
}

struct StimulativeArguments: ParsableArguments {
    @Option(help: "Stimulative: subnets per step.") var subnets = 1
    @Option(help: "Stimulative: kd or kd-.") var distillation: StimulativeOptions.Distillation = .kd
    @Option(help: "Stimulative: uniform or flops sampling.") var sampling: StimulativeOptions.Sampling = .uniform

    func apply(to options: inout StimulativeOptions) {
        options.subnetsPerStep = subnets
        options.distillation = distillation
        options.sampling = sampling
    }
}
