import Foundation
import Testing
@testable import STPEngine
@testable import STPExplorer
@testable import STPMethod

// The engine side for real: a ResNet-20 trained by stimulative training on a tiny built-in data
// set, driven only through commands and observed only through published snapshots.

@Suite(.serialized) struct SessionTests {
    static func options(run: String) -> ExplorerOptions {
        var o = ExplorerOptions()
        o.training.data = "builtin:seed=3,train=320,test=64"
        o.training.epochs = 2
        o.training.batchSize = 32
        o.fitnessImages = 64
        o.recalibrationImages = 64
        o.search.population = 4
        o.search.parents = 2
        o.search.generations = 1
        o.autoSearch = false
        o.runPath = run
        o.publishInterval = 0.02
        // Timing the blocks takes seconds in a debug build; the front test below does it.
        o.measureLatency = false
        return o
    }

    /// The budget command for `text`, resolved against the session's space as the UI does.
    static func budget(_ text: String, _ session: ExplorerSession) -> BudgetChoice {
        let s = session.snapshot
        return BudgetChoice(text, space: s.architectureSpace!, tolerance: s.tolerance)
    }

    /// Polls the snapshots until `condition` holds; fails after `seconds`.
    @discardableResult
    static func waitFor(_ session: ExplorerSession, seconds: Double = 120, _ what: String,
                        _ condition: (ExplorerSnapshot) -> Bool) -> ExplorerSnapshot {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let s = session.snapshot
            if condition(s) { return s }
            Thread.sleep(forTimeInterval: 0.02)
        }
        Issue.record("timed out waiting for \(what); last log: \(session.snapshot.log.suffix(3).map(\.text))")
        return session.snapshot
    }

    @Test func trainsPausesRetargetsSearchesAndQuitsWithACheckpoint() throws {
        let run = NSTemporaryDirectory() + "stp-explorer-session-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: run) }
        let session = try ExplorerSession(options: Self.options(run: run))
        #expect(session.snapshot.phase == .starting)
        #expect(session.snapshot.stepsPerEpoch == 8)
        session.start()

        // Training moves: sequence numbers and step counts only ever increase.
        var seen = [ExplorerSnapshot]()
        Self.waitFor(session, "three training steps") { s in
            seen.append(s)
            return s.globalStep >= 3
        }
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.sequence <= $1.sequence && $0.globalStep <= $1.globalStep })
        #expect(Set(seen.map(\.globalStep)).count >= 3, "snapshots were published between steps")
        #expect(seen.last?.phase == .stimulativeTraining)
        #expect((seen.last?.space?.subnetsSampled ?? 0) >= 3)

        // Pause: training stops within a step and stays stopped.
        session.send(.pause)
        let paused = Self.waitFor(session, "pause") { $0.paused && $0.stepsSinceSave == 0 }
        Thread.sleep(forTimeInterval: 0.5)
        #expect(session.snapshot.globalStep == paused.globalStep)

        // A bad budget is reported and the old one stays; a good one moves the target.
        let before = session.snapshot
        session.send(.setBudget(Self.budget("150%", session)))
        let rejected = Self.waitFor(session, "the budget error") { $0.log.contains { $0.level == .error && $0.text.contains("150%") } }
        #expect(rejected.budgetText == before.budgetText && rejected.targetMACs == before.targetMACs)
        session.send(.setBudget(Self.budget("70%", session)))
        let moved = Self.waitFor(session, "the new budget") { $0.budgetText == "remove 70%" }
        #expect(moved.targetMACs < before.targetMACs)
        #expect(moved.window.upperBound == moved.targetMACs)

        // Search now, while paused: candidates appear and the best is in the new window.
        session.send(.searchNow)
        let searched = Self.waitFor(session, "a search") { $0.search.completed == 1 }
        #expect(!searched.candidates.isEmpty)
        let best = try #require(searched.best)
        #expect(searched.window.contains(best.macs))
        #expect(searched.referenceKind == .best && searched.reference == best.architecture)
        #expect(searched.sparsity?.report.architecture == best.architecture.text)
        #expect(searched.globalStep == paused.globalStep, "searching while paused does not train")

        // Select another candidate: the sparsity follows it.
        if let other = searched.candidates.first(where: { $0.architecture != best.architecture }) {
            session.send(.select(other.architecture))
            Self.waitFor(session, "the selection") { $0.sparsity?.report.architecture == other.architecture.text && $0.referenceKind == .selected }
        }

        // Resume: training moves again.
        session.send(.resume)
        Self.waitFor(session, "training after resume") { $0.globalStep > paused.globalStep + 1 }

        session.send(.quit)
        #expect(session.waitUntilStopped(seconds: 60))
        let final = session.snapshot
        #expect(final.stopped && final.stepsSinceSave == 0)
        let record = try RunDirectory.open(at: run).readRecord()
        #expect(record.stepsCompleted == final.globalStep)
        #expect(record.configuration[ExplorerOptions.heldOutKey] == "64")
        #expect(record.configuration[ExplorerOptions.budgetKey] == "remove 70%")

        // Continuing the run: same step, same held-out split, the budget it last had.
        var again = Self.options(run: run)
        again.resumePath = run
        let resumed = try ExplorerSession(options: again)
        #expect(resumed.snapshot.globalStep == final.globalStep)
        #expect(resumed.snapshot.budgetText == "remove 70%")
        #expect(resumed.snapshot.trainImages == 256)
    }

    @Test func theFrontSpansTheSpaceAfterTheFirstEpochAndBudgetsReadItAtOnce() throws {
        let run = NSTemporaryDirectory() + "stp-explorer-front-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: run) }
        var o = Self.options(run: run)
        o.front?.buckets = 4
        o.measureLatency = true
        o.latencyThroughputBatch = 8   // a thread-sanitizer build runs this test too
        // One epoch: the weights stay those of the front, so the search must reuse its evaluations.
        o.training.epochs = 1
        o.search.population = 12
        o.search.parents = 3
        o.search.generations = 4
        let session = try ExplorerSession(options: o)
        session.start()

        // After the first epoch, without any search: a curve from the smallest subnet to the
        // full network, non-dominated, reported in the header's status.
        let curve = Self.waitFor(session, seconds: 600, "the first front") { $0.front.rounds >= 1 && !$0.front.running }
        let space = try #require(curve.space)
        #expect(curve.search.completed == 0)
        #expect(curve.candidates.map(\.macs).min() == space.smallestMACs)
        #expect(curve.candidates.map(\.macs).max() == space.fullMACs)
        #expect(curve.front.points == curve.pareto.count && curve.pareto.count >= 2)
        for p in curve.pareto {
            #expect(!curve.candidates.contains { $0.macs <= p.macs && $0.fitness < p.fitness })
        }
        #expect(curve.log.contains { $0.text.hasPrefix("front: ") })
        // The latency model was measured before training: every candidate has its prediction.
        let latency = try #require(curve.latency)
        #expect(latency.smallestMilliseconds > 0 && latency.smallestMilliseconds < latency.fullMilliseconds)
        #expect(curve.candidates.allSatisfy { ($0.latencyMilliseconds ?? 0) > 0 && ($0.imagesPerSecond ?? 0) > 0 })
        #expect(curve.log.contains { $0.text.hasPrefix("latency model") })

        // A budget change shows the best known candidate in its window at once, without a search.
        session.send(.setBudget(Self.budget("70%", session)))
        let moved = Self.waitFor(session, "the new budget") { $0.budgetText == "remove 70%" }
        let known = moved.candidates.filter { moved.window.contains($0.macs) }.min { ($0.fitness, $0.macs) < ($1.fitness, $1.macs) }
        #expect(moved.best == known)
        #expect(moved.search.completed == 0 && !moved.search.running)

        // A budget change during a running search re-targets it; the search reuses the front.
        let frontEvaluations = moved.search.evaluations
        session.send(.searchNow)
        Self.waitFor(session, seconds: 30, "the search to start") { $0.search.running }
        session.send(.setBudget(Self.budget("85%", session)))
        let done = Self.waitFor(session, seconds: 600, "the re-targeted search") { $0.search.completed == 1 && !$0.search.running }
        #expect(done.budgetText == "remove 85%")
        #expect(done.log.contains { $0.text.contains("re-targeted") })
        let best = try #require(done.best)
        #expect(done.window.contains(best.macs))
        #expect(done.search.evaluations > frontEvaluations)
        #expect(done.candidates.count == done.search.evaluations, "the front's candidates were kept")
        session.send(.quit)
        #expect(session.waitUntilStopped(seconds: 60))
    }

    @Test func theFrontIsRenewedOnNewerWeightsWithinItsShareOfTheTime() throws {
        let run = NSTemporaryDirectory() + "stp-explorer-renew-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: run) }
        var o = Self.options(run: run)
        // Renewed after every epoch whatever the speed (a thread-sanitizer build is ten times
        // slower): an allowance far above the time a round takes, no extra rounds.
        o.front?.buckets = 2
        o.training.epochs = 2
        o.frontShare = 1000
        o.frontExtraRounds = 0
        let session = try ExplorerSession(options: o)
        session.start()
        // A marked (pinned) architecture stays among the candidates when the front is renewed.
        let first = Self.waitFor(session, seconds: 600, "the first front") { $0.front.rounds >= 1 && !$0.front.running }
        let space = try #require(first.architectureSpace)
        var rng = SeededRandom(seed: 99)
        var pinned = space.randomArchitecture(using: &rng)
        while first.candidates.contains(where: { $0.architecture == pinned }) { pinned = space.randomArchitecture(using: &rng) }
        session.send(.pin([pinned]))
        let done = Self.waitFor(session, seconds: 600, "training and the last front") { $0.phase == .finished && $0.front.rounds >= 2 && !$0.front.running }
        #expect(done.pinned == [pinned])
        #expect(done.candidates.contains { $0.architecture == pinned }, "the pinned architecture was dropped")
        let fronts = done.log.filter { $0.text.hasPrefix("front: ") }.map(\.text)
        #expect(fronts.count == done.front.rounds)
        // Each renewal says the weights it used: two different steps at least.
        let steps = Set(fronts.compactMap { text in text.range(of: #"on step \d+"#, options: .regularExpression).map { String(text[$0]) } })
        #expect(steps.count >= 2, "\(fronts)")
        session.send(.quit)
        #expect(session.waitUntilStopped(seconds: 60))
        // Without a front, nothing is evaluated until a search.
        var none = Self.options(run: run + "-none")
        defer { try? FileManager.default.removeItem(atPath: run + "-none") }
        none.front = nil
        none.training.epochs = 1
        let quiet = try ExplorerSession(options: none)
        quiet.start()
        let trained = Self.waitFor(quiet, seconds: 600, "training without a front") { $0.phase == .finished }
        #expect(trained.front.rounds == 0 && trained.candidates.isEmpty)
        quiet.send(.quit)
        #expect(quiet.waitUntilStopped(seconds: 60))
    }

    @Test func fromATrainedNetworkTheFrontOfTheImportedNetworkComesBeforeTrainingAndStays() throws {
        let root = NSTemporaryDirectory() + "stp-explorer-imported-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A trained network to start from: one epoch of a run from scratch, no front.
        var first = Self.options(run: root + "/trained")
        first.front = nil
        first.training.epochs = 1
        let trainer = try ExplorerSession(options: first)
        trainer.start()
        Self.waitFor(trainer, seconds: 600, "the network to start from") { $0.phase == .finished }
        trainer.send(.quit)
        #expect(trainer.waitUntilStopped(seconds: 60))

        var o = Self.options(run: root + "/explore")
        o.training.initialWeights = root + "/trained"
        o.training.epochs = 1
        o.front?.buckets = 2
        o.frontShare = 1000
        o.frontExtraRounds = 0
        let session = try ExplorerSession(options: o)
        session.start()
        // Before any training step: the curve of the network as imported, in the candidates too.
        let imported = Self.waitFor(session, seconds: 600, "the imported network's front") { $0.front.rounds >= 1 && !$0.front.running }
        #expect(imported.globalStep == 0, "the first front comes before the first training step")
        #expect(!imported.asImported.isEmpty && imported.asImported == imported.candidates)
        let space = try #require(imported.space)
        #expect(imported.candidates.map(\.macs).min() == space.smallestMACs)
        // After the epoch the live front is renewed on trained weights; the reference stays.
        let trained = Self.waitFor(session, seconds: 600, "the front after the epoch") { $0.front.rounds >= 2 && !$0.front.running }
        #expect(trained.globalStep > 0)
        #expect(trained.asImported == imported.asImported)
        #expect(trained.candidates != imported.candidates)
        let text = ExplorerFixtures.render(trained, width: 160, height: 48).text
        #expect(text.contains("as imported"), "the scatter's legend names the reference curve")
        session.send(.quit)
        #expect(session.waitUntilStopped(seconds: 60))
    }

    @Test func exportWritesAnExtractedNetworkAndONNX() throws {
        let run = NSTemporaryDirectory() + "stp-explorer-export-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: run) }
        var o = Self.options(run: run)
        o.startPaused = true
        let session = try ExplorerSession(options: o)
        session.start()
        let ready = Self.waitFor(session, "the reference") { $0.reference != nil && $0.phase != .starting }
        let architecture = try #require(ready.reference)
        session.send(.export(architecture))
        let done = Self.waitFor(session, "the export") { $0.exported.contains(architecture.text) || $0.log.contains { $0.level == .error } }
        #expect(done.exported == [architecture.text], "log: \(done.log.map(\.text))")
        let exports = try FileManager.default.contentsOfDirectory(atPath: run + "/exports")
        #expect(exports.count == 1)
        let dir = run + "/exports/" + exports[0]
        for file in ["model.onnx", "model.safetensors", "architecture.json", "evaluation.json"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "\(file)")
        }
        let rebuilt = try ExtractedModel.load(from: dir)
        #expect(rebuilt.architecture == architecture)
        session.send(.quit)
        #expect(session.waitUntilStopped(seconds: 60))
    }

    @Test func anEngineErrorStopsTheSessionWithTheErrorAndKeepsTheLastGoodCheckpoint() throws {
        let run = NSTemporaryDirectory() + "stp-explorer-diverge-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: run) }
        var o = Self.options(run: run)
        o.training.schedule = LearningRateSchedule(kind: .constant, base: 1e9, totalEpochs: 2)
        let session = try ExplorerSession(options: o)
        session.start()
        #expect(session.waitUntilStopped(seconds: 120), "a diverging run stops by itself")
        let s = session.snapshot
        #expect(s.phase == .failed && s.stopped)
        #expect(s.log.contains { $0.level == .error && $0.text.contains("diverged") })
        #expect(s.log.contains { $0.text.contains("not saved: the weights are no longer finite") })
        #expect(!FileManager.default.fileExists(atPath: run + "/checkpoint.safetensors"), "no broken checkpoint was written")
    }

    @Test func aBrokenRunRecordIsAnErrorBeforeAnyTerminalWork() throws {
        // The explorer resumes through Trainer.resume: the same checks, as an error to show.
        let run = NSTemporaryDirectory() + "stp-explorer-broken-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: run) }
        var o = Self.options(run: run)
        o.startPaused = true
        let session = try ExplorerSession(options: o)
        session.start()
        session.send(.quit)
        #expect(session.waitUntilStopped(seconds: 60))
        var again = Self.options(run: run)
        again.resumePath = run
        func message() -> String {
            do {
                _ = try ExplorerSession(options: again)
                return ""
            } catch {
                return (error as? STPError)?.message ?? "\(error)"
            }
        }
        let directory = try RunDirectory.open(at: run)
        let (good, checkpoint) = try directory.load()
        var record = good
        record.configuration[ExplorerOptions.heldOutKey] = "100000"
        try directory.save(tensors: checkpoint.allTensors, record: record)
        #expect(message() == run + "/run.json: '\(ExplorerOptions.heldOutKey)' is 100000; expected a count of held-out training images from 0 to 319")

        record = good
        var config = try TrainingConfig.fromJSON(record.configuration[Trainer.configKey]!, source: "run.json")
        config.batchSize = 0
        record.configuration[Trainer.configKey] = try config.jsonString()
        try directory.save(tensors: checkpoint.allTensors, record: record)
        #expect(message() == run + "/run.json: training_config.batchSize is 0; expected at least 2, for batch statistics")

        record = good
        record.configuration[ExplorerOptions.budgetKey] = "150%"
        try directory.save(tensors: checkpoint.allTensors, record: record)
        let budget = message()
        #expect(budget.hasPrefix(run + "/run.json: '\(ExplorerOptions.budgetKey)' is 150%: "), "\(budget)")
    }

    @Test func badBudgetAtStartIsAnErrorBeforeAnyTerminalWork() {
        var o = Self.options(run: NSTemporaryDirectory() + "stp-explorer-bad-\(UUID().uuidString)")
        o.budget = "keep 0.1%"
        #expect(throws: STPError.self) { try ExplorerSession(options: o) }
    }
}
