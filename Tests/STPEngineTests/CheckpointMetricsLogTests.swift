import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

private func epoch(_ i: Int, loss: Double = 1.5) -> EpochMetrics {
    EpochMetrics(epoch: i, trainLoss: loss, trainTop1: 0.5, testLoss: 1.2, testTop1: 0.6, testTop5: 0.95,
                 learningRate: 0.1, imagesPerSecond: 321, seconds: 12.5)
}

@Test func metricsLogWritesSortedLinesAndReadsThemBack() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/metrics.jsonl"
    let log = try MetricsLog(path: path)
    try log.append(epoch(0))
    // Visible to a reader at once, before close.
    #expect(try MetricsLog.read(EpochMetrics.self, path: path).records == [epoch(0)])
    try log.append(epoch(1, loss: .nan))
    try log.append(["z": 1.0, "a": 2.0])
    try log.sync()
    log.close()
    #expect(errorText { try log.append(epoch(9)) }.contains("closed"))

    let text = try String(contentsOfFile: path, encoding: .utf8)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 4 && lines[3].isEmpty)
    #expect(lines[0].hasPrefix("{\"epoch\":0,\"imagesPerSecond\":321,\"learningRate\":0.1,\"seconds\":12.5,\"testLoss\":1.2"))
    #expect(lines[1].contains("\"trainLoss\":\"nan\""))
    #expect(lines[2] == "{\"a\":2,\"z\":1}")

    let all = try MetricsLog.read([String: Double].self, path: dir + "/metrics.jsonl")
    #expect(all.records.count == 3 && !all.droppedPartialLine && all.records[2] == ["a": 2, "z": 1])
    #expect(all.records[1]["trainLoss"]!.isNaN)

    // Reopening appends; truncate starts over.
    try MetricsLog(path: path).append(epoch(2))
    #expect(try MetricsLog.read([String: Double].self, path: path).records.count == 4)
    try MetricsLog(path: path, truncate: true).append(epoch(5))
    #expect(try MetricsLog.read(EpochMetrics.self, path: path).records == [epoch(5)])
}

@Test func metricsLogToleratesATruncatedLastLine() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/metrics.jsonl"
    let log = try MetricsLog(path: path)
    for i in 0..<3 { try log.append(epoch(i)) }
    log.close()
    let full = try Data(contentsOf: URL(fileURLWithPath: path))
    let lastStart = full.dropLast().lastIndex(of: 0x0a)! + 1

    // Killed at several points inside the last line.
    for cut in [lastStart + 1, lastStart + 20, full.count - 2] {
        try full.prefix(cut).write(to: URL(fileURLWithPath: path))
        let got = try MetricsLog.read(EpochMetrics.self, path: path)
        #expect(got.records == [epoch(0), epoch(1)] && got.droppedPartialLine, "cut at \(cut)")
    }
    // Missing only the newline: the line is whole and kept.
    try full.prefix(full.count - 1).write(to: URL(fileURLWithPath: path))
    let whole = try MetricsLog.read(EpochMetrics.self, path: path)
    #expect(whole.records.count == 3 && !whole.droppedPartialLine)

    // Resuming cuts the partial line before appending, so the log stays valid.
    try full.prefix(lastStart + 20).write(to: URL(fileURLWithPath: path))
    try MetricsLog(path: path).append(epoch(7))
    let resumed = try MetricsLog.read(EpochMetrics.self, path: path)
    #expect(resumed.records == [epoch(0), epoch(1), epoch(7)] && !resumed.droppedPartialLine)
}

@Test func metricsLogReportsCorruptMiddleLines() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/metrics.jsonl"
    let first = "{\"epoch\":0,\"loss\":1}\n"
    try AtomicFile.write(first + "\n{\"epoch\":1,\"loss\":}\n{\"epoch\":2,\"loss\":3}\n", to: path)
    let syntax = errorText { _ = try MetricsLog.read([String: Double].self, path: path) }
    // Line 3 (after a blank line), at the '}' where a value was expected.
    let offset = first.utf8.count + 1 + 18
    #expect(syntax == "\(path):3: at byte \(offset): corrupt metrics line, not valid JSON: expected a JSON value, found '}'", "\(syntax)")

    try AtomicFile.write(first + "{\"epoch\":\"one\",\"loss\":2}\n" + first, to: path)
    let type = errorText { _ = try MetricsLog.read([String: Double].self, path: path) }
    #expect(type.hasPrefix("\(path):2: at byte \(first.utf8.count): corrupt metrics line: at key epoch: expected a number"), "\(type)")

    // A complete last line (it has its newline) that is corrupt is not a truncation.
    try AtomicFile.write(first + "{\"epoch\":\n", to: path)
    #expect(errorText { _ = try MetricsLog.read([String: Double].self, path: path) }.contains(":2: at byte"))

    let none = errorText { _ = try MetricsLog.read([String: Double].self, path: dir + "/none.jsonl") }
    #expect(none.contains(dir + "/none.jsonl") && none.contains("no such file"))
    let cannot = errorText { _ = try MetricsLog(path: dir + "/no/dir/m.jsonl") }
    #expect(cannot.contains(dir + "/no/dir/m.jsonl") && cannot.contains("No such file or directory"), "\(cannot)")
}

// A run killed after logging an epoch but before saving its checkpoint redoes that epoch when
// resumed: the lines of epochs after the record's are dropped first, so that each is logged once.
@Test func dropEpochsAfterRemovesTheLinesOfUnsavedEpochs() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/metrics.jsonl"
    let lines = ["{\"epoch\":1,\"loss\":2}", "{\"note\":\"no epoch\"}", "{\"epoch\":2,\"loss\":1.5}", "{\"epoch\":2,\"sparsity\":1}"]
    try AtomicFile.write(lines.joined(separator: "\n") + "\n{\"epoch\":3,\"lo", to: path)
    try MetricsLog.dropEpochs(after: 2, path: path)
    #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
        == lines.joined(separator: "\n") + "\n{\"epoch\":3,\"lo", "a partial last line is left to MetricsLog.init")
    try MetricsLog.dropEpochs(after: 1, path: path)
    #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
        == lines[0] + "\n" + lines[1] + "\n{\"epoch\":3,\"lo")
    try MetricsLog.dropEpochs(after: 0, path: dir + "/none.jsonl")  // no file: nothing to do
}
