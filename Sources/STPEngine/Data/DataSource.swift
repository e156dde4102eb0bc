// The `--data` spec: which data set to train on.
//
//   builtin                          the procedural shapes (default sizes and seed 0)
//   builtin:seed=N,train=N,test=N    any subset of the options, in any order
//   cifar10[:PATH]  cifar100[:PATH]  mnist[:PATH]  fashion-mnist[:PATH]
//
// Without a PATH the file-based sets are read from the `stp data get` cache directory.

public enum DataSource: Sendable, Equatable, CustomStringConvertible {
    case builtin(seed: UInt64, train: Int, test: Int)
    case cifar10(path: String)
    case cifar100(path: String)
    case mnist(path: String)
    case fashionMNIST(path: String)

    public static let validKinds = ["builtin", "cifar10", "cifar100", "mnist", "fashion-mnist"]
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

    public func load() throws -> DataSplits {
        switch self {
        case let .builtin(seed, train, test):
            return BuiltinShapes.generate(trainCount: train, testCount: test, seed: seed)
        case let .cifar10(path): return try CIFARLoader.load(.cifar10, directory: path)
        case let .cifar100(path): return try CIFARLoader.load(.cifar100, directory: path)
        case let .mnist(path): return try MNISTLoader.load(.mnist, directory: path)
        case let .fashionMNIST(path): return try MNISTLoader.load(.fashionMNIST, directory: path)
        }
    }

    /// The spec that parses back to this source.
    public var spec: String {
        switch self {
        case let .builtin(seed, train, test): "builtin:seed=\(seed),train=\(train),test=\(test)"
        case let .cifar10(path): "cifar10:\(path)"
        case let .cifar100(path): "cifar100:\(path)"
        case let .mnist(path): "mnist:\(path)"
        case let .fashionMNIST(path): "fashion-mnist:\(path)"
        }
    }

    /// For logs, e.g. "built-in shapes (seed 0, 10000 train / 2000 test)" or "CIFAR-10 from /data".
    public var description: String {
        switch self {
        case let .builtin(seed, train, test): "built-in shapes (seed \(seed), \(train) train / \(test) test)"
        case let .cifar10(path): "CIFAR-10 from \(path)"
        case let .cifar100(path): "CIFAR-100 from \(path)"
        case let .mnist(path): "MNIST from \(path)"
        case let .fashionMNIST(path): "Fashion-MNIST from \(path)"
        }
    }
}

import Foundation
