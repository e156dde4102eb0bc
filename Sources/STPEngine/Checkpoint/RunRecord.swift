// The run record (`run.json`): everything besides the weights that `--resume` needs to continue
// a run exactly where it stopped, plus the metrics history that reports are drawn from. It is
// plain, pretty-printed JSON with sorted keys so that it diffs well and a person can read it.

import Foundation

/// One epoch's results.
public struct EpochMetrics: Codable, Equatable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainTop1: Double
    public var testLoss: Double
    public var testTop1: Double
    public var testTop5: Double
    public var learningRate: Double
    public var imagesPerSecond: Double
    public var seconds: Double

    public init(epoch: Int, trainLoss: Double, trainTop1: Double, testLoss: Double, testTop1: Double,
                testTop5: Double, learningRate: Double, imagesPerSecond: Double, seconds: Double) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainTop1 = trainTop1
        self.testLoss = testLoss
        self.testTop1 = testTop1
        self.testTop5 = testTop5
        self.learningRate = learningRate
        self.imagesPerSecond = imagesPerSecond
        self.seconds = seconds
    }
}

public struct RunRecord: Codable, Equatable, Sendable {
    /// The format this build writes and reads. Bump it when a field changes meaning.
    public static let currentFormatVersion = 1

    public struct Model: Codable, Equatable, Sendable {
        /// e.g. "resnet20"; also stored as `model` in the checkpoint metadata.
        public var name: String
        /// Architecture options (width, depth, shortcut type...), as given on the command line.
        public var options: [String: String]

        public init(name: String, options: [String: String] = [:]) {
            self.name = name
            self.options = options
        }
    }

    public struct DataSpec: Codable, Equatable, Sendable {
        /// e.g. "cifar10".
        public var name: String
        public var path: String?
        public var trainCount: Int
        public var testCount: Int
        public var options: [String: String]

        public init(name: String, path: String? = nil, trainCount: Int, testCount: Int,
                    options: [String: String] = [:]) {
            self.name = name
            self.path = path
            self.trainCount = trainCount
            self.testCount = testCount
            self.options = options
        }
    }

    public var formatVersion: Int
    public var model: Model
    public var data: DataSpec
    public var seed: UInt64
    /// Number of whole epochs finished (the next epoch to run is this one, counting from 0).
    public var epochsCompleted: Int
    /// Optimiser steps finished over the whole run.
    public var stepsCompleted: Int
    public var totalEpochs: Int
    /// The generator state after the last completed step, so a resumed run draws the same stream.
    public var rng: SeededRandom
    /// The training configuration (learning-rate schedule, batch size, method...) as strings.
    public var configuration: [String: String]
    /// Training wall time so far, over all sessions of this run.
    public var wallSeconds: Double
    public var history: [EpochMetrics]

    public init(model: Model, data: DataSpec, seed: UInt64, epochsCompleted: Int = 0, stepsCompleted: Int = 0,
                totalEpochs: Int, rng: SeededRandom, configuration: [String: String] = [:],
                wallSeconds: Double = 0, history: [EpochMetrics] = []) {
        formatVersion = RunRecord.currentFormatVersion
        self.model = model
        self.data = data
        self.seed = seed
        self.epochsCompleted = epochsCompleted
        self.stepsCompleted = stepsCompleted
        self.totalEpochs = totalEpochs
        self.rng = rng
        self.configuration = configuration
        self.wallSeconds = wallSeconds
        self.history = history
    }

    // MARK: Checks before resuming

    /// Throws unless a run of `epochs` epochs of `stepsPerEpoch` steps can continue from this
    /// record's progress and generator state: the counts are within the run, agree with each
    /// other (a record is only saved between steps, so the whole epochs are the steps divided
    /// by the steps per epoch) and the state is one xoshiro256** can be in. The error names
    /// `path`, the field and the value.
    public func validateResumable(epochs: Int, stepsPerEpoch: Int, path: String) throws {
        func fail(_ what: String) -> STPError { STPError.file(.checkpoint, path, what) }
        func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
        guard totalEpochs == epochs else {
            throw fail("totalEpochs is \(totalEpochs) but \(Trainer.configKey).epochs is \(epochs); expected the same number")
        }
        guard (0...epochs).contains(epochsCompleted) else {
            throw fail("epochsCompleted is \(epochsCompleted); expected 0 to \(epochs) (the run's epochs)")
        }
        let totalSteps = epochs * stepsPerEpoch
        guard (0...totalSteps).contains(stepsCompleted) else {
            throw fail("stepsCompleted is \(stepsCompleted); expected 0 to \(totalSteps) (\(count(epochs, "epoch")) of \(count(stepsPerEpoch, "step")))")
        }
        guard stepsCompleted / stepsPerEpoch == epochsCompleted else {
            throw fail("epochsCompleted is \(epochsCompleted) but stepsCompleted \(stepsCompleted) at \(stepsPerEpoch) steps per epoch makes \(count(stepsCompleted / stepsPerEpoch, "whole epoch")); expected the two to agree")
        }
        guard rng.state.count == 4 else {
            throw fail("rng.state has \(rng.state.count) words \(rng.state); expected the 4 words of a xoshiro256** state")
        }
        guard rng.state.contains(where: { $0 != 0 }) else {
            throw fail("rng.state is all zeros, a state xoshiro256** never reaches; expected the generator state stp saved")
        }
    }

    // MARK: Encoding

    /// Losses can diverge to NaN or infinity; JSON has no such numbers, so they become strings.
    static let nonFinite = (positive: "inf", negative: "-inf", nan: "nan")

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: Self.nonFinite.positive, negativeInfinity: Self.nonFinite.negative, nan: Self.nonFinite.nan)
        var data = try encoder.encode(self)
        data.append(0x0a)
        return data
    }

    /// Writes the record atomically.
    public func write(to path: String) throws {
        let data: Data
        do {
            data = try encoded()
        } catch {
            throw STPError.file(.checkpoint, path, "cannot encode the run record: \(error)")
        }
        try AtomicFile.write(data, to: path)
    }

    // MARK: Decoding

    public static func read(path: String) throws -> RunRecord {
        let data = Data(try RegularFile.read(path, kind: .checkpoint, what: "a run record (run.json) written by stp"))
        return try decode(data, path: path)
    }

    private struct VersionProbe: Decodable { var formatVersion: Int }

    /// Parses a run record; `path` is used in error messages.
    public static func decode(_ data: Data, path: String) throws -> RunRecord {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: nonFinite.positive, negativeInfinity: nonFinite.negative, nan: nonFinite.nan)
        // Check the version first: a newer record may not decode at all, and "written by a newer
        // stp" is the message the user needs then.
        let version: Int
        do {
            version = try decoder.decode(VersionProbe.self, from: data).formatVersion
        } catch {
            try rejectInvalidJSON(data, path: path)
            throw STPError.file(.checkpoint, path, "not a run record: \(describe(error))")
        }
        guard version == currentFormatVersion else {
            let hint = version > currentFormatVersion
                ? "it was written by a newer stp; use that version to resume it"
                : "it was written by an older stp whose format this version does not read"
            throw STPError.file(.checkpoint, path,
                                "run record format version \(version), but this stp reads version \(currentFormatVersion); \(hint)")
        }
        do {
            return try decoder.decode(RunRecord.self, from: data)
        } catch {
            try rejectInvalidJSON(data, path: path)
            throw STPError.file(.checkpoint, path, "malformed run record: \(describe(error))")
        }
    }

    /// JSONDecoder on Linux says only "not valid JSON"; our own parser says where.
    static func rejectInvalidJSON(_ data: Data, path: String) throws {
        let bytes = [UInt8](data)
        var parser = HeaderJSONParser(bytes: bytes, range: 0..<bytes.count)
        do {
            _ = try parser.parseDocument()
        } catch let e as HeaderJSONParser.Failure {
            let line = bytes[..<min(e.offset, bytes.count)].reduce(1) { $1 == 0x0a ? $0 + 1 : $0 }
            throw STPError.file(.checkpoint, path, offset: e.offset, line: line, "not valid JSON: \(e.what)")
        }
    }

    /// "history[2].trainLoss" for a coding path.
    static func keyPath(_ path: [CodingKey]) -> String {
        var out = ""
        for key in path {
            if let i = key.intValue {
                out += "[\(i)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out.isEmpty ? "the top level" : out
    }

    /// A DecodingError rendered with its key path, in words.
    static func describe(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .keyNotFound(let key, let context):
            let at = context.codingPath.isEmpty ? "" : " in \(keyPath(context.codingPath))"
            return "missing key \"\(key.stringValue)\"\(at)"
        case .typeMismatch(let type, let context):
            return "at key \(keyPath(context.codingPath)): expected \(typeName(type)); \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            return "at key \(keyPath(context.codingPath)): expected \(typeName(type)), found null"
        case .dataCorrupted(let context) where context.codingPath.isEmpty && context.underlyingError == nil:
            // Valid JSON that still failed without a key path: Foundation reports a number that
            // does not fit its field (a negative or fractional seed, say) this way.
            return "\(context.debugDescription) (a number may not fit its field, e.g. a negative seed or a fractional count)"
        case .dataCorrupted(let context):
            var text = context.debugDescription
            if let underlying = context.underlyingError {
                let detail = (underlying as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
                    ?? "\(underlying)"
                text += " (\(detail))"
            }
            return context.codingPath.isEmpty ? text : "at key \(keyPath(context.codingPath)): \(text)"
        @unknown default:
            return "\(e)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Double.Type, is Float.Type: "a number"
        case is Int.Type, is UInt64.Type: "an integer"
        case is Bool.Type: "true or false"
        default: "\(type)"
        }
    }
}
