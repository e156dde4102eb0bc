import Foundation
import STPEngine

// The benchmarks that need the STP method's notions: a pruned architecture (benchmarked as the
// physically smaller network it extracts to, odd widths and all) and the KD-guided search's rate
// of candidate evaluations, BN recalibration included. Like the engine's, they run on random
// inputs and report what they measured; nothing here is asserted by a test.

public struct SearchBenchmarkResult: Codable, Sendable {
    public var model: String
    public var mode = "search"
    public var evaluations: Int
    public var evaluationsPerSecond: BenchmarkResult.Spread
    public var secondsPerEvaluation: BenchmarkResult.Spread
    public var fitnessImages: Int
    public var recalibrationImages: Int
    public var batch: Int
    /// Mean MACs of the evaluated candidates (random architectures of the space).
    public var meanCandidateMACs: Int
    public var peakRSSMiB: Double
    public var blasCore: String
    public var engineThreads: Int

    enum CodingKeys: String, CodingKey {
        case model, mode, evaluations, batch
        case evaluationsPerSecond = "evaluations_per_second"
        case secondsPerEvaluation = "seconds_per_evaluation"
        case fitnessImages = "fitness_images"
        case recalibrationImages = "recalibration_images"
        case meanCandidateMACs = "mean_candidate_macs"
        case peakRSSMiB = "peak_rss_mib"
        case blasCore = "blas_core"
        case engineThreads = "engine_threads"
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// The latency model measured on the default space of a model, and its check against whole
/// extracted networks at batch 1 and at the throughput batch.
public struct LatencyModelBenchmarkResult: Codable, Sendable {
    public var model: String
    public var mode = "latency-model"
    public var inputSize: Int
    public var engineThreads: Int
    /// Seconds to measure both tables and run the checks.
    public var measureSeconds: Double
    public var model1: LatencyModel

    enum CodingKeys: String, CodingKey {
        case model, mode
        case inputSize = "input_size"
        case engineThreads = "engine_threads"
        case measureSeconds = "measure_seconds"
        case model1 = "latency_model"
    }

    /// Markdown rows: architecture, batch, predicted, measured, error.
    public var markdown: String {
        var lines = ["| batch | architecture | predicted ms | measured ms | error |", "|---|---|---|---|---|"]
        for t in [model1.latency, model1.throughput] {
            for r in t.check?.rows ?? [] {
                lines.append(String(format: "| %d | `%@` | %.3f | %.3f | %+.1f%% |", t.batch, r.architecture,
                                    r.predictedMilliseconds, r.measuredMilliseconds, 100 * r.relativeError))
            }
        }
        return lines.joined(separator: "\n")
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

public enum MethodBenchmark {
    /// Measures the latency model of `o`'s model (default space) and checks it on `checks`
    /// architectures: the smallest, the full one, then random ones.
    public static func latencyModel(_ o: BenchmarkOptions, checks: Int) throws -> LatencyModelBenchmarkResult {
        guard checks >= 1 else { throw STPError(.argument, "bench --mode latency-model needs --iterations >= 1 (the networks checked)") }
        let spec = try o.spec()
        let space = try ArchitectureSpace(spec: spec)
        let t0 = monotonicSeconds()
        let model = try LatencyModel.measure(space: space, checkArchitectures: checks, seed: 5)
        return LatencyModelBenchmarkResult(model: spec.name, inputSize: spec.inputHeight, engineThreads: ComputeThreads.workers,
                                           measureSeconds: monotonicSeconds() - t0, model1: model)
    }

    /// `o.mode` on the named model, or on the network `architecture` (text form) extracts to.
    public static func run(_ o: BenchmarkOptions, architecture text: String?,
                           progress: ((Int, Int) -> Void)? = nil) throws -> BenchmarkResult {
        let spec = try o.spec()
        guard let text else { return try Benchmark.run(o, spec: spec, progress: progress) }
        let architecture = try Architecture(parsing: text)
        let extracted = try Extraction.extractedSpec(of: spec, architecture: architecture)
        var result = try Benchmark.run(o, spec: extracted, progress: progress)
        result.architecture = architecture.text
        return result
    }

    /// Times `o.warmup + o.iterations` candidate evaluations of random architectures of the
    /// default space: recalibrate BN on `recalibrationImages`, then KL(full || candidate) and
    /// held-out accuracy on `fitnessImages`, as KDGuidedSearch.evaluate does in a search.
    public static func search(_ o: BenchmarkOptions, fitnessImages: Int = 1024, recalibrationImages: Int = 1024,
                              progress: ((Int, Int) -> Void)? = nil) throws -> SearchBenchmarkResult {
        guard o.batch >= 2, o.iterations >= 1, o.warmup >= 0, fitnessImages >= 1, recalibrationImages >= 2 else {
            throw STPError(.argument, "bench --mode search needs --batch >= 2, --iterations >= 1, --warmup >= 0, --fitness-images >= 1, --recalibration-images >= 2")
        }
        let spec = try o.spec()
        let space = try ArchitectureSpace(spec: spec)
        let images = randomImages(fitnessImages + recalibrationImages, spec: spec, seed: 7)
        let fitness = images.subset(Array(0..<fitnessImages), name: "fitness")
        let calibration = images.subset(Array(fitnessImages..<images.count), name: "calibration")
        let normalization = Normalization.compute(from: calibration)
        let calibrator = BatchNormCalibrator(dataset: calibration, images: recalibrationImages, batchSize: o.batch,
                                             normalization: normalization)
        let search = try KDGuidedSearch(network: ResNet(spec: spec, seed: 1), space: space, options: SearchOptions(),
                                        fitnessImages: fitness, validation: fitness, calibrator: calibrator,
                                        normalization: normalization, batchSize: o.batch)
        var rng = SeededRandom(seed: 11)
        var seen = Set<Architecture>()
        var seconds = [Double]()
        var macs = 0
        let total = o.warmup + o.iterations
        while seen.count < total {
            let a = space.randomArchitecture(using: &rng)
            guard seen.insert(a).inserted else { continue }
            let t0 = monotonicSeconds()
            let candidate = try search.evaluate(a)
            if seen.count > o.warmup {
                seconds.append(monotonicSeconds() - t0)
                macs += candidate.macs
            }
            progress?(seen.count, total)
        }
        let perEvaluation = BenchmarkResult.Spread(seconds: seconds)
        return SearchBenchmarkResult(
            model: spec.name, evaluations: seconds.count,
            evaluationsPerSecond: .init(min: 1 / perEvaluation.max, median: 1 / perEvaluation.median, max: 1 / perEvaluation.min),
            secondsPerEvaluation: perEvaluation, fitnessImages: fitnessImages, recalibrationImages: recalibrationImages,
            batch: o.batch, meanCandidateMACs: macs / max(seconds.count, 1),
            peakRSSMiB: Double(ProcessMemory.peakResidentBytes()) / 1_048_576,
            blasCore: BLASRuntime.currentCorename(), engineThreads: ComputeThreads.workers)
    }

    private static func randomImages(_ count: Int, spec: ResNetSpec, seed: UInt64) -> ImageDataset {
        var rng = SeededRandom(seed: seed)
        let size = spec.inputHeight * spec.inputWidth * spec.inputChannels
        let pixels = (0..<(count * size)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let labels = (0..<count).map { Int32($0 % spec.classes) }
        return ImageDataset(name: "random", height: spec.inputHeight, width: spec.inputWidth, channels: spec.inputChannels,
                            classNames: (0..<spec.classes).map { "class\($0)" }, pixels: pixels, labels: labels)
    }
}
