// A run directory holds one training run:
//
//   checkpoint.safetensors   weights, BN statistics and optimiser state after the last saved epoch
//   run.json                 the RunRecord: configuration, RNG state, progress, metrics history
//   metrics.jsonl            one JSON object per line, appended as training goes (MetricsLog)
//   log.txt                  the human-readable log
//
// The checkpoint's `__metadata__` repeats the model name, epochs and steps from run.json, so that
// a checkpoint and a record from different runs are caught before resuming rather than producing
// silently wrong training. It also carries the whole record (`run_record`): a save writes the
// checkpoint and then run.json, so a process killed between the two leaves a checkpoint one save
// ahead of run.json, and `load()` then takes the record from the checkpoint (the last complete
// save) instead of refusing the run (scripts/kill_test.sh kills `stp train` at such points).

import Foundation

public struct RunDirectory: Sendable, Equatable {
    public enum File: String, CaseIterable, Sendable {
        case checkpoint = "checkpoint.safetensors"
        case record = "run.json"
        case metrics = "metrics.jsonl"
        case log = "log.txt"
    }

    /// Keys the checkpoint metadata shares with run.json.
    public static let modelKey = "model"
    public static let epochsKey = "epochs_completed"
    public static let stepsKey = "steps_completed"
    public static let formatKey = "stp_format"
    /// The checkpoint's copy of its run.json (the record it was saved with).
    public static let recordKey = "run_record"

    public let path: String

    public init(path: String) {
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    public func path(of file: File) -> String { path + "/" + file.rawValue }
    public var checkpointPath: String { path(of: .checkpoint) }
    public var recordPath: String { path(of: .record) }
    public var metricsPath: String { path(of: .metrics) }
    public var logPath: String { path(of: .log) }

    public func exists(_ file: File) -> Bool { FileManager.default.fileExists(atPath: path(of: file)) }

    /// The run files present, in layout order.
    public var existingFiles: [File] { File.allCases.filter(exists) }

    /// True when the directory already holds (part of) a run.
    public var holdsRun: Bool { exists(.record) || exists(.checkpoint) }

    // MARK: Creating and opening

    /// Where `create(overwrite: true)` moves the old run's files until the new run's first save
    /// replaces them: refused options, a crash or Ctrl-C before that save lose nothing.
    public static let previousRunFolder = ".previous-run"
    public var previousRunPath: String { path + "/" + RunDirectory.previousRunFolder }

    /// Makes a directory for a new run. Refuses a directory that already holds a run unless
    /// `overwrite` is set, in which case that run's files (and only those) are moved into
    /// `.previous-run/`, which the new run's first save removes (`settlePreviousRun`).
    @discardableResult
    public static func create(at path: String, overwrite: Bool = false) throws -> RunDirectory {
        let run = RunDirectory(path: path)
        try AtomicFile.createDirectory(run.path)
        try run.settlePreviousRun()
        let present = run.existingFiles
        if !present.isEmpty {
            guard overwrite else {
                let files = present.map(\.rawValue).joined(separator: ", ")
                // Only a log: the run was stopped (killed, or a second Ctrl-C) before its first
                // save, so offering to resume it would send the user in a circle.
                throw STPError.file(.checkpoint, run.path, run.holdsRun
                    ? "already holds a run (\(files)); resume it, choose another directory, or ask to overwrite it"
                    : "holds only the log of a run stopped before its first save (\(files)), so there is nothing to resume; ask to overwrite it, or choose another directory")
            }
            try AtomicFile.createDirectory(run.previousRunPath)
            for file in present {
                guard rename(run.path(of: file), run.previousRunPath + "/" + file.rawValue) == 0 else {
                    throw STPError.file(.io, run.path(of: file), "cannot move the old run's file aside into \(run.previousRunPath): \(AtomicFile.errnoText())")
                }
            }
            try AtomicFile.syncDirectory(run.path, for: run.path)
        }
        return run
    }

    /// Ends an overwrite: once this directory holds a saved run again, the old run's files in
    /// `.previous-run/` go; while it does not (the new run failed or was killed before its first
    /// save), they are moved back, replacing whatever log the failed attempt left.
    public func settlePreviousRun() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: previousRunPath, isDirectory: &isDirectory), isDirectory.boolValue else { return }
        if !holdsRun {
            for file in File.allCases where FileManager.default.fileExists(atPath: previousRunPath + "/" + file.rawValue) {
                guard rename(previousRunPath + "/" + file.rawValue, path(of: file)) == 0 else {
                    throw STPError.file(.io, previousRunPath + "/" + file.rawValue, "cannot move the previous run's file back into \(path): \(AtomicFile.errnoText())")
                }
            }
        }
        do {
            try FileManager.default.removeItem(atPath: previousRunPath)
        } catch {
            throw STPError.file(.io, previousRunPath, "cannot remove the replaced run's files: \(AtomicFile.errnoText())")
        }
        try AtomicFile.syncDirectory(path, for: path)
    }

    /// Removes the log a run stopped before its first save left (there is no saved run here), so
    /// that the run can start again in this directory. Refuses a directory that holds a run.
    public func discardUnsavedLog() throws {
        guard !holdsRun else {
            throw STPError.file(.checkpoint, path, "holds a saved run; its log is not discarded")
        }
        for file in existingFiles {
            guard unlink(path(of: file)) == 0 else {
                throw STPError.file(.io, path(of: file), "cannot remove the log of the unsaved run: \(AtomicFile.errnoText())")
            }
        }
        try AtomicFile.syncDirectory(path, for: path)
    }

    /// Opens an existing run for resuming: the directory must hold both a checkpoint and a record
    /// (or a checkpoint that carries its record, which is then written to run.json).
    public static func open(at path: String) throws -> RunDirectory {
        let run = RunDirectory(path: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: run.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw STPError.file(.checkpoint, run.path, "expected a run directory, but there is no such directory")
        }
        // An overwrite that never reached its first save: the old run is put back first.
        try run.settlePreviousRun()
        let missing = [File.checkpoint, .record].filter { !run.exists($0) }
        // A checkpoint without run.json: the run's first save was interrupted between its two
        // files. The checkpoint carries its record; writing it completes that save.
        if missing == [.record], let checkpoint = try? run.readCheckpoint(),
           let text = checkpoint.metadata[recordKey],
           let record = try? RunRecord.decode(Data(text.utf8), path: checkpoint.path + " (" + recordKey + ")"),
           (try? verify(checkpoint: checkpoint, record: record, recordPath: run.recordPath)) != nil,
           (try? record.write(to: run.recordPath)) != nil {
            return run
        }
        guard missing.isEmpty else {
            throw STPError.file(.checkpoint, run.path,
                                "expected a run directory holding \(File.checkpoint.rawValue) and \(File.record.rawValue), but \(missing.map(\.rawValue).joined(separator: " and ")) \(missing.count == 1 ? "is" : "are") missing")
        }
        return run
    }

    // MARK: Saving and loading

    /// The metadata a checkpoint of `record` carries (plus `extra`, which may not override it).
    public static func checkpointMetadata(for record: RunRecord, extra: [String: String] = [:]) -> [String: String] {
        extra.merging([
            modelKey: record.model.name,
            epochsKey: String(record.epochsCompleted),
            stepsKey: String(record.stepsCompleted),
            formatKey: String(record.formatVersion),
        ]) { _, ours in ours }
    }

    /// Saves the checkpoint (with a copy of the record in its metadata) and then the record, each
    /// atomically. If the process dies between the two, `load()` takes the record from the
    /// checkpoint, which is then the last complete save.
    public func save(tensors: [SafeTensor], record: RunRecord, extraMetadata: [String: String] = [:]) throws {
        var metadata = RunDirectory.checkpointMetadata(for: record, extra: extraMetadata)
        do {
            metadata[RunDirectory.recordKey] = String(decoding: try record.encoded(), as: UTF8.self)
        } catch {
            throw STPError.file(.checkpoint, recordPath, "cannot encode the run record: \(error)")
        }
        try SafeTensorsFile.write(tensors: tensors, metadata: metadata, to: checkpointPath)
        try record.write(to: recordPath)
        try settlePreviousRun()
    }

    public func readRecord() throws -> RunRecord { try RunRecord.read(path: recordPath) }
    public func readCheckpoint() throws -> SafeTensorsFile { try SafeTensorsFile.read(path: checkpointPath) }

    /// Reads both files and checks that they belong together. When run.json lags behind the
    /// checkpoint (a save interrupted between the two files), the record is the checkpoint's copy,
    /// and the interrupted save is completed by writing it to run.json (atomically; when the
    /// directory is read-only, run.json stays behind and the next load does the same again).
    public func load() throws -> (record: RunRecord, checkpoint: SafeTensorsFile) {
        let record = try readRecord()
        let checkpoint = try readCheckpoint()
        do {
            try RunDirectory.verify(checkpoint: checkpoint, record: record, recordPath: recordPath)
        } catch {
            guard let saved = RunDirectory.recordAhead(of: record, in: checkpoint) else { throw error }
            try? saved.write(to: recordPath)
            return (saved, checkpoint)
        }
        return (record, checkpoint)
    }

    /// The record saved in `checkpoint` when it continues `record` (same model, data and seed,
    /// more steps or epochs) and matches the checkpoint; nil otherwise.
    static func recordAhead(of record: RunRecord, in checkpoint: SafeTensorsFile) -> RunRecord? {
        guard let text = checkpoint.metadata[recordKey],
              let saved = try? RunRecord.decode(Data(text.utf8), path: checkpoint.path + " (" + recordKey + ")"),
              saved.model == record.model, saved.data == record.data, saved.seed == record.seed,
              (saved.stepsCompleted, saved.epochsCompleted) > (record.stepsCompleted, record.epochsCompleted),
              (try? verify(checkpoint: checkpoint, record: saved, recordPath: checkpoint.path)) != nil
        else { return nil }
        return saved
    }

    /// Throws unless the checkpoint's metadata names the record's model (and, when present,
    /// the same epoch and step counts).
    public static func verify(checkpoint: SafeTensorsFile, record: RunRecord, recordPath: String) throws {
        guard let model = checkpoint.metadata[modelKey] else {
            throw STPError.file(.checkpoint, checkpoint.path,
                                "expected \"\(modelKey)\" in the __metadata__ (this checkpoint was not saved by stp); \(recordPath) says the model is \"\(record.model.name)\"")
        }
        guard model == record.model.name else {
            throw STPError.file(.checkpoint, checkpoint.path,
                                "checkpoint is of model \"\(model)\" but \(recordPath) records model \"\(record.model.name)\"; the two files come from different runs")
        }
        for (key, expected) in [(epochsKey, record.epochsCompleted), (stepsKey, record.stepsCompleted)] {
            guard let text = checkpoint.metadata[key] else { continue }
            guard Int(text) == expected else {
                throw STPError.file(.checkpoint, checkpoint.path,
                                    "checkpoint has \(key) = \(text) but \(recordPath) records \(expected); the save was interrupted between the two files or they come from different runs")
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
