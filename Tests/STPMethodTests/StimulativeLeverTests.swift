import Foundation
import STPTestSupport
import Testing
@testable import STPEngine
@testable import STPMethod

// The options of issue 26's levers: a frozen teacher is what the subnets distil from and is never
// updated, the full network's loss is what the option says, budget sampling stays in its windows
// (the smallest among them under the sandwich rule), and bad combinations are refused by name.

private func grads(_ model: ResNet) -> [Float] { model.parameters.flatMap { $0.grad.array } }
private func values(_ model: ResNet) -> [Float] {
    model.parameters.flatMap { $0.value.array } + model.stateBuffers.flatMap { $0.value.array }
}

/// The gradient of KD(teacher || network at `subnet`) on `input`, summed into `into`.
private func addKDGradient(_ model: ResNet, _ input: [Float], batch: Int, teacher: [Float], subnet: SubnetSelection?,
                           mode: NormalizationMode, into: inout [Float]) {
    model.zeroGradients()
    input.withUnsafeBufferPointer { ip in
        let z = model.forward(ip.baseAddress!, batch: batch, mode: mode, subnet: subnet)
        var ds = [Float](repeating: 0, count: batch * 3)
        _ = teacher.withUnsafeBufferPointer { tp in ds.withUnsafeMutableBufferPointer { dp in
            klDivergenceForwardBackward(teacher: tp.baseAddress!, student: z, batch: batch, classes: 3,
                                        temperature: 2, gradScale: 0.5, dstudent: dp.baseAddress!)
        } }
        ds.withUnsafeBufferPointer { model.backward($0.baseAddress!) }
    }
    let g = grads(model)
    for i in 0..<g.count { into[i] += g[i] }
}

@Test(arguments: [StimulativeOptions.FullNetworkLoss.kd, .none, .ce])
func aFrozenTeacherStepIsKDTowardTheTeachersEvalLogits(full: StimulativeOptions.FullNetworkLoss) throws {
    let spec = tinyBasicSpec()
    let batch = 5
    let input = gaussians(batch * 8 * 8 * 3, seed: 13)
    let labels = (0..<batch).map { Int32($0 % 3) }
    let subnets = [try Architecture(parsing: "d=1,1,2 w=2|3|4,8").subnet(for: spec)]
    var options = StimulativeOptions()
    options.teacher = .frozen
    options.fullNetworkLoss = full
    options.lambda = 0.5
    options.temperature = 2
    let model = ResNet(spec: spec, seed: 4)
    randomizeNormalization(model, seed: 5)
    let teacher = ResNet(spec: spec, seed: 8)
    randomizeNormalization(teacher, seed: 9)
    let teacherBefore = values(teacher)
    let objective = try StimulativeObjective(spec: spec, options: options, seed: 1)
    objective.teacherNetwork = teacher
    model.zeroGradients()
    let result = input.withUnsafeBufferPointer { objective.step(model: model, pixels: $0.baseAddress!, labels: labels, subnets: subnets) }
    let combined = grads(model)
    #expect(values(teacher) == teacherBefore, "the teacher's weights and running statistics are never touched")
    #expect(teacher.parameters.allSatisfy { $0.grad.array.allSatisfy { $0 == 0 } }, "no gradient reaches the teacher")

    // Reference: the teacher's logits in eval mode (its own running statistics), then each pass.
    let t = input.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: teacher.forward($0.baseAddress!, batch: batch, mode: .eval), count: batch * 3)) }
    var reference = [Float](repeating: 0, count: combined.count)
    switch full {
    case .kd: addKDGradient(model, input, batch: batch, teacher: t, subnet: nil, mode: .train(updateRunningStats: false), into: &reference)
    case .ce:
        model.zeroGradients()
        _ = input.withUnsafeBufferPointer { crossEntropyPass(model: model, pixels: $0.baseAddress!, labels: labels, labelSmoothing: 0, dlogits: FloatBuffer()) }
        let g = grads(model)
        for i in 0..<g.count { reference[i] += g[i] }
    case .none: break
    }
    for subnet in subnets {
        addKDGradient(model, input, batch: batch, teacher: t, subnet: subnet, mode: .train(updateRunningStats: false), into: &reference)
    }
    var diff = 0.0, norm = 0.0
    for i in 0..<combined.count {
        diff += Double(combined[i] - reference[i]) * Double(combined[i] - reference[i])
        norm += Double(reference[i]) * Double(reference[i])
    }
    #expect(norm > 0)
    #expect((diff / norm).squareRoot() < 1e-5, "relative gradient difference \((diff / norm).squareRoot())")
    if full == .none {
        // Only the subnet trains: the full network's figures are the teacher's (no full pass).
        let ce = labels.withUnsafeBufferPointer { crossEntropyForwardBackward(logits: t, labels: $0.baseAddress!, batch: batch, classes: 3, dlogits: nil) }
        #expect(abs(result.loss - ce) < 1e-6)
    }
}

@Test func aFrozenTeacherRunStartsFromTheInitNetworkAndItsTeacherStaysIt() throws {
    var config = TrainingConfig()
    config.model = "resnet20"
    config.data = "builtin:seed=3,train=96,test=32"
    config.epochs = 1
    config.batchSize = 32
    config.recalibrationImages = 0
    let data = try DataSource(parsing: config.data).load()
    let root = temporaryDirectory("frozen-teacher")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let source = try Trainer(config: config, data: data, runPath: root + "/source")
    try source.train(events: { _ in })
    let trained = values(source.model)

    var method = MethodConfig(kind: .stimulative)
    method.stimulative.teacher = .frozen
    let scratch = try Trainer(config: config, data: data, runPath: root + "/scratch")
    #expect(throws: STPError.self, "--teacher frozen without --init is refused") { try MethodTraining.configure(scratch, method: method) }

    var fromTrained = config
    fromTrained.initialWeights = root + "/source"
    let run = try Trainer(config: fromTrained, data: data, runPath: root + "/run")
    try MethodTraining.configure(run, method: method)
    let teacher = try #require((run.objective as? StimulativeObjective)?.teacherNetwork)
    #expect(values(teacher) == trained)
    try run.train(events: { _ in })
    #expect(values(teacher) == trained, "three steps later the teacher is still the --init network")
    #expect(values(run.model) != trained, "while the supernet trained")
    // A resumed run reads its teacher from the --init file again, not from its own checkpoint.
    let resumed = try MethodTraining.resume(runPath: root + "/run")
    #expect(values(try #require((resumed.objective as? StimulativeObjective)?.teacherNetwork)) == trained)
}

@Test func budgetSamplingStaysInsideTheBudgetsWindowsWithTheSmallestAlwaysDrawn() throws {
    let spec = try ResNetSpec.named("resnet20")
    let space = try ArchitectureSpace(spec: spec)
    let budgets = try ["50%", "85%", "70%"].map { try Budget.resolve($0, for: space) }
    var options = StimulativeOptions()
    options.sampling = .budget
    options.focusSpread = 0.1
    options = try options.focused(on: budgets, space: space)
    #expect(options.focusWindows.count == 3)
    #expect(options.focusWindows.map(\.lower) == options.focusWindows.map(\.lower).sorted(), "smallest first")
    let smallestTarget = try #require(budgets[1].targetMACs)
    #expect(options.focusWindows[0] == .init(lower: Int((Double(smallestTarget) * 0.9).rounded()), upper: Int((Double(smallestTarget) * 1.1).rounded())))
    for k in [1, 2, 3] {
        options.subnetsPerStep = k
        let objective = try StimulativeObjective(spec: spec, options: options, seed: 4)
        var hits = [Int](repeating: 0, count: 3)
        for step in 0..<30 {
            let archs = objective.sampleArchitectures(step: step, epoch: 0)
            #expect(archs.count == k)
            for (j, a) in archs.enumerated() {
                let macs = space.cost.macs(of: a)
                let w = try #require(options.focusWindows.firstIndex { $0.range.contains(macs) }, "step \(step): \(a) has \(macs) MACs, outside every window")
                hits[w] += 1
                if k >= 2 && j == 0 { #expect(w == 0, "the sandwich rule: the first subnet is the smallest budget's") }
            }
        }
        #expect(hits.allSatisfy { $0 > 0 }, "every budget's window is sampled (k = \(k)): \(hits)")
    }
}

@Test func badLeverCombinationsAreRefusedNamingTheOption() throws {
    let spec = try ResNetSpec.named("resnet20")
    let space = try ArchitectureSpace(spec: spec)
    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return "\(error)" }
    }
    var live = StimulativeOptions()
    live.fullNetworkLoss = .kd
    #expect(message { try live.validate() }.contains("--full-network kd needs --teacher frozen"))
    var noWindows = StimulativeOptions()
    noWindows.sampling = .budget
    #expect(message { try noWindows.validate() }.contains("--sampling budget"))
    var spread = StimulativeOptions()
    spread.focusSpread = 1.5
    #expect(message { try spread.validate() }.contains("--focus-spread"))
    var outside = StimulativeOptions()
    outside.sampling = .budget
    outside.focusWindows = [.init(lower: 100, upper: 200)]
    #expect(message { _ = try StimulativeObjective(spec: spec, options: outside, seed: 0) }.contains("outside the space"))
    var latency = StimulativeOptions()
    latency.sampling = .budget
    #expect(try latency.focused(on: [try Budget.resolve("70%", for: space)], space: space).focusWindows.count == 1)
}

@Test func optionsRecordedBeforeTheLeversExistedStillDecode() throws {
    // Today's encoding without the keys the levers added: what a run.json of an earlier stp holds.
    var object = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(StimulativeOptions())) as? [String: Any])
    for key in ["teacher", "fullNetworkLoss", "focusWindows", "focusSpread"] { #expect(object.removeValue(forKey: key) != nil) }
    let old = try JSONSerialization.data(withJSONObject: object)
    let decoded = try JSONDecoder().decode(StimulativeOptions.self, from: old)
    #expect(decoded.teacher == .live && decoded.fullNetworkLoss == .ce && decoded.focusWindows.isEmpty)
}

@Test func fineTuningTrainsTheTargetAloneByKDFromTheTeacher() throws {
    let spec = tinyBasicSpec()
    let batch = 4
    let input = gaussians(batch * 8 * 8 * 3, seed: 21)
    let labels = (0..<batch).map { Int32($0 % 3) }
    let target = try Architecture(parsing: "d=1,1,1 w=2|3|4")
    var options = StimulativeOptions()
    options.lambda = 0.5
    options.temperature = 2
    options.subnetsPerStep = 3
    let model = ResNet(spec: spec, seed: 4)
    randomizeNormalization(model, seed: 5)
    let objective = try StimulativeObjective(spec: spec, options: options, seed: 1)
    objective.fineTuneTarget = target
    objective.expansion = ExpansionPlan(target: try Architecture(parsing: "d=2,1,2 w=4,4|6|8,8"), startEpoch: 0, endEpoch: 1)
    #expect(objective.sampleArchitectures(step: 3, epoch: 0.5) == [target], "the target alone, whatever K and the expansion say")
    model.zeroGradients()
    let step = ObjectiveStep(globalStep: 3, epochProgress: 0.5, labelSmoothing: 0)
    let result = input.withUnsafeBufferPointer { objective.accumulateGradients(model: model, pixels: $0.baseAddress!, labels: labels, step: step) }
    let combined = grads(model)
    // Reference: the live teacher is the full network (batch statistics, no gradient); one KD pass of the target.
    let t = input.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: model.forward($0.baseAddress!, batch: batch, mode: .train(updateRunningStats: false)), count: batch * 3)) }
    var reference = [Float](repeating: 0, count: combined.count)
    addKDGradient(model, input, batch: batch, teacher: t, subnet: try target.subnet(for: spec), mode: .train(updateRunningStats: false), into: &reference)
    #expect(combined == reference)
    // Blocks the target drops get no gradient: only the extracted network is trained.
    let dropped = model.blocks[1]
    #expect(dropped.allUnits.allSatisfy { $0.conv.weight.grad.array.allSatisfy { $0 == 0 } })
    // The figures are the target's own.
    let z = input.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: model.forward($0.baseAddress!, batch: batch, mode: .train(updateRunningStats: false), subnet: try! target.subnet(for: spec)), count: batch * 3)) }
    let ce = labels.withUnsafeBufferPointer { lp in z.withUnsafeBufferPointer { crossEntropyForwardBackward(logits: $0.baseAddress!, labels: lp.baseAddress!, batch: batch, classes: 3, dlogits: nil) } }
    #expect(abs(result.loss - ce) < 1e-5)
}

@Test func badFineTuneOptionsAreRefusedBeforeAnyWork() throws {
    let root = temporaryDirectory("finetune-options")
    defer { try? FileManager.default.removeItem(atPath: root) }
    func message(_ change: (inout PruneOptions) -> Void) -> String {
        var o = tinyOptions(.stp, output: root + "/out")
        change(&o)
        return errorText { _ = try PrunePipeline.runAll(o, console: Console(fileDescriptor: 2, isTerminal: false)) }
    }
    #expect(message { $0.finetuneEpochs = -1 }.contains("--finetune must be 0"))
    #expect(message { $0.finetuneEpochs = 2 }.contains("--finetune 2 must leave epochs"))
    #expect(message { $0.finetuneEpochs = 1; $0.methods = [.stp, .uniform] }.contains("--method stp alone"))
    #expect(!FileManager.default.fileExists(atPath: root + "/out"), "nothing was written")
}
