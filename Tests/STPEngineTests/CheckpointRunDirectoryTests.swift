import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

private let weights: [SafeTensor] = [
    .float32("conv1.weight", shape: [2, 1, 1, 1], [0.5, -0.5]),
    .int64("optimizer.step", shape: [], [782]),
]

@Test func runDirectoryLayoutCreateAndOverwrite() throws {
    let root = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let run = try RunDirectory.create(at: root + "/runs/r1/")
    #expect(run.path == root + "/runs/r1")
    #expect(run.checkpointPath == root + "/runs/r1/checkpoint.safetensors")
    #expect(run.recordPath.hasSuffix("/run.json") && run.metricsPath.hasSuffix("/metrics.jsonl") && run.logPath.hasSuffix("/log.txt"))
    #expect(run.existingFiles.isEmpty && !run.holdsRun)

    try run.save(tensors: weights, record: sampleRunRecord())
    try AtomicFile.write("started\n", to: run.logPath)
    try AtomicFile.write("keep me\n", to: run.path + "/notes.md")
    #expect(run.existingFiles == [.checkpoint, .record, .log] && run.holdsRun)

    // An existing run is not overwritten unless asked.
    let refused = errorText { try RunDirectory.create(at: run.path) }
    #expect(refused.contains(run.path) && refused.contains("already holds a run (checkpoint.safetensors, run.json, log.txt)"), "\(refused)")
    #expect(run.existingFiles == [.checkpoint, .record, .log])

    try RunDirectory.create(at: run.path, overwrite: true)
    #expect(run.existingFiles.isEmpty)
    // Only the run's own files go, and only aside until the new run's first save.
    #expect(directoryListing(run.path) == [RunDirectory.previousRunFolder, "notes.md"])
    #expect(directoryListing(run.previousRunPath) == ["checkpoint.safetensors", "log.txt", "run.json"])
    var second = sampleRunRecord()
    second.seed = 77
    try run.save(tensors: weights, record: second)
    #expect(directoryListing(run.path) == ["checkpoint.safetensors", "notes.md", "run.json"])
    #expect(try run.readRecord().seed == 77)
    for file in [RunDirectory.File.checkpoint, .record] { try FileManager.default.removeItem(atPath: run.path(of: file)) }

    // A directory with only a log (a run stopped before its first save) holds nothing to
    // resume: it is still not replaced unasked, and the refusal says so instead of offering a
    // resume.
    try AtomicFile.write("x", to: run.logPath)
    #expect(!run.holdsRun)
    let onlyLog = errorText { try RunDirectory.create(at: run.path) }
    #expect(onlyLog.contains("only the log of a run stopped before its first save (log.txt)") && !onlyLog.contains("resume it"), "\(onlyLog)")
    // Resuming such a run starts it again: its log is discarded (not put aside, where the next
    // create would move it back) and a plain create then succeeds; other files stay.
    try run.discardUnsavedLog()
    #expect(directoryListing(run.path) == ["notes.md"])
    try RunDirectory.create(at: run.path)
    // A saved run's files are never discarded this way.
    try run.save(tensors: weights, record: sampleRunRecord())
    #expect(errorText { try run.discardUnsavedLog() }.contains("holds a saved run"))
    #expect(run.holdsRun)
}

@Test func anOverwriteThatNeverSavesLeavesTheOldRunInPlace() throws {
    let root = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let run = try RunDirectory.create(at: root + "/r")
    try run.save(tensors: weights, record: sampleRunRecord())
    try AtomicFile.write("old log\n", to: run.logPath)
    let before = try [RunDirectory.File.checkpoint, .record, .log].map { try Data(contentsOf: URL(fileURLWithPath: run.path(of: $0))) }
    // The new run is killed after its log starts but before its first save: the next open, or
    // the next create, puts the old run back (replacing the failed attempt's log).
    try RunDirectory.create(at: run.path, overwrite: true)
    try AtomicFile.write("new attempt\n", to: run.logPath)
    _ = try RunDirectory.open(at: run.path)
    let after = try [RunDirectory.File.checkpoint, .record, .log].map { try Data(contentsOf: URL(fileURLWithPath: run.path(of: $0))) }
    #expect(after == before)
    #expect(!FileManager.default.fileExists(atPath: run.previousRunPath))
    try RunDirectory.create(at: run.path, overwrite: true)
    #expect(errorText { try RunDirectory.create(at: run.path) }.contains("already holds a run"), "a refused create restores it too")
    #expect(try Data(contentsOf: URL(fileURLWithPath: run.recordPath)) == before[1])
}

@Test func runDirectoryOpenSaveLoadAndMismatch() throws {
    let root = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let missingDir = errorText { _ = try RunDirectory.open(at: root + "/nope") }
    #expect(missingDir.contains(root + "/nope") && missingDir.contains("no such directory"), "\(missingDir)")

    let run = try RunDirectory.create(at: root + "/r")
    let empty = errorText { _ = try RunDirectory.open(at: run.path) }
    #expect(empty.contains("checkpoint.safetensors and run.json are missing"), "\(empty)")

    var record = sampleRunRecord()
    try run.save(tensors: weights, record: record, extraMetadata: ["method": "stimulative", "model": "ignored"])
    let opened = try RunDirectory.open(at: run.path)
    let (loadedRecord, checkpoint) = try opened.load()
    #expect(loadedRecord.model.name == "resnet20" && loadedRecord.stepsCompleted == 782)
    var metadata = checkpoint.metadata
    let savedRecord = metadata.removeValue(forKey: RunDirectory.recordKey)
    #expect(metadata == ["model": "resnet20", "epochs_completed": "2", "steps_completed": "782",
                         "stp_format": "1", "method": "stimulative"])
    // (compared as JSON: the sample history holds a NaN)
    #expect(try savedRecord.map { try RunRecord.decode(Data($0.utf8), path: "run_record").encoded() } == record.encoded(),
            "the checkpoint carries its run.json")
    #expect(try checkpoint.floats("conv1.weight", expectingShape: [2, 1, 1, 1]).values == [0.5, -0.5])

    // A record from another model.
    var other = record
    other.model.name = "resnet56"
    try other.write(to: run.recordPath)
    let model = errorText { _ = try run.load() }
    #expect(model.contains(run.checkpointPath) && model.contains("model \"resnet20\"")
        && model.contains(run.recordPath + " records model \"resnet56\""), "\(model)")

    // A save interrupted after the checkpoint: the record lags one epoch behind.
    record.epochsCompleted = 3
    try SafeTensorsFile.write(tensors: weights, metadata: RunDirectory.checkpointMetadata(for: record), to: run.checkpointPath)
    record.epochsCompleted = 2
    try record.write(to: run.recordPath)
    let epoch = errorText { _ = try run.load() }
    #expect(epoch.contains("epochs_completed = 3 but \(run.recordPath) records 2"), "\(epoch)")

    // A checkpoint that stp did not write.
    try SafeTensorsFile.write(tensors: weights, to: run.checkpointPath)
    let foreign = errorText { _ = try run.load() }
    #expect(foreign.contains(run.checkpointPath) && foreign.contains("expected \"model\" in the __metadata__"), "\(foreign)")
}

// A process killed between the two files of a save (scripts/kill_test.sh does it to stp train)
// leaves the new checkpoint beside the previous run.json: the run loads with the record saved in
// the checkpoint, and a record of another run is still refused.
@Test func saveInterruptedBeforeTheRecordLoadsTheCheckpointsRecord() throws {
    let root = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let run = try RunDirectory.create(at: root + "/r")
    var record = sampleRunRecord()
    try run.save(tensors: weights, record: record)
    let previous = try Data(contentsOf: URL(fileURLWithPath: run.recordPath))
    record.epochsCompleted += 1
    record.stepsCompleted += 391
    try run.save(tensors: weights, record: record)
    try AtomicFile.write(previous, to: run.recordPath)  // run.json as before the second save

    let (loaded, checkpoint) = try RunDirectory.open(at: run.path).load()
    #expect(try loaded.encoded() == record.encoded())  // as JSON: the sample history holds a NaN
    #expect(checkpoint.metadata[RunDirectory.epochsKey] == String(record.epochsCompleted))
    #expect(try run.readRecord().encoded() == record.encoded(), "loading completes the interrupted save")

    // run.json of another model, or ahead of the checkpoint: no silent fix.
    var other = try RunRecord.decode(previous, path: "previous")
    other.model.name = "resnet56"
    try other.write(to: run.recordPath)
    #expect(errorText { _ = try run.load() }.contains("records model \"resnet56\""))
    var ahead = record
    ahead.epochsCompleted += 1
    ahead.stepsCompleted += 391
    try ahead.write(to: run.recordPath)
    #expect(errorText { _ = try run.load() }.contains("the save was interrupted between the two files"))
}

// Killed between the two files of the first save: only the checkpoint is there. It carries its
// record, so the run opens (and run.json is written); a checkpoint without one still does not.
@Test func firstSaveInterruptedBeforeTheRecordOpensFromTheCheckpoint() throws {
    let root = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let run = try RunDirectory.create(at: root + "/r")
    let record = sampleRunRecord()
    try run.save(tensors: weights, record: record)
    try FileManager.default.removeItem(atPath: run.recordPath)
    let (loaded, _) = try RunDirectory.open(at: run.path).load()
    #expect(try loaded.encoded() == record.encoded())  // as JSON: the sample history holds a NaN
    #expect(run.exists(.record))

    try FileManager.default.removeItem(atPath: run.recordPath)
    try SafeTensorsFile.write(tensors: weights, metadata: RunDirectory.checkpointMetadata(for: record), to: run.checkpointPath)
    let missing = errorText { _ = try RunDirectory.open(at: run.path) }
    #expect(missing.contains("run.json is missing"), "\(missing)")
}
