import Foundation
import STPTestSupport
import Testing
@testable import STPEngine
#if canImport(Glibc)
import Glibc
#endif

// Every file stp reads from a user is a regular file or a clear error: a named pipe once hung
// `stp train` (open() blocked waiting for a writer), and a directory in place of a checkpoint
// answered "NSCocoaErrorDomain error 256".

@Test func aNamedPipeOrADirectoryInPlaceOfAFileIsRefusedAtOnce() throws {
    let root = temporaryDirectory("regular-file")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let fifo = root + "/test_batch.bin"
    #expect(mkfifo(fifo, 0o600) == 0)
    // Without O_NONBLOCK this read would wait forever for a writer; the test would hang.
    let pipe = errorText { _ = try DataFile.read(fifo, what: "a CIFAR-10 batch") }
    #expect(pipe == fifo + ": is a named pipe, not a regular file; expected a CIFAR-10 batch", "\(pipe)")
    let cifar = root + "/cifar"
    try FileManager.default.createDirectory(atPath: cifar + "/cifar-10-batches-bin", withIntermediateDirectories: true)
    #expect(mkfifo(cifar + "/cifar-10-batches-bin/test_batch.bin", 0o600) == 0)
    for i in 1...5 { #expect(mkfifo(cifar + "/cifar-10-batches-bin/data_batch_\(i).bin", 0o600) == 0) }
    let loading = errorText { _ = try DataSource(parsing: "cifar10:" + cifar).load() }
    #expect(loading.contains("named pipe"), "\(loading)")

    let run = root + "/run"
    try FileManager.default.createDirectory(atPath: run + "/checkpoint.safetensors", withIntermediateDirectories: true)
    let checkpoint = errorText { _ = try SafeTensorsFile.read(path: run + "/checkpoint.safetensors") }
    #expect(checkpoint == run + "/checkpoint.safetensors: is a directory, not a regular file; expected a safetensors file", "\(checkpoint)")
    #expect(!checkpoint.contains("NSCocoaErrorDomain"))
    try FileManager.default.createDirectory(atPath: run + "/run.json", withIntermediateDirectories: true)
    #expect(errorText { _ = try RunRecord.read(path: run + "/run.json") }.contains("run.json: is a directory"))
    let torch = errorText { _ = try PyTorchCheckpoint.read(path: root) }
    #expect(torch.contains(root + ": is a directory, not a regular file; expected a PyTorch checkpoint"), "\(torch)")
    // A resumed run trims its metrics log first: a pipe there is refused, not read forever.
    #expect(mkfifo(run + "/metrics.jsonl", 0o600) == 0)
    let metrics = errorText { try MetricsLog.dropEpochs(after: 1, path: run + "/metrics.jsonl") }
    #expect(metrics.contains("metrics.jsonl: is a named pipe, not a regular file; expected a metrics log"), "\(metrics)")
}

@Test func aDirectoryThatCannotBeMadeSaysWhichComponentIsInTheWay() throws {
    let root = temporaryDirectory("mkdir")
    defer { try? FileManager.default.removeItem(atPath: root) }
    try AtomicFile.createDirectory(root + "/a/b/c")
    try AtomicFile.createDirectory(root + "/a/b/c/")
    #expect(DataFile.isDirectory(root + "/a/b/c"))
    try AtomicFile.write("x", to: root + "/passwd")
    let message = errorText { try AtomicFile.createDirectory(root + "/passwd/x") }
    #expect(message == root + "/passwd/x: cannot create directory: " + root + "/passwd is a file, not a directory", "\(message)")
    #expect(!message.contains("error 512"))
}
