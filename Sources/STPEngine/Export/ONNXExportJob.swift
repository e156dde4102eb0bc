import Foundation

// `stp export --onnx OUT.onnx RUN_DIR [--check]`: rebuilds the network a run saved (as stp eval
// does, but without loading the data set: channels and classes come from the checkpoint's
// tensors, the image size from the kind of data set the run used) and writes it as ONNX.
//
// With `check`, it also writes a deterministic random input batch and the logits stp computes
// for it next to the model,
//
//   OUT.check-input.npy    float32 NCHW [batch, C, H, W], standard normal (already "normalised")
//   OUT.check-logits.npy   float32 [batch, classes], stp's eval-mode forward pass
//
// and runs `python3 scripts/check_onnx.py OUT.onnx OUT.check-input.npy OUT.check-logits.npy`,
// which compares onnxruntime's logits with stp's (see the script).

public struct ONNXExportJobOptions: @unchecked Sendable {
    public var runPath: String
    /// Supplies the network and what it was trained on instead of loading `runPath` as a
    /// training run (an extracted, pruned network: see STPMethod's ExtractedModel).
    public var loadNetwork: (() throws -> ExportSource)?
    public var outputPath: String
    public var foldBatchNorm = true
    /// Input height and width; nil means the size of the run's data set.
    public var inputSize: (height: Int, width: Int)?
    /// Write a check batch and run the check script.
    public var check = false
    public var checkBatch = 4
    public var checkSeed: UInt64 = 0
    /// The check script; nil searches scripts/check_onnx.py in the working directory and above the executable.
    public var checkScript: String?
    /// The Python interpreter; nil means python3 on PATH.
    public var python: String?

    public init(runPath: String, outputPath: String) {
        self.runPath = runPath
        self.outputPath = outputPath
    }
}

public struct ONNXCheckResult: Sendable {
    public enum Status: String, Sendable {
        /// onnxruntime ran and agreed with stp.
        case passed
        /// The script ran but could not check (onnxruntime missing and not required).
        case skipped
        /// The script was not run (no python3); the files are written for a later check.
        case notRun
    }
    public var status: Status
    public var inputPath: String
    public var logitsPath: String
    /// What the script printed, or why it did not run.
    public var message: String
}

public struct ONNXExportReport: Sendable {
    public var outputPath: String
    public var spec: ResNetSpec
    public var epochs: Int
    public var nodeCount: Int
    public var initializerCount: Int
    /// Float and int64 elements in the initializers.
    public var initializerElements: Int
    public var bytes: Int
    public var foldedBatchNorm: Bool
    public var check: ONNXCheckResult?
}

/// What an export writes: the network, and the data set, epochs and input normalisation it
/// records in the model's metadata.
public struct ExportSource {
    public var network: ResNet
    public var data: String
    public var epochs: Int
    public var normalization: Normalization?

    public init(network: ResNet, data: String, epochs: Int, normalization: Normalization?) {
        self.network = network
        self.data = data
        self.epochs = epochs
        self.normalization = normalization
    }
}

public enum ONNXExportJob {
    public static let checkScriptRelativePath = "scripts/check_onnx.py"
    /// Set in the environment, the check script fails instead of skipping without onnxruntime.
    public static let requireEnvironmentVariable = "STP_REQUIRE_ONNX"

    public static func run(_ options: ONNXExportJobOptions) throws -> ONNXExportReport {
        let source: ExportSource
        if let load = options.loadNetwork {
            source = try load()
        } else {
            let saved = try SavedRun.load(options.runPath, inputSize: options.inputSize)
            source = ExportSource(network: saved.model, data: saved.config.data, epochs: saved.record.epochsCompleted,
                                  normalization: try Trainer.normalization(of: saved.record, path: options.runPath))
        }
        let net = source.network, spec = net.spec

        var exportOptions = ONNXExportOptions(foldBatchNorm: options.foldBatchNorm)
        var metadata = ["stp.data": source.data, "stp.epochs": String(source.epochs)]
        var doc = ONNXExport.defaultDescription(spec, folded: options.foldBatchNorm)
        if let norm = source.normalization {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            metadata["stp.normalization"] = String(decoding: try encoder.encode(norm), as: UTF8.self)
            doc += " Normalisation: channel c of a pixel p in 0...255 becomes (p / 255 - mean[c]) / std[c] with mean "
                + "\(norm.mean) and std \(norm.std)."
        }
        exportOptions.metadata = metadata
        exportOptions.docString = doc
        let model = ONNXExport.model(of: net, options: exportOptions)
        let bytes = model.serialized()
        try AtomicFile.createDirectory(AtomicFile.parentDirectory(of: options.outputPath))
        try AtomicFile.write(bytes, to: options.outputPath)

        var report = ONNXExportReport(
            outputPath: options.outputPath, spec: spec, epochs: source.epochs,
            nodeCount: model.graph.nodes.count, initializerCount: model.graph.initializers.count,
            initializerElements: model.graph.initializers.reduce(0) { $0 + $1.elementCount },
            bytes: bytes.count, foldedBatchNorm: options.foldBatchNorm, check: nil)
        if options.check {
            let files = try writeCheckFiles(net, modelPath: options.outputPath, batch: options.checkBatch, seed: options.checkSeed)
            report.check = try runCheck(modelPath: options.outputPath, inputPath: files.input, logitsPath: files.logits,
                                        script: options.checkScript, python: options.python)
        }
        return report
    }

    /// The spec of a saved run's network. Channels and classes are read from the checkpoint
    /// (conv1.weight, fc.weight), per-block inner widths too when they differ from the named
    /// model's (an extracted, pruned network), and the image size is that of the run's kind of
    /// data set unless `inputSize` is given.
    public static func modelSpec(config: TrainingConfig, checkpoint: SafeTensorsFile,
                                 inputSize: (height: Int, width: Int)? = nil) throws -> ResNetSpec {
        let stem = try checkpoint.entry("conv1.weight")
        let fc = try checkpoint.entry("fc.weight")
        guard stem.shape.count == 4, fc.shape.count == 2 else {
            throw STPError.file(.checkpoint, checkpoint.path, "conv1.weight has shape \(stem.shape) and fc.weight \(fc.shape); expected 4 and 2 dimensions")
        }
        let size = try inputSize ?? imageSize(ofDataSpec: config.data)
        var spec = try ResNetSpec.named(config.model, inputChannels: stem.shape[1], classes: fc.shape[0],
                                        inputSize: (size.height, size.width), shortcut: config.shortcut)
        spec.name = config.model
        var widths = spec.innerWidths
        for i in 0..<widths.count {
            if let e = checkpoint.tensors["blocks.\(i).conv1.weight"], e.shape.count == 4 { widths[i] = e.shape[0] }
        }
        if widths != spec.innerWidths {
            spec.blockInnerWidths = widths
            try spec.validate()
        }
        return spec
    }

    /// Image height and width of a --data spec's data set (MNIST: the standard 28x28 files).
    public static func imageSize(ofDataSpec data: String) throws -> (height: Int, width: Int) {
        guard !data.isEmpty else {
            throw STPError(.argument, "the run records no data set (an imported model without --data); give --input-size")
        }
        switch try DataSource(parsing: data) {
        case .builtin: return (BuiltinShapes.side, BuiltinShapes.side)
        case .cifar10, .cifar100: return (32, 32)
        case .mnist, .fashionMNIST: return (28, 28)
        case let .folder(_, options): return (options.inputSize, options.inputSize)
        }
    }

    /// Where the check batch and stp's logits for `modelPath` go ("m.onnx" -> "m.check-input.npy").
    public static func checkFilePaths(modelPath: String) -> (input: String, logits: String) {
        let stem = modelPath.hasSuffix(".onnx") ? String(modelPath.dropLast(5)) : modelPath
        return (stem + ".check-input.npy", stem + ".check-logits.npy")
    }

    /// A deterministic standard-normal NCHW batch for `spec`.
    public static func checkInput(_ spec: ResNetSpec, batch: Int, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<batch * spec.inputChannels * spec.inputHeight * spec.inputWidth).map { _ in rng.nextGaussian() }
    }

    /// Eval-mode logits [batch, classes] of `net` for an NCHW input.
    public static func evalLogits(_ net: ResNet, nchw: [Float], batch: Int) -> [Float] {
        let s = net.spec
        let c = s.inputChannels, h = s.inputHeight, w = s.inputWidth
        precondition(nchw.count == batch * c * h * w, "input has \(nchw.count) values, expected \(batch)x\(c)x\(h)x\(w)")
        var nhwc = [Float](repeating: 0, count: nchw.count)
        for n in 0..<batch {
            for ch in 0..<c {
                for y in 0..<h {
                    for x in 0..<w {
                        nhwc[((n * h + y) * w + x) * c + ch] = nchw[((n * c + ch) * h + y) * w + x]
                    }
                }
            }
        }
        return nhwc.withUnsafeBufferPointer { p in
            let z = net.forward(p.baseAddress!, batch: batch, mode: .eval)
            return Array(UnsafeBufferPointer(start: z, count: batch * s.classes))
        }
    }

    /// Writes the check batch and stp's logits for it next to `modelPath`.
    @discardableResult
    public static func writeCheckFiles(_ net: ResNet, modelPath: String, batch: Int = 4,
                                       seed: UInt64 = 0) throws -> (input: String, logits: String) {
        guard batch >= 1 else { throw STPError(.argument, "the check batch needs at least one image") }
        let s = net.spec
        let paths = checkFilePaths(modelPath: modelPath)
        let input = checkInput(s, batch: batch, seed: seed)
        let logits = evalLogits(net, nchw: input, batch: batch)
        try NumpyFile.writeFloat32(input, shape: [batch, s.inputChannels, s.inputHeight, s.inputWidth], to: paths.input)
        try NumpyFile.writeFloat32(logits, shape: [batch, s.classes], to: paths.logits)
        return paths
    }

    /// Runs the check script on written files. Throws when the script reports a mismatch or fails.
    public static func runCheck(modelPath: String, inputPath: String, logitsPath: String,
                                script: String? = nil, python: String? = nil,
                                requireRuntime: Bool = false) throws -> ONNXCheckResult {
        var result = ONNXCheckResult(status: .notRun, inputPath: inputPath, logitsPath: logitsPath, message: "")
        guard let interpreter = python ?? findExecutable("python3") else {
            result.message = "python3 not found on PATH, so onnxruntime was not run; check later with "
                + "python3 \(checkScriptRelativePath) \(modelPath) \(inputPath) \(logitsPath)"
            return result
        }
        guard let scriptPath = script ?? findCheckScript() else {
            throw STPError(.argument, "cannot find \(checkScriptRelativePath) in the working directory or above the stp executable; "
                           + "pass its path with --check-script (the model and check files are written)")
        }
        guard FileManager.default.fileExists(atPath: scriptPath) else {
            throw STPError.file(.argument, scriptPath, "check script not found")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: interpreter)
        process.arguments = [scriptPath, modelPath, inputPath, logitsPath]
        var environment = ProcessInfo.processInfo.environment
        if requireRuntime { environment[requireEnvironmentVariable] = "1" }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do {
            try process.run()
        } catch {
            throw STPError.file(.io, interpreter, "cannot run the Python interpreter: \(error.localizedDescription)")
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        result.message = output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw STPError(.engine, "the ONNX check failed (\(scriptPath) exited with status \(process.terminationStatus)); "
                           + "the model and check files are kept:\n\(result.message)")
        }
        let skipped = result.message.split(separator: "\n").contains { $0.lowercased().hasPrefix("skipped") }
        result.status = skipped ? .skipped : .passed
        return result
    }

    /// `name` in a PATH directory, if executable.
    public static func findExecutable(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        for dir in (path ?? "").split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// scripts/check_onnx.py in the working directory, or in the executable's directory or up to
    /// five levels above it (a build in .build/release of a checkout).
    public static func findCheckScript() -> String? {
        var candidates = [FileManager.default.currentDirectoryPath + "/" + checkScriptRelativePath]
        if var dir = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() {
            for _ in 0..<6 {
                candidates.append(dir.appendingPathComponent(checkScriptRelativePath).path)
                dir = dir.deletingLastPathComponent()
            }
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}

