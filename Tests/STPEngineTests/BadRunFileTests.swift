import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

// Run directories broken as a clumsy user (or a full disk) would break them: every value of
// run.json that a resume reads, and weights no trained network has, are refused with an error
// naming the file, the field or tensor and the value, never a crash, and never an accuracy.
// Each case starts from a tiny valid run saved before its first step (no training needed).

private func tinyConfig() -> TrainingConfig {
    var c = TrainingConfig()
    c.model = "resnet20"
    c.data = "builtin:seed=3,train=96,test=32"
    c.epochs = 2
    c.batchSize = 32            // 3 steps per epoch
    c.schedule = LearningRateSchedule(kind: .cosine, base: 0.05, totalEpochs: 2)
    c.seed = 5
    return c
}

/// A valid run directory at step 0: checkpoint.safetensors and run.json.
private func makeRun(_ label: String = #function) throws -> String {
    let clean = label.filter { $0.isLetter || $0.isNumber }
    let path = NSTemporaryDirectory() + "stp-bad-run-\(clean)-\(UUID().uuidString.prefix(8))"
    let data = try DataSource(parsing: tinyConfig().data).load()
    let trainer = try Trainer(config: tinyConfig(), data: data, runPath: path)
    try trainer.save()
    return path
}

/// Rewrites the run's record and tensors; the checkpoint's metadata follows the record, so that
/// only the checks under test can object.
private func edit(_ run: String, record change: (inout RunRecord) throws -> Void = { _ in },
                  tensors: (inout [SafeTensor]) -> Void = { _ in }) throws {
    let directory = try RunDirectory.open(at: run)
    var (record, checkpoint) = try directory.load()
    try change(&record)
    var all = checkpoint.allTensors
    tensors(&all)
    try directory.save(tensors: all, record: record)
}

/// Rewrites the training configuration inside run.json (NaN written as run.json writes it).
private func editConfig(_ run: String, _ change: @escaping (inout TrainingConfig) -> Void) throws {
    try edit(run, record: { record in
        var config = try TrainingConfig.fromJSON(record.configuration[Trainer.configKey]!, source: "run.json")
        change(&config)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        record.configuration[Trainer.configKey] = String(decoding: try encoder.encode(config), as: UTF8.self)
    })
}

/// Sets element `index` of float32 tensor `name` to `value`.
private func setElement(_ tensors: inout [SafeTensor], _ name: String, _ index: Int, _ value: Float) {
    let i = tensors.firstIndex { $0.name == name }!
    withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes in
        for (k, b) in bytes.enumerated() { tensors[i].bytes[4 * index + k] = b }
    }
}

private func resumeError(_ run: String) -> String {
    errorText { _ = try Trainer.resume(runPath: run) }
}

private func evalError(_ run: String) -> String {
    errorText { _ = try EvalJob.run(EvalJobOptions(runPath: run)) }
}

@Test func theValidRunResumesAndEvaluates() throws {
    let run = try makeRun()
    defer { try? FileManager.default.removeItem(atPath: run) }
    let trainer = try Trainer.resume(runPath: run)
    #expect(trainer.record.stepsCompleted == 0 && trainer.stepsPerEpoch == 3)
    #expect(try EvalJob.run(EvalJobOptions(runPath: run)).result.count == 32)
}

@Test func aBatchOfZeroIsRefusedNotADivisionByZero() throws {
    let run = try makeRun()
    defer { try? FileManager.default.removeItem(atPath: run) }
    try editConfig(run) { $0.batchSize = 0 }
    let zero = resumeError(run)
    #expect(zero == run + "/run.json: training_config.batchSize is 0; expected at least 2, for batch statistics", "\(zero)")
    try editConfig(run) { $0.batchSize = 1000 }
    let large = resumeError(run)
    #expect(large.hasPrefix(run + "/run.json: training_config.batchSize is 1000; expected at most the 96 training images"), "\(large)")
}

@Test func negativeHugeAndMismatchedEpochsAreRefused() throws {
    let run = try makeRun()
    defer { try? FileManager.default.removeItem(atPath: run) }
    try editConfig(run) { $0.epochs = -3 }
    let negative = resumeError(run)
    #expect(negative.hasPrefix(run + "/run.json: training_config.epochs is -3; expected a number of epochs from 1 to"), "\(negative)")
    try editConfig(run) { $0.epochs = 1 << 60 }
    let huge = resumeError(run)
    #expect(huge.contains("training_config.epochs is \(1 << 60);"), "\(huge)")
    try editConfig(run) { $0.epochs = 3 }
    let mismatch = resumeError(run)
    #expect(mismatch == run + "/run.json: totalEpochs is 2 but training_config.epochs is 3; expected the same number", "\(mismatch)")
    try editConfig(run) { $0.epochs = 2 }
    try edit(run, record: { $0.epochsCompleted = 5 })
    let completed = resumeError(run)
    #expect(completed.contains("run.json: epochsCompleted is 5; expected 0 to 2"), "\(completed)")
}

@Test func stepsBeyondTheEpochsOrDisagreeingWithThemAreRefused() throws {
    let run = try makeRun()
    defer { try? FileManager.default.removeItem(atPath: run) }
    try edit(run, record: { $0.stepsCompleted = 1000 })
    let beyond = resumeError(run)
    #expect(beyond == run + "/run.json: stepsCompleted is 1000; expected 0 to 6 (2 epochs of 3 steps)", "\(beyond)")
    try edit(run, record: { $0.stepsCompleted = -1 })
    #expect(resumeError(run).contains("stepsCompleted is -1;"))
    try edit(run, record: { $0.stepsCompleted = 4; $0.epochsCompleted = 0 })
    let disagree = resumeError(run)
    #expect(disagree.contains("epochsCompleted is 0 but stepsCompleted 4 at 3 steps per epoch makes 1 whole epoch;"), "\(disagree)")
    try edit(run, record: { $0.epochsCompleted = 1 })
    #expect(try Trainer.resume(runPath: run).record.stepsCompleted == 4, "a consistent mid-epoch record resumes")
}

@Test func aNonPositiveOrNaNLearningRateIsRefused() throws {
    let run = try makeRun()
    defer { try? FileManager.default.removeItem(atPath: run) }
    for (value, text) in [(Float(0), "0.0"), (-0.1, "-0.1"), (.nan, "nan"), (.infinity, "inf")] {
        try editConfig(run) { $0.schedule.base = value }
        let message = resumeError(run)
        #expect(message == run + "/run.json: training_config.schedule.base is \(text); expected a positive finite number", "\(message)")
    }
    // The other numbers a resume trains with.
    try editConfig(run) { $0.schedule.base = 0.05; $0.optimizer.momentum = .nan }
    #expect(resumeError(run).contains("training_config.optimizer.momentum is nan; expected a number in [0, 1)"))
    try editConfig(run) { $0.optimizer.momentum = 0.9; $0.augmentation.cropPadding = -4 }
    #expect(resumeError(run).contains("training_config.augmentation.cropPadding is -4;"))
}

@Test func anInvalidNormalisationIsRefusedByResumeAndEval() throws {
    let run = try makeRun()
    defer { try? FileManager.default.removeItem(atPath: run) }
    let cases = [
        (#"{"mean":[0.5,0.5,0.5],"std":[0.25,0,0.25]}"#, "std[1] is 0.0; expected a positive finite standard deviation"),
        (#"{"mean":["nan",0.5,0.5],"std":[0.25,0.25,0.25]}"#, "mean[0] is nan; expected a finite number"),
        (#"{"mean":[0.5,0.5],"std":[0.25,0.25]}"#, "it has 2 channels but the images have 3"),
        (#"{"mean":[0.5,0.5,0.5],"std":[0.25,0.25]}"#, "3 means but 2 standard deviations"),
    ]
    for (i, (text, problem)) in cases.enumerated() {
        try edit(run, record: { $0.configuration[Trainer.normalizationKey] = text })
        let resumed = resumeError(run)
        #expect(resumed.hasPrefix(run + "/run.json: 'normalization' is \(text): ") && resumed.contains(problem), "\(resumed)")
        if i < 2 {
            let evaluated = evalError(run)
            #expect(evaluated.hasPrefix(run + "/run.json: 'normalization' is \(text): ") && evaluated.contains(problem), "\(evaluated)")
        }
    }
    try edit(run, record: { $0.configuration[Trainer.normalizationKey] = "mean 0.5" })
    let unreadable = evalError(run)
    #expect(unreadable.hasPrefix(run + "/run.json: 'normalization' is mean 0.5, not a readable mean and std"), "\(unreadable)")
}

@Test func aMalformedRNGStateIsRefused() throws {
    let run = try makeRun()
    defer { try? FileManager.default.removeItem(atPath: run) }
    try edit(run, record: { $0.rng.state = [1, 2, 3] })
    let short = resumeError(run)
    #expect(short == run + "/run.json: rng.state has 3 words [1, 2, 3]; expected the 4 words of a xoshiro256** state", "\(short)")
    try edit(run, record: { $0.rng.state = [0, 0, 0, 0] })
    #expect(resumeError(run).contains("rng.state is all zeros"))
}

@Test func anUnparseableDataSpecOrAnotherModelIsRefused() throws {
    let run = try makeRun()
    defer { try? FileManager.default.removeItem(atPath: run) }
    try editConfig(run) { $0.data = "nonsense:xyz" }
    let resumed = resumeError(run)
    #expect(resumed.hasPrefix(run + "/run.json: training_config.data is \"nonsense:xyz\", not a data spec stp reads: unknown data set 'nonsense'"),
            "\(resumed)")
    #expect(evalError(run) == resumed, "eval reads the same spec")
    try editConfig(run) { $0.data = "builtin:train=0" }
    #expect(resumeError(run).contains("training_config.data is \"builtin:train=0\", not a data spec stp reads: train '0' is not an image count"))
    // stp eval --data replaces the recorded spec: its own errors are the option's.
    var options = EvalJobOptions(runPath: run)
    options.data = "nonsense"
    #expect(errorText { _ = try EvalJob.run(options) }.hasPrefix("--data nonsense: unknown data set"))

    try editConfig(run) { $0.data = tinyConfig().data; $0.model = "resnet99" }
    #expect(resumeError(run).contains("training_config.model is resnet99; expected one of resnet20, "))
    try editConfig(run) { $0.model = "resnet32" }
    #expect(resumeError(run) == run + "/run.json: training_config.model is resnet32 but model.name is resnet20; expected the same model")
}

@Test func nonFiniteWeightsAreRefusedAtLoadNotEvaluatedToAPerfectScore() throws {
    let run = try makeRun()
    defer { try? FileManager.default.removeItem(atPath: run) }
    let checkpoint = run + "/checkpoint.safetensors"
    try edit(run, tensors: { setElement(&$0, "conv1.weight", 5, .nan) })
    let evaluated = evalError(run)
    #expect(evaluated == checkpoint + ": tensor \"conv1.weight\" element 5 is nan (1 of 432 elements are not finite); weights and running statistics must be finite numbers, this network is broken",
            "\(evaluated)")
    #expect(resumeError(run) == evaluated)

    // The momentum matters to a resume only.
    try edit(run, tensors: {
        setElement(&$0, "conv1.weight", 5, 0.1)
        setElement(&$0, ModelState.velocityPrefix + "fc.bias", 0, -.infinity)
    })
    #expect(try EvalJob.run(EvalJobOptions(runPath: run)).result.count == 32)
    let momentum = resumeError(run)
    #expect(momentum.contains("tensor \"optimizer.velocity.fc.bias\" element 0 is -inf") && momentum.contains("the optimizer's momentum must be finite"),
            "\(momentum)")
}

@Test func aNegativeRunningVarianceIsRefusedAtLoad() throws {
    let run = try makeRun()
    defer { try? FileManager.default.removeItem(atPath: run) }
    try edit(run, tensors: { setElement(&$0, "bn1.running_var", 2, -0.5) })
    let evaluated = evalError(run)
    #expect(evaluated == run + "/checkpoint.safetensors: tensor \"bn1.running_var\" element 2 is -0.5 (1 of 16 elements are negative); a running variance cannot be negative",
            "\(evaluated)")
    #expect(resumeError(run) == evaluated)
    // --init reads the network through the same check.
    var config = tinyConfig()
    config.initialWeights = run
    let data = try DataSource(parsing: config.data).load()
    #expect(errorText { _ = try Trainer(config: config, data: data, runPath: nil) } == evaluated)
}

@Test func evalReadsOnlyWhatItNeedsSoAnImportedModelWithZeroEpochsEvaluates() throws {
    // stp import writes epochs 0 and no progress: not resumable, but evaluable.
    let run = try makeRun()
    defer { try? FileManager.default.removeItem(atPath: run) }
    try editConfig(run) { $0.epochs = 0 }
    try edit(run, record: { $0.totalEpochs = 0 })
    #expect(resumeError(run).contains("training_config.epochs is 0;"))
    #expect(try EvalJob.run(EvalJobOptions(runPath: run)).result.count == 32)
}

@Test func aNaNLogitNeverCountsAsCorrect() {
    // 4 classes; every row's label is class 0, whose logit is the largest where it is a number.
    let nan = Float.nan
    let logits: [Float] = [
        3, 1, 0, -1,        // correct
        nan, 1, 0, -1,      // NaN at the label
        3, nan, 0, -1,      // NaN elsewhere: no ranking
        nan, nan, nan, nan, // all NaN
        -1, 3, 2, 1,        // wrong for top-1, correct for top-4
    ]
    let labels = [Int32](repeating: 0, count: 5)
    logits.withUnsafeBufferPointer { z in
        labels.withUnsafeBufferPointer { y in
            #expect(topKCorrect(logits: z.baseAddress!, labels: y.baseAddress!, batch: 5, classes: 4, k: 1) == 1)
            #expect(topKCorrect(logits: z.baseAddress!, labels: y.baseAddress!, batch: 5, classes: 4, k: 4) == 2)
        }
    }
}

@Test func aNetworkComputingNaNEvaluatesToZeroAccuracy() throws {
    let data = try DataSource(parsing: "builtin:seed=3,train=16,test=16").load()
    let model = ResNet(spec: try tinyConfig().modelSpec(for: data.test), seed: 1)
    model.fc.bias.pointer[0] = .nan
    model.fc.bias.markChanged()
    let loader = BatchLoader.evaluation(dataset: data.test, batchSize: 16, normalization: Normalization.compute(from: data.train))
    let result = evaluate(model, loader: loader)
    #expect(result.top1 == 0 && result.top5 == 0 && result.loss.isNaN, "\(result)")
}
