import Foundation
import STPTestSupport
import Testing
@testable import STPEngine
@testable import STPMethod

// `stp prune --resume`: an invocation stopped anywhere (in stp's expansion branch, or in the
// shared stimulative run after stp finished) continues to the result an uninterrupted one gives,
// and one that would mix two configurations is refused with the field named.

private let quiet = Console(fileDescriptor: 2, isTerminal: false)

private func stimulativeOptions(output: String) -> PruneOptions {
    var o = tinyOptions(.stp, output: output)
    o.methods = [.stp, .stUniform]
    o.frontRounds = 0
    return o
}

/// Runs `o`, its console written to `log`, with a stop requested once `trigger` holds and
/// `steps` more checks have passed; returns the stop's message (nil if the run finished first).
private func runStopped(_ o: PruneOptions, log: String, steps: Int, when trigger: @escaping () -> Bool) throws -> String? {
    let fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    defer { close(fd) }
    nonisolated(unsafe) var seen = 0
    do {
        _ = try PrunePipeline.runAll(o, console: Console(fileDescriptor: fd, isTerminal: false), shouldStop: {
            guard trigger() else { return false }
            seen += 1
            return seen > steps
        })
        return nil
    } catch let e as STPError where e.message.contains("stopped by the user") {
        return e.message
    }
}

/// The searches `log` reports a best architecture for.
private func searches(in log: String) -> [String] {
    ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").components(separatedBy: "\n")
        .filter { $0.hasPrefix("search remove 50%: best") }
}

private func weights(_ path: String) throws -> [[Float]] {
    try ExtractedModel.load(from: path).network.parameters.map(\.value.array)
}

@Test func aStoppedPruneResumesToTheResultOfAnUninterruptedOne() throws {
    let root = temporaryDirectory("prune-resume")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let fm = FileManager.default
    // 4 epochs of 4 steps: the first search after epoch 2, re-searches after 3 and 4.
    func options(_ output: String) -> PruneOptions {
        var o = stimulativeOptions(output: output)
        o.training.epochs = 4
        return o
    }
    let reference = try PrunePipeline.runAll(options(root + "/whole"), console: quiet)

    var o = options(root + "/stopped")
    // Stopped in stp's expansion branch, two steps into the epoch after its re-search (the
    // log's second search)...
    let branch = root + "/stopped/stp-50pct/run"
    let firstLog = root + "/first.log"
    let first = try runStopped(o, log: firstLog, steps: 2, when: { searches(in: firstLog).count >= 2 })
    #expect(first?.contains("--resume") == true, "the message says how to continue: \(first ?? "finished")")
    let stoppedBranch = try RunRecord.read(path: branch + "/run.json")
    #expect(stoppedBranch.stepsCompleted > 12 && stoppedBranch.stepsCompleted < 16, "stopped inside epoch 4 (\(stoppedBranch.stepsCompleted) steps)")
    // ...a plain re-run refuses to replace it...
    #expect(throws: STPError.self) { try PrunePipeline.runAll(o, console: quiet) }
    // ...resumed (the first search again, on the shared run still at its weights; the re-search
    // the branch passed not again, but the final one), then stopped again in the shared run's
    // last epochs, after stp has finished...
    o.resume = true
    let secondLog = root + "/second.log"
    let second = try runStopped(o, log: secondLog, steps: 2, when: { fm.fileExists(atPath: root + "/stopped/stp-50pct/report.json") })
    #expect(second != nil, "the second stop happened")
    #expect(searches(in: secondLog).count == 2, "the first search and the final one: \(searches(in: secondLog))")
    let trunk = try RunRecord.read(path: root + "/stopped/train-stimulative/run.json")
    #expect(trunk.stepsCompleted > 8 && trunk.stepsCompleted < 16, "stopped past the first search (\(trunk.stepsCompleted) steps)")
    // ...and resumed to the end: the same results as the run that was never stopped.
    let resumed = try PrunePipeline.runAll(o, console: quiet)
    #expect(resumed.reports.map(\.method) == reference.reports.map(\.method))
    for (r, w) in zip(resumed.reports, reference.reports) {
        #expect(r.architecture == w.architecture, "\(r.method)")
        #expect(r.searchFitness == w.searchFitness, "\(r.method)")
        #expect(r.fullTestTop1 == w.fullTestTop1 && r.prunedTestTop1 == w.prunedTestTop1, "\(r.method)")
        #expect(try weights(r.extractedPath) == weights(w.extractedPath), "\(r.method): the same extracted network")
    }
}

@Test func resumingWithOtherOptionsOrWithoutTheFirstSearchIsRefused() throws {
    let root = temporaryDirectory("prune-resume-bad")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var o = stimulativeOptions(output: root)
    o.methods = [.stUniform]
    // Stopped inside the second epoch, past the point where stp would have searched.
    let stopped = try runStopped(o, log: root + "/stopped.log", steps: 2,
                                 when: { FileManager.default.fileExists(atPath: root + "/train-stimulative/checkpoint.safetensors") })
    #expect(stopped != nil)
    let trunk = try RunRecord.read(path: root + "/train-stimulative/run.json")
    #expect(trunk.epochsCompleted == 1 && trunk.stepsCompleted > 4, "\(trunk.stepsCompleted) steps")
    o.resume = true
    /// `change` applied to `o` must be refused with a message containing every one of `words`.
    func expectRefused(_ why: String, _ words: [String], _ change: (inout PruneOptions) -> Void) {
        var other = o
        change(&other)
        do {
            _ = try PrunePipeline.runAll(other, console: quiet)
            Issue.record("\(why) must be refused")
        } catch let e as STPError {
            #expect(words.allSatisfy { e.message.contains($0) }, "\(why): \(e.message)")
        } catch {
            Issue.record("\(why): \(error)")
        }
    }
    // Another learning rate would continue the run as a different one; so would another
    // method strength or channel order (which applies when the run starts).
    expectRefused("another learning rate", ["train-stimulative/run.json", "schedule"]) { $0.training.schedule.base *= 2 }
    expectRefused("another KD strength", ["method"]) { $0.stimulative.lambda *= 2 }
    expectRefused("another channel order", ["--channel-order given"]) { $0.channelOrder = .l1 }
    // The shared run has trained past stp's first search (inside the epoch after it), and no
    // branch recorded what that search found.
    expectRefused("stp from a shared run past its first search", ["stp-50pct/run", "first search"]) { $0.methods = [.stp] }
    expectRefused("--resume with --overwrite", ["--overwrite"]) { $0.overwrite = true }
    // With its own options it continues.
    let report = try PrunePipeline.runAll(o, console: quiet).reports[0]
    #expect(report.method == "st-uniform" && report.epochs == 2)
}

// A prune killed before its shared run's first save leaves only that run's log. A plain re-run
// says so (instead of offering a resume that cannot work); --resume starts the run again.
@Test func aPruneStoppedBeforeItsFirstSaveStartsAgainUnderResume() throws {
    let root = temporaryDirectory("prune-resume-unsaved")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var o = stimulativeOptions(output: root)
    o.methods = [.stUniform]
    try FileManager.default.createDirectory(atPath: root + "/train-stimulative", withIntermediateDirectories: true)
    try Data("{\"step\":1}\n".utf8).write(to: URL(fileURLWithPath: root + "/train-stimulative/metrics.jsonl"))
    do {
        _ = try PrunePipeline.runAll(o, console: quiet)
        Issue.record("a plain re-run must not replace the log")
    } catch let e as STPError {
        #expect(e.message.contains("before its first save") && e.message.contains("metrics.jsonl"), "\(e.message)")
        #expect(!e.message.contains("resume it"), "\(e.message)")
    }
    o.resume = true
    let report = try PrunePipeline.runAll(o, console: quiet).reports[0]
    #expect(report.method == "st-uniform" && report.epochs == 2)
}
