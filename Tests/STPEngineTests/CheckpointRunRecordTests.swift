import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

func sampleRunRecord() -> RunRecord {
    var rng = SeededRandom(seed: 7)
    _ = rng.next()
    return RunRecord(
        model: .init(name: "resnet20", options: ["shortcut": "zero-pad", "width": "16"]),
        data: .init(name: "cifar10", path: "/data/cifar-10", trainCount: 50_000, testCount: 10_000),
        seed: 7, epochsCompleted: 2, stepsCompleted: 782, totalEpochs: 160, rng: rng,
        configuration: ["lr": "0.1", "schedule": "cosine", "batch": "128"], wallSeconds: 812.5,
        history: [
            EpochMetrics(epoch: 0, trainLoss: 1.9, trainTop1: 0.31, testLoss: 1.6, testTop1: 0.42, testTop5: 0.9,
                         learningRate: 0.1, imagesPerSecond: 123.4, seconds: 405.2),
            EpochMetrics(epoch: 1, trainLoss: .nan, trainTop1: 0.1, testLoss: .infinity, testTop1: 0.1, testTop5: 0.5,
                         learningRate: 0.0999, imagesPerSecond: 125, seconds: 407.3),
        ])
}

@Test func runRecordRoundTrips() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/run.json"
    let record = sampleRunRecord()
    try record.write(to: path)
    let back = try RunRecord.read(path: path)
    #expect(back.formatVersion == RunRecord.currentFormatVersion)
    #expect(back.model == record.model && back.data == record.data && back.rng == record.rng)
    #expect(back.configuration == record.configuration && back.wallSeconds == 812.5)
    #expect(back.history[0] == record.history[0])
    #expect(back.history[1].trainLoss.isNaN && back.history[1].testLoss == .infinity)
    var a = back.rng, b = record.rng
    #expect(a.next() == b.next())
    // Stable, readable text: the same record gives the same bytes.
    #expect(try record.encoded() == back.encoded())
    let text = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text.contains("\"trainLoss\" : \"nan\"") && text.contains("\"formatVersion\" : 1"))
    #expect(directoryListing(dir) == ["run.json"])
}

@Test func malformedRunRecordsNameFileAndKeyPath() throws {
    let good = String(decoding: try sampleRunRecord().encoded(), as: UTF8.self)
    func message(_ text: String) -> String {
        errorText { _ = try RunRecord.decode(Data(text.utf8), path: "runs/a/run.json") }
    }
    let wrongType = message(good.replacingOccurrences(of: "\"testTop1\" : 0.1,", with: "\"testTop1\" : \"high\","))
    #expect(wrongType.hasPrefix("runs/a/run.json: malformed run record: at key history[1].testTop1: expected a number"), "\(wrongType)")

    let missing = message(good.replacingOccurrences(of: "\"testCount\" : 10000,", with: ""))
    #expect(missing.contains("runs/a/run.json") && missing.contains("missing key \"testCount\" in data"), "\(missing)")

    let state = message(good.replacingOccurrences(of: "\"state\" : [", with: "\"state\" : [true, "))
    #expect(state.contains("at key rng.state[0]: expected"), "\(state)")

    let negative = message(good.replacingOccurrences(of: "\"seed\" : 7", with: "\"seed\" : -7"))
    #expect(negative.hasPrefix("runs/a/run.json: malformed run record:") && negative.contains("negative seed"), "\(negative)")

    // Broken JSON: line and byte of the fault (JSONDecoder alone would not say).
    let cut = message(good.replacingOccurrences(of: "\"epochsCompleted\" : 2,", with: "\"epochsCompleted\" : 2,,"))
    let line = good.components(separatedBy: "\n")
        .firstIndex { $0.contains("epochsCompleted") }! + 1
    #expect(cut.hasPrefix("runs/a/run.json:\(line): at byte ") && cut.contains("not valid JSON: expected a string key, found ','"), "\(cut)")
    let truncated = message(String(good.prefix(40)))
    #expect(truncated.hasPrefix("runs/a/run.json:") && truncated.contains("not valid JSON"), "\(truncated)")

    let newer = message(good.replacingOccurrences(of: "\"formatVersion\" : 1", with: "\"formatVersion\" : 3"))
    #expect(newer.contains("runs/a/run.json") && newer.contains("format version 3, but this stp reads version 1")
        && newer.contains("newer stp"), "\(newer)")

    let noVersion = message("{\"model\": {}}")
    #expect(noVersion.contains("not a run record: missing key \"formatVersion\""), "\(noVersion)")

    let absent = errorText { _ = try RunRecord.read(path: "/nonexistent/run.json") }
    #expect(absent == "/nonexistent/run.json: cannot open (no such file); expected a run record (run.json) written by stp", "\(absent)")
}
