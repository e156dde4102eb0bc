import ArgumentParser
import STPEngine
import STPMethod

// Options that `stp prune` and `stp explore` share, with the same names and defaults. The search's
// sizes are not here: the explorer's defaults are smaller so a search finishes in seconds.

/// The image-folder options of `--data folder:PATH`, shared by every command that trains.
struct FolderArguments: ParsableArguments {
    @Option(name: .customLong("input-size"), help: "Image folders: the network's input height and width (default 32; 224 for ImageNet-size ResNets).")
    var inputSize: Int?
    @Option(name: .customLong("val-fraction"), help: "Image folders without a val/ folder: the share of train/ held out as the test set (default 0.1).")
    var valFraction: Double?
    @Flag(name: .customLong("skip-bad-images"), help: "Image folders: skip (and count) files that are not readable images instead of stopping.")
    var skipBadImages = false

    /// `data` with these options applied; the full spec of an image folder (every option written
    /// out, so a resumed run means the same), any other spec unchanged.
    func resolve(_ data: String) throws -> String {
        let source = try DataSource(parsing: data)
        let adjusted = try source.withFolderOptions(inputSize: inputSize, valFraction: valFraction, skipBadImages: skipBadImages)
        if case .folder = adjusted { return adjusted.spec }
        return data
    }
}

struct TrainingArguments: ParsableArguments {
    @Option(help: "Data: builtin[:seed=N,train=N,test=N], cifar10:PATH, cifar100:PATH, mnist:PATH, fashion-mnist:PATH, folder:PATH (PATH/train/CLASS/*.jpg|png, PATH/val/CLASS/...).")
    var data = DataSource.default.spec
    @OptionGroup var folder: FolderArguments
    @OptionGroup var network: NetworkArguments
    @Option(help: "Training epochs (stp prune: 0 with --init prunes the trained network as it is, with no training).")
    var epochs = 30
    @Option(help: "Batch size.") var batch = 128
    @Option(help: "Peak learning rate, cosine schedule (default: \(TrainingConfig.scratchLearningRate) from scratch, \(TrainingConfig.fromTrainedLearningRate) with --init).")
    var lr: Float?
    @Option(help: "Random seed (training and search).") var seed: UInt64 = 0
    @OptionGroup var compute: ComputeArguments

    /// Sets the compute threads and precision and fills `config` (model, data, initial network, normalisation,
    /// epochs, batch, schedule, seed).
    func apply(to config: inout TrainingConfig) throws {
        try compute.apply()
        try network.apply(data: data, to: &config)
        config.data = try folder.resolve(data)
        config.epochs = epochs
        config.batchSize = batch
        config.schedule = LearningRateSchedule(kind: .cosine, base: lr ?? config.defaultLearningRate, totalEpochs: Double(epochs))
        config.seed = seed
    }
}

/// The network a run trains: its model, the trained network it starts from and its input
/// normalisation (stp train, prune and explore).
struct NetworkArguments: ParsableArguments {
    @Option(help: "Model: \(ResNetSpec.knownNames.joined(separator: ", ")) (default: resnet20, or the --init network's).")
    var model: String?
    @Option(name: .customLong("init"), help: ArgumentHelp(
        "Start from this trained network: a PyTorch checkpoint (.th/.pt/.pth), a safetensors file, or a directory written by stp import or stp train.",
        valueName: "FILE|DIR"))
    var initialNetwork: String?
    @Option(help: "Input normalisation: \(Normalization.specForms) (default: the --init network's, else the training set's statistics).")
    var normalization: String?

    /// Sets the model, the initial network and the normalisation of `config`: the model defaults
    /// to the --init network's (which is read here, so a wrong path or file fails before any data
    /// loads).
    func apply(data: String, to config: inout TrainingConfig) throws {
        try applyInitialNetwork(initialNetwork, model: model, normalization: normalization, data: data, to: &config)
    }
}

private func applyInitialNetwork(_ path: String?, model: String?, normalization: String?, data: String,
                                 to config: inout TrainingConfig) throws {
    if let path {
        let initial = try InitialNetwork.load(path)
        config.model = model ?? initial.modelName
        config.shortcut = initial.shortcut
        config.initialWeights = path
        let assumed = normalization == nil && initial.normalizationAssumed
        Console.standardError.writeLine("init: \(initial.summary); input normalisation "
                                        + (normalization != nil ? "as given" : (initial.normalization?.summary ?? "from the data"))
                                        + (assumed ? " (assumed: the file states none; give --normalization if it differs)" : ""))
    } else {
        config.model = model ?? "resnet20"
    }
    if let normalization {
        let kind = data.split(separator: ":").first.map { $0.lowercased() } ?? ""
        config.normalization = try Normalization.parse(normalization, channels: kind.hasSuffix("mnist") ? 1 : 3)
    }
}

struct StimulativeArguments: ParsableArguments {
    @Option(help: "Stimulative: subnets per step (default: \(PruneRecipe.fromScratch.subnetsPerStep) from scratch, \(PruneRecipe.fromTrained.subnetsPerStep) with --init).")
    var subnets: Int?
    @Option(help: "Stimulative: kd or kd-.") var distillation: StimulativeOptions.Distillation = .kd
    @Option(help: "Stimulative: uniform, flops, or budget sampling (stp prune: subnets inside +-focus-spread of each FLOPs budget).")
    var sampling: StimulativeOptions.Sampling = .uniform
    @Option(help: "Stimulative: what subnets distil from, live (the full network as it trains) or frozen (the --init network as given).")
    var teacher: StimulativeOptions.Teacher = .live
    @Option(name: .customLong("full-network"), help: "Stimulative: the full network's loss, ce (labels), kd (from the frozen teacher) or none (only subnets train); kd and none need --teacher frozen.")
    var fullNetwork: StimulativeOptions.FullNetworkLoss = .ce
    @Option(name: .customLong("kd-lambda"), help: "Stimulative: weight of the subnets' KD loss.") var kdLambda: Float = 1
    @Option(help: "Stimulative: KD temperature.") var temperature: Float = 1
    @Option(help: "Stimulative: kd-'s amplitude of the standardised logits.") var amplitude: Float = 4
    @Option(name: .customLong("focus-spread"), help: "Stimulative, --sampling budget: half-width of each budget's window, a fraction of its MACs.")
    var focusSpread: Double = 0.2

    /// Fills `options`; `recipe` gives the subnets per step when --subnets is not given.
    func apply(to options: inout StimulativeOptions, recipe: PruneRecipe) {
        options.subnetsPerStep = subnets ?? recipe.subnetsPerStep
        options.distillation = distillation
        options.sampling = sampling
        options.teacher = teacher
        options.fullNetworkLoss = fullNetwork
        options.lambda = kdLambda
        options.temperature = temperature
        options.amplitude = amplitude
        options.focusSpread = focusSpread
    }
}
