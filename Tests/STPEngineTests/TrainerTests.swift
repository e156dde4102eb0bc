import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

// Training end to end on small inputs: the loss falls, checkpoints round-trip, a resumed run
// (after an epoch, or stopped in the middle of one) ends with exactly the weights of an
// uninterrupted run, and broken or mismatched run directories give clear errors.

private func smallConfig(epochs: Int = 2) -> TrainingConfig {
    var c = TrainingConfig()
    c.model = "resnet20"
    c.data = "builtin:seed=3,train=96,test=32"
    c.epochs = epochs
    c.batchSize = 32
    c.schedule = LearningRateSchedule(kind: .cosine, base: 0.05, totalEpochs: Double(epochs))
    c.seed = 5
    return c
}

private func weights(_ trainer: Trainer) -> [Float] {
    trainer.model.parameters.flatMap { $0.value.array } + trainer.model.stateBuffers.flatMap { $0.value.array }
}

@Test func sgdOverfitsAFixedBatch() throws {
    // A ResNet-20 must drive the loss of one repeated batch down: the whole training step works.
    let spec = try ResNetSpec.named("resnet20", classes: 4, inputSize: (8, 8))
    let model = ResNet(spec: spec, seed: 1)
    let sgd = SGD(parameters: model.parameters, options: SGDOptions(momentum: 0.9, weightDecay: 0))
    let batch = 16
    let input = gaussians(batch * 8 * 8 * 3, seed: 2)
    let labels = (0..<batch).map { Int32($0 % 4) }
    var losses = [Float]()
    var dz = [Float](repeating: 0, count: batch * 4)
    for _ in 0..<30 {
        model.zeroGradients()
        let loss = input.withPointer { ip in
            let z = model.forward(ip, batch: batch, mode: .train(updateRunningStats: true))
            return labels.withUnsafeBufferPointer { lp in dz.withMutablePointer { dp in
                crossEntropyForwardBackward(logits: z, labels: lp.baseAddress!, batch: batch, classes: 4, dlogits: dp)
            } }
        }
        dz.withPointer { model.backward($0) }
        sgd.step(model.parameters, learningRate: 0.05)
        losses.append(loss)
    }
    #expect(losses.last! < 0.5 * losses.first!, "loss \(losses.first!) -> \(losses.last!)")
}

@Test func learningRateSchedules() {
    let cosine = LearningRateSchedule(kind: .cosine, base: 0.1, warmupEpochs: 2, totalEpochs: 12)
    #expect(abs(cosine.rate(atEpoch: 0) - 0.01) < 1e-7)
    #expect(abs(cosine.rate(atEpoch: 1) - 0.055) < 1e-6)
    #expect(abs(cosine.rate(atEpoch: 2) - 0.1) < 1e-7)
    #expect(abs(cosine.rate(atEpoch: 7) - 0.05) < 1e-6)
    #expect(cosine.rate(atEpoch: 12) < 1e-7)
    let step = LearningRateSchedule(kind: .step, base: 0.1, milestones: [5, 8], gamma: 0.1, totalEpochs: 10)
    #expect(step.rate(atEpoch: 4.9) == 0.1)
    #expect(abs(step.rate(atEpoch: 5) - 0.01) < 1e-8)
    #expect(abs(step.rate(atEpoch: 9) - 0.001) < 1e-9)
}

@Test func trainingRunSavesCheckpointsAndResumesExactly() throws {
    let data = try DataSource(parsing: smallConfig().data).load()
    let root = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }

    // Uninterrupted: two epochs.
    let straight = try Trainer(config: smallConfig(), data: data, runPath: root + "/straight")
    var epochs = [EpochMetrics]()
    try straight.train(events: { if case .epochFinished(let m) = $0 { epochs.append(m) } })
    #expect(epochs.count == 2)
    #expect(straight.isFinished)
    #expect(epochs.allSatisfy { $0.testTop1 >= 0 && $0.testTop1 <= 1 && $0.trainLoss.isFinite })

    // The saved run reloads to the same weights, and eval reproduces the recorded accuracy.
    let report = try EvalJob.run(EvalJobOptions(runPath: root + "/straight"))
    #expect(abs(report.result.top1 - epochs.last!.testTop1) < 1e-9)
    #expect(report.epochs == 2)

    // Stopped in the middle of the first epoch, then resumed twice.
    let stopped = try Trainer(config: smallConfig(), data: data, runPath: root + "/stopped")
    var steps = 0
    var sawStop = false
    try stopped.train(events: {
        if case .step = $0 { steps += 1 }
        if case .stopped = $0 { sawStop = true }
    }, shouldStop: { steps >= 2 })
    #expect(sawStop)
    #expect(stopped.record.stepsCompleted == 2)
    let resumed = try Trainer.resume(runPath: root + "/stopped")
    #expect(resumed.record.stepsCompleted == 2)
    try resumed.train(events: { _ in })
    #expect(resumed.isFinished)
    #expect(weights(resumed) == weights(straight), "a resumed run ends with the uninterrupted run's weights")
    #expect(resumed.record.history.count == 2)

    // A finished run resumes to nothing to do.
    let again = try Trainer.resume(runPath: root + "/stopped")
    #expect(again.isFinished)
}

@Test func brokenRunDirectoriesGiveClearErrors() throws {
    let data = try DataSource(parsing: smallConfig(epochs: 1).data).load()
    let root = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let trainer = try Trainer(config: smallConfig(epochs: 1), data: data, runPath: root + "/run")
    try trainer.train(events: { _ in })

    // An existing run is not overwritten by accident.
    #expect(throws: STPError.self) { try Trainer(config: smallConfig(epochs: 1), data: data, runPath: root + "/run") }

    // A truncated checkpoint names the file.
    let checkpoint = root + "/run/" + RunDirectory.File.checkpoint.rawValue
    let bytes = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: checkpoint))
    do {
        _ = try Trainer.resume(runPath: root + "/run")
        Issue.record("a truncated checkpoint must not load")
    } catch let e as STPError {
        #expect(e.message.contains("checkpoint.safetensors"), "\(e.message)")
    }

    // A checkpoint of another model is refused with the tensor named.
    let other = try Trainer(config: { var c = smallConfig(epochs: 1); c.model = "resnet32"; return c }(), data: data,
                            runPath: root + "/other")
    try other.train(events: { _ in })
    try FileManager.default.removeItem(atPath: checkpoint)
    try FileManager.default.copyItem(atPath: root + "/other/" + RunDirectory.File.checkpoint.rawValue, toPath: checkpoint)
    do {
        _ = try Trainer.resume(runPath: root + "/run")
        Issue.record("a mismatched checkpoint must not load")
    } catch let e as STPError {
        #expect(e.message.contains("resnet") || e.message.contains("blocks."), "\(e.message)")
    }

    // Not a run directory at all.
    #expect(throws: STPError.self) { try Trainer.resume(runPath: root + "/missing") }
}

@Test func invalidTrainingOptionsAreRejected() throws {
    var c = smallConfig()
    c.epochs = 0
    #expect(throws: STPError.self) { try c.validate() }
    c = smallConfig()
    c.schedule.base = -1
    #expect(throws: STPError.self) { try c.validate() }
    c = smallConfig()
    c.batchSize = 1
    #expect(throws: STPError.self) { try c.validate() }
}

/// `stp train --run R --overwrite --batch 100000` on a good run R once deleted R's files before
/// the batch size was checked. Now nothing is touched until every check has passed.
@Test func anOverwriteRefusedByItsOptionsKeepsTheOldRun() throws {
    let root = temporaryDirectory("overwrite-refused")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let data = try DataSource(parsing: smallConfig().data).load()
    let good = try Trainer(config: smallConfig(epochs: 1), data: data, runPath: root + "/R")
    try good.train(events: { _ in })
    let files = [RunDirectory.File.checkpoint, .record, .metrics]
    let before = try files.map { try Data(contentsOf: URL(fileURLWithPath: good.runDirectory!.path(of: $0))) }
    var bad = smallConfig(epochs: 1)
    bad.batchSize = 100_000
    let message = errorText { _ = try Trainer(config: bad, data: data, runPath: root + "/R", overwrite: true) }
    #expect(message.contains("--batch 100000"), "\(message)")
    let after = try files.map { try Data(contentsOf: URL(fileURLWithPath: good.runDirectory!.path(of: $0))) }
    #expect(after == before)
    #expect(directoryListing(root + "/R") == ["checkpoint.safetensors", "log.txt", "metrics.jsonl", "run.json"].filter {
        FileManager.default.fileExists(atPath: root + "/R/" + $0) })
    #expect(!FileManager.default.fileExists(atPath: root + "/R/" + RunDirectory.previousRunFolder))
}

/// `stp bench --model resnet50 --input-size 224` once ran ResNet-50 with zero-padding shortcuts
/// (3,727,495,168 MACs) while `stp info` showed torchvision's, with 1x1 projections
/// (4,087,156,736 with 10 classes): by default both now describe the model's own network.
@Test func benchmarkDefaultsToTheModelsOwnNetworkAsInfoDoes() throws {
    for name in ResNetSpec.knownNames {
        var o = BenchmarkOptions()
        o.model = name
        #expect(try o.spec() == ResNetSpec.named(name), "\(name)")
    }
    var o = BenchmarkOptions()
    o.model = "resnet50"; o.classes = 1000
    #expect(o.imageSize == nil && o.shortcut == nil)
    let spec = try o.spec()
    #expect(spec.shortcut == .projection && spec.inputHeight == 224 && spec.inputWidth == 224)
    #expect(ModelSummary(spec: spec).totalMACs == 4_089_184_256)     // torchvision's 4.09 GMACs
    o.imageSize = 224; o.classes = 10
    #expect(ModelSummary(spec: try o.spec()).totalMACs == 4_087_156_736)
    o.shortcut = .zeroPad                                              // still available when asked for
    #expect(ModelSummary(spec: try o.spec()).totalMACs == 3_727_495_168)
    o = BenchmarkOptions()
    #expect(try o.spec().shortcut == .zeroPad && o.spec().inputHeight == 32)
}

@Test func benchmarkRunsEveryModeAndTheStimulativeSubnetKeepsEachStageStart() throws {
    for mode in BenchmarkOptions.Mode.allCases {
        var o = BenchmarkOptions()
        o.batch = 4; o.imageSize = 8; o.iterations = 2; o.warmup = 0; o.mode = mode
        if mode == .search || mode == .latencyModel {
            #expect(throws: STPError.self, "the \(mode) benchmark needs architectures (STPMethod)") { try Benchmark.run(o) }
            continue
        }
        let r = try Benchmark.run(o)
        #expect(r.imagesPerSecond.median > 0 && r.imagesPerSecond.min <= r.imagesPerSecond.max)
        #expect(r.peakRSSMiB > 0 && r.mode == mode.rawValue)
    }
    let spec = try ResNetSpec.named("resnet56")
    var rng = SeededRandom(seed: 1)
    let subnet = Benchmark.halfDepthSubnet(spec, using: &rng)
    #expect(subnet.keep.filter { !$0 }.count == 13)          // floor(27 / 2) blocks dropped
    #expect(subnet.keep[0] && subnet.keep[9] && subnet.keep[18])
}
