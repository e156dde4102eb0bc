import Foundation

// `stp bench`: throughput of a training step or of inference for a model and batch size, on
// random inputs, as the median of timed iterations after warm-up, with peak memory. Timing is
// reported, never asserted: benchmarks are not tests.

public struct BenchmarkOptions: Codable, Sendable {
    /// train: one SGD step; stim: one stimulative step (full network CE + one subnet that drops
    /// half of the droppable blocks, KL to the full network, as the PyTorch peer's stim mode);
    /// infer: an eval-mode forward pass; latency: the same at batch 1 (milliseconds_per_batch is
    /// the latency); search: KD-guided search candidate evaluations (run by STPMethod's
    /// MethodBenchmark, which knows architectures).
    public enum Mode: String, Codable, Sendable, CaseIterable {
        case train, stim, infer, latency, search
        /// The per-block latency model of the search (STPMethod's LatencyModel) against whole networks.
        case latencyModel = "latency-model"
    }
    public var model: String = "resnet20"
    /// nil: the model's own (zero padding for the CIFAR ResNets, 1x1 projections for ResNet-18/50,
    /// as torchvision's), so that `stp bench` and `stp info` describe the same network by default.
    public var shortcut: ShortcutKind?
    public var batch: Int = 128
    public var mode: Mode = .train
    public var warmup: Int = 2
    public var iterations: Int = 10
    /// Input height and width; nil: the model's own (32 for CIFAR ResNets, 224 for ImageNet ones).
    public var imageSize: Int?
    public var channels: Int = 3
    public var classes: Int = 10
    public init() {}

    /// The network the benchmark runs: the named model, unless a caller passes another spec.
    public func spec() throws -> ResNetSpec {
        try ResNetSpec.named(model, inputChannels: channels, classes: classes, inputSize: imageSize.map { ($0, $0) }, shortcut: shortcut)
    }
}

public struct BenchmarkResult: Codable, Sendable {
    public struct Spread: Codable, Sendable {
        public var min: Double
        public var median: Double
        public var max: Double

        public init(min: Double, median: Double, max: Double) { self.min = min; self.median = median; self.max = max }

        /// min, median and max of `values` (not empty), times `scale`.
        public init(seconds values: [Double], scale: Double = 1) {
            let sorted = values.sorted()
            let n = sorted.count
            let median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
            self.init(min: sorted[0] * scale, median: median * scale, max: sorted[n - 1] * scale)
        }
    }
    public var model: String
    public var mode: String
    public var batch: Int
    public var iterations: Int
    public var imagesPerSecond: Spread
    public var millisecondsPerBatch: Spread
    public var peakRSSMiB: Double
    public var blasCore: String
    public var blasThreads: Int
    public var macsPerImage: Int
    /// The network's input size and shortcut, so a figure says which network it is.
    public var inputSize: Int
    public var shortcut: String
    /// The pruned architecture benchmarked (extracted, physically smaller), when one was given.
    public var architecture: String?

    enum CodingKeys: String, CodingKey {
        case model, mode, batch, iterations
        case imagesPerSecond = "images_per_second"
        case millisecondsPerBatch = "milliseconds_per_batch"
        case peakRSSMiB = "peak_rss_mib"
        case blasCore = "blas_core"
        case blasThreads = "engine_threads"
        case macsPerImage = "macs_per_image"
        case inputSize = "input_size"
        case shortcut, architecture
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

public enum Benchmark {
    /// Full width, with half of the blocks that can be dropped (all but each stage's first)
    /// dropped at random: the subnet of the PyTorch peer's stimulative benchmark.
    static func halfDepthSubnet(_ spec: ResNetSpec, using rng: inout SeededRandom) -> SubnetSelection {
        var selection = SubnetSelection.full(spec)
        var droppable = [Int]()
        var b = 0
        for n in spec.blocksPerStage { droppable += Array((b + 1)..<(b + n)); b += n }
        droppable.shuffle(using: &rng)
        for i in droppable.prefix(min(spec.blockCount / 2, droppable.count)) { selection.keep[i] = false }
        return selection
    }

    /// Times `o.mode` on `spec` (default: the named model's).
    public static func run(_ o: BenchmarkOptions, spec given: ResNetSpec? = nil,
                           progress: ((Int, Int) -> Void)? = nil) throws -> BenchmarkResult {
        guard o.batch >= 1, o.iterations >= 1, o.warmup >= 0 else {
            throw STPError(.argument, "bench needs --batch >= 1, --iterations >= 1 and --warmup >= 0")
        }
        guard o.mode != .search && o.mode != .latencyModel else {
            throw STPError(.argument, "the \(o.mode.rawValue) benchmark is run by MethodBenchmark")
        }
        let spec = try given ?? o.spec()
        let model = ResNet(spec: spec, seed: 1)
        let optimizer = SGD(parameters: model.parameters, options: SGDOptions())
        var rng = SeededRandom(seed: 2)
        let input = FloatBuffer(count: o.batch * spec.inputHeight * spec.inputWidth * spec.inputChannels)
        for i in 0..<input.count { input[i] = rng.nextGaussian() }
        let classes = spec.classes
        let labels = (0..<o.batch).map { _ in Int32(rng.next() % UInt64(classes)) }
        let dz = FloatBuffer(count: o.batch * classes)
        let teacher = FloatBuffer(count: o.batch * classes)

        func once() {
            switch o.mode {
            case .train, .stim:
                model.zeroGradients()
                _ = crossEntropyPass(model: model, pixels: input.pointer, labels: labels, labelSmoothing: 0, dlogits: dz)
                if o.mode == .stim {
                    teacher.pointer.update(from: model.lastLogits, count: o.batch * classes)
                    let s = model.forward(input.pointer, batch: o.batch, mode: .train(updateRunningStats: false),
                                          subnet: halfDepthSubnet(spec, using: &rng))
                    _ = klDivergenceForwardBackward(teacher: teacher.pointer, student: s, batch: o.batch, classes: classes,
                                                    dstudent: dz.pointer)
                    model.backward(dz.pointer)
                }
                optimizer.step(model.parameters, learningRate: 0.01)
            case .infer, .latency:
                model.forward(input.pointer, batch: o.batch, mode: .eval)
            case .search, .latencyModel:
                preconditionFailure("rejected above")
            }
        }
        for i in 0..<o.warmup { once(); progress?(i + 1, o.warmup + o.iterations) }
        var seconds = [Double]()
        for i in 0..<o.iterations {
            let t0 = monotonicSeconds()
            once()
            seconds.append(monotonicSeconds() - t0)
            progress?(o.warmup + i + 1, o.warmup + o.iterations)
        }
        let ms = BenchmarkResult.Spread(seconds: seconds, scale: 1000)
        let rates = BenchmarkResult.Spread(min: Double(o.batch) / seconds.max()!, median: Double(o.batch) / (ms.median / 1000),
                                           max: Double(o.batch) / seconds.min()!)
        return BenchmarkResult(model: spec.name, mode: o.mode.rawValue, batch: o.batch, iterations: o.iterations,
                               imagesPerSecond: rates, millisecondsPerBatch: ms,
                               peakRSSMiB: Double(ProcessMemory.peakResidentBytes()) / 1_048_576,
                               blasCore: BLASRuntime.currentCorename(), blasThreads: ComputeThreads.workers,
                               macsPerImage: ModelSummary(spec: spec).totalMACs, inputSize: spec.inputHeight,
                               shortcut: spec.shortcut.rawValue, architecture: nil)
    }
}
