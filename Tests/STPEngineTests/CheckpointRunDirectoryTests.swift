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
    #expect(directoryListing(run.path) == ["notes.md"])  // only the run's own files go

    // A directory with only a log (say, a run that failed before its first save) is fine to reuse.
    try AtomicFile.write("x", to: run.logPath)
    #expect(!run.holdsRun)
    #expect(errorText { try RunDirectory.create(at: run.path) }.contains("already holds a run (log.txt)"))
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
    #expect(checkpoint.metadata == ["model": "resnet20", "epochs_completed": "2", "steps_completed": "782",
                                    "stp_format": "1", "method": "stimulative"])
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
