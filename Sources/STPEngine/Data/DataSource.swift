// The `--data` spec: which data set to train on.
//
//   builtin                          the procedural shapes (default sizes and seed 0)
//   builtin:seed=N,train=N,test=N    any subset of the options, in any order
//   cifar10[:PATH]  cifar100[:PATH]  mnist[:PATH]  fashion-mnist[:PATH]
//   folder:PATH                      your own images: PATH/train/CLASS/*.jpg|jpeg|png, and
//   folder[size=N,val=F,seed=N,skip-bad]:PATH   PATH/val/CLASS/... if there is one (else a
//                                    stratified val=F of train is held out); see ImageFolderOptions
//
// Without a PATH the file-based sets are read from the `stp data get` cache directory. Only the
// first colon separates the kind from PATH, so a PATH may hold colons and commas.

public enum DataSource: Sendable, Equatable, CustomStringConvertible {
    case builtin(seed: UInt64, train: Int, test: Int)
    case cifar10(path: String)
    case cifar100(path: String)
    case mnist(path: String)
    case fashionMNIST(path: String)
    case folder(path: String, options: ImageFolderOptions)

    public static let validKinds = ["builtin", "cifar10", "cifar100", "mnist", "fashion-mnist", "folder"]
    public static let `default` = DataSource.builtin(seed: 0, train: 10_000, test: 2_000)

    public init(dataset: DownloadableDataset, path: String) {
        switch dataset {
        case .cifar10: self = .cifar10(path: path)
        case .cifar100: self = .cifar100(path: path)
        case .mnist: self = .mnist(path: path)
        case .fashionMNIST: self = .fashionMNIST(path: path)
        }
    }

    /// Parses a spec; `environment` supplies STP_CACHE/HOME for path-less file data sets.
    public init(parsing spec: String,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let trimmed = spec.trimmingCharacters(in: .whitespaces)
        let kind: String
        let argument: String?
        if let colon = trimmed.firstIndex(of: ":") {
            kind = String(trimmed[..<colon]).lowercased()
            argument = String(trimmed[trimmed.index(after: colon)...])
        } else {
            kind = trimmed.lowercased()
            argument = nil
        }
        switch kind {
        case "builtin":
            var seed: UInt64 = 0, train = 10_000, test = 2_000
            for option in (argument ?? "").split(separator: ",", omittingEmptySubsequences: true) {
                let parts = option.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2 else {
                    throw STPError(.argument, "--data \(spec): option '\(option)' is not KEY=VALUE; expected seed=N, train=N or test=N")
                }
                switch parts[0] {
                case "seed":
                    guard let v = UInt64(parts[1]) else {
                        throw STPError(.argument, "--data \(spec): seed '\(parts[1])' is not a non-negative integer")
                    }
                    seed = v
                case "train", "test":
                    guard let v = Int(parts[1].replacingOccurrences(of: "_", with: "")), v > 0, v <= 10_000_000 else {
                        throw STPError(.argument, "--data \(spec): \(parts[0]) '\(parts[1])' is not an image count between 1 and 10000000")
                    }
                    if parts[0] == "train" { train = v } else { test = v }
                default:
                    throw STPError(.argument, "--data \(spec): unknown builtin option '\(parts[0])'; expected seed, train or test")
                }
            }
            self = .builtin(seed: seed, train: train, test: test)
        case _ where kind == "folder" || kind.hasPrefix("folder["):
            var options = ImageFolderOptions()
            if kind != "folder" {
                guard kind.hasSuffix("]") else {
                    throw STPError(.argument, "--data \(spec): the folder options need a closing ']' before the colon, as in folder[size=64,val=0.1]:PATH")
                }
                options = try ImageFolderOptions.parse(String(kind.dropFirst("folder[".count).dropLast()), spec: spec)
            }
            guard let path = argument, !path.isEmpty else {
                throw STPError(.argument, "--data \(spec): an image folder needs its PATH, as in folder:PATH (holding train/CLASS/*.jpg)")
            }
            self = .folder(path: DataFile.expandTilde(path), options: options)
        default:
            guard let dataset = DownloadableDataset(rawValue: kind) else {
                throw STPError(.argument, "--data \(spec): unknown data set '\(kind)'; expected one of "
                               + DataSource.validKinds.joined(separator: ", ") + " (e.g. cifar10:PATH or builtin:seed=1)")
            }
            var path = argument ?? ""
            if path.isEmpty { path = DataDownloader.cacheDirectory(for: dataset, environment: environment) }
            self.init(dataset: dataset, path: DataFile.expandTilde(path))
        }
    }

    /// Parses a spec read from a file (`field` of `source`, e.g. a run record's training
    /// configuration): an error names the file, the field and the spec.
    public init(recorded spec: String, field: String, source: String,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        do {
            try self.init(parsing: spec, environment: environment)
        } catch let e as STPError {
            let prefix = "--data \(spec): "
            let detail = e.message.hasPrefix(prefix) ? String(e.message.dropFirst(prefix.count)) : e.message
            throw STPError.file(.checkpoint, source, "\(field) is \"\(spec)\", not a data spec stp reads: \(detail)")
        }
    }

    public func load() throws -> DataSplits {
        switch self {
        case let .builtin(seed, train, test):
            return BuiltinShapes.generate(trainCount: train, testCount: test, seed: seed)
        case let .cifar10(path): return try CIFARLoader.load(.cifar10, directory: path)
        case let .cifar100(path): return try CIFARLoader.load(.cifar100, directory: path)
        case let .mnist(path): return try MNISTLoader.load(.mnist, directory: path)
        case let .fashionMNIST(path): return try MNISTLoader.load(.fashionMNIST, directory: path)
        case let .folder(path, options): return try ImageFolderLoader.load(path: path, options: options).splits
        }
    }

    /// Loads like `load()`, which reports to standard error; an image folder reports its
    /// decoding progress and its log lines ("read the cache", "skipped N unreadable images") to
    /// `console` instead, nil keeping it quiet.
    public func load(reporting console: Console?) throws -> DataSplits {
        guard case let .folder(path, options) = self else { return try load() }
        return try ImageFolderLoader.load(path: path, options: options, progress: console,
                                          log: { line in console?.writeLine(line) }).splits
    }

    /// This source with the image-folder options of the command line applied: `inputSize` and
    /// `valFraction` replace the spec's when given, `skipBadImages` turns skipping on (false
    /// keeps the spec's choice). Any of them on another kind of data set is an error.
    public func withFolderOptions(inputSize: Int?, valFraction: Double?, skipBadImages: Bool) throws -> DataSource {
        guard case .folder(let path, var options) = self else {
            if inputSize == nil && valFraction == nil && !skipBadImages { return self }
            let given = [inputSize.map { "--input-size \($0)" }, valFraction.map { "--val-fraction \($0)" },
                         skipBadImages ? "--skip-bad-images" : nil].compactMap { $0 }
            throw STPError(.argument, given.joined(separator: ", ") + ": only for an image folder (--data folder:PATH); the data set is \(description)")
        }
        if let inputSize { options.inputSize = inputSize }
        if let valFraction { options.valFraction = valFraction }
        if skipBadImages { options.skipBadImages = true }
        try options.validate()
        return .folder(path: path, options: options)
    }

    /// The spec that parses back to this source.
    public var spec: String {
        switch self {
        case let .builtin(seed, train, test): "builtin:seed=\(seed),train=\(train),test=\(test)"
        case let .cifar10(path): "cifar10:\(path)"
        case let .cifar100(path): "cifar100:\(path)"
        case let .mnist(path): "mnist:\(path)"
        case let .fashionMNIST(path): "fashion-mnist:\(path)"
        case let .folder(path, options): "folder[\(options.specText)]:\(path)"
        }
    }

    /// For logs, e.g. "built-in shapes (seed 0, 10000 train / 2000 test)", "CIFAR-10 from /data"
    /// or "image folder /pets (32x32 input, val 0.1, seed 0)".
    public var description: String {
        switch self {
        case let .builtin(seed, train, test): "built-in shapes (seed \(seed), \(train) train / \(test) test)"
        case let .cifar10(path): "CIFAR-10 from \(path)"
        case let .cifar100(path): "CIFAR-100 from \(path)"
        case let .mnist(path): "MNIST from \(path)"
        case let .fashionMNIST(path): "Fashion-MNIST from \(path)"
        case let .folder(path, o):
            "image folder \(path) (\(o.inputSize)x\(o.inputSize) input, val \(o.valFraction), seed \(o.splitSeed)"
                + (o.skipBadImages ? ", skipping unreadable images)" : ")")
        }
    }
}

import Foundation
