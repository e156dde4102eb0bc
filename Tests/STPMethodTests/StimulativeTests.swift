import Foundation
import STPTestSupport
import Testing
@testable import STPEngine
@testable import STPMethod

// Stimulative training: one step equals the sum of separately computed passes, matches PyTorch's
// reference step with a sliced subnet, samples deterministically per step, and resumes exactly.

private func grads(_ model: ResNet) -> [Float] { model.parameters.flatMap { $0.grad.array } }

@Test func stimulativeStepEqualsSeparatePasses() throws {
    let spec = tinyBasicSpec()
    let batch = 6
    let input = gaussians(batch * 8 * 8 * 3, seed: 3)
    let labels = (0..<batch).map { Int32($0 % 3) }
    let subnets = [try Architecture(parsing: "d=1,1,2 w=2|3|4,8").subnet(for: spec),
                   try Architecture(parsing: "d=2,1,1 w=4,1|6|5").subnet(for: spec)]
    for distillation in StimulativeOptions.Distillation.allCases {
        var options = StimulativeOptions()
        options.distillation = distillation
        options.lambda = 0.7
        options.temperature = 2
        let model = ResNet(spec: spec, seed: 4)
        randomizeNormalization(model, seed: 5)
        let objective = try StimulativeObjective(spec: spec, options: options, seed: 1)
        model.zeroGradients()
        let result = input.withUnsafeBufferPointer { objective.step(model: model, pixels: $0.baseAddress!, labels: labels, subnets: subnets) }
        let combined = grads(model)

        // Reference: each pass on its own, gradients summed by hand.
        var reference = [Float](repeating: 0, count: combined.count)
        func add() { let g = grads(model); for i in 0..<g.count { reference[i] += g[i] } }
        var teacher = [Float]()
        model.zeroGradients()
        input.withUnsafeBufferPointer { ip in
            let z = model.forward(ip.baseAddress!, batch: batch, mode: .train(updateRunningStats: true))
            teacher = Array(UnsafeBufferPointer(start: z, count: batch * 3))
            var dz = [Float](repeating: 0, count: batch * 3)
            _ = labels.withUnsafeBufferPointer { lp in dz.withUnsafeMutableBufferPointer { dp in
                crossEntropyForwardBackward(logits: z, labels: lp.baseAddress!, batch: batch, classes: 3, dlogits: dp.baseAddress!)
            } }
            dz.withUnsafeBufferPointer { model.backward($0.baseAddress!) }
        }
        add()
        for subnet in subnets {
            model.zeroGradients()
            input.withUnsafeBufferPointer { ip in
                let z = model.forward(ip.baseAddress!, batch: batch, mode: .train(updateRunningStats: false), subnet: subnet)
                var student = Array(UnsafeBufferPointer(start: z, count: batch * 3))
                var t = teacher
                var ds = [Float](repeating: 0, count: batch * 3)
                if distillation == .kdMinus {
                    // Standardise both rows, distil, and carry the gradient back through the student's.
                    var ts = t, ss = student, invT = [Float](repeating: 0, count: batch), invS = invT
                    t.withUnsafeBufferPointer { tp in ts.withUnsafeMutableBufferPointer { op in invT.withUnsafeMutableBufferPointer { ip in
                        standardizeLogitsForward(tp.baseAddress!, batch: batch, classes: 3, amplitude: 4, out: op.baseAddress!, invStd: ip.baseAddress!)
                    } } }
                    student.withUnsafeBufferPointer { sp in ss.withUnsafeMutableBufferPointer { op in invS.withUnsafeMutableBufferPointer { ip in
                        standardizeLogitsForward(sp.baseAddress!, batch: batch, classes: 3, amplitude: 4, out: op.baseAddress!, invStd: ip.baseAddress!)
                    } } }
                    var dn = [Float](repeating: 0, count: batch * 3)
                    _ = ts.withUnsafeBufferPointer { tp in ss.withUnsafeBufferPointer { sp in dn.withUnsafeMutableBufferPointer { dp in
                        klDivergenceForwardBackward(teacher: tp.baseAddress!, student: sp.baseAddress!, batch: batch, classes: 3,
                                                    temperature: 2, gradScale: 0.7, dstudent: dp.baseAddress!)
                    } } }
                    ss.withUnsafeBufferPointer { sp in invS.withUnsafeBufferPointer { ip in dn.withUnsafeBufferPointer { gp in ds.withUnsafeMutableBufferPointer { dp in
                        standardizeLogitsBackward(out: sp.baseAddress!, invStd: ip.baseAddress!, dout: gp.baseAddress!, batch: batch,
                                                  classes: 3, amplitude: 4, dz: dp.baseAddress!)
                    } } } }
                    _ = t.count; t = ts; student = ss
                } else {
                    _ = t.withUnsafeBufferPointer { tp in ds.withUnsafeMutableBufferPointer { dp in
                        klDivergenceForwardBackward(teacher: tp.baseAddress!, student: z, batch: batch, classes: 3,
                                                    temperature: 2, gradScale: 0.7, dstudent: dp.baseAddress!)
                    } }
                }
                ds.withUnsafeBufferPointer { model.backward($0.baseAddress!) }
            }
            add()
        }
        #expect(result.loss.isFinite && (result.extra["kd"] ?? -1) > 0)
        var worst: Float = 0
        for i in 0..<combined.count { worst = max(worst, abs(combined[i] - reference[i]) / (1e-4 + abs(reference[i]))) }
        #expect(worst < 1e-3, "\(distillation): accumulated gradients differ from the separate passes by \(worst)")
    }
}

@Test(.enabled(if: SharedFiles.available(SharedFiles.fixture("resnet20_stimulative_step.safetensors")),
               "needs the PyTorch fixture ../shared/fixtures/resnet20_stimulative_step.safetensors"))
func stimulativeObjectiveMatchesThePyTorchReferenceStep() throws {
    let path = SharedFiles.fixture("resnet20_stimulative_step.safetensors")
    let file = try SafeTensorsFile.read(path: path)
    let spec = try ResNetSpec.named("resnet20")
    let model = ResNet(spec: spec)
    try ModelState.load(model, optimizer: nil, from: file)
    let nchw = try file.floats("input").values
    var input = [Float](repeating: 0, count: nchw.count)
    for n in 0..<8 { for c in 0..<3 { for y in 0..<32 { for x in 0..<32 {
        input[((n * 32 + y) * 32 + x) * 3 + c] = nchw[((n * 3 + c) * 32 + y) * 32 + x]
    } } } }
    let labels = try file.int32s("labels").values
    let subnet = try Architecture(parsing: "d=2,1,3 w=8,12|16|32,48,64").subnet(for: spec)
    let objective = try StimulativeObjective(spec: spec, options: StimulativeOptions(), seed: 0)
    model.zeroGradients()
    let result = input.withUnsafeBufferPointer { objective.step(model: model, pixels: $0.baseAddress!, labels: labels, subnets: [subnet]) }
    #expect(abs(Double(result.loss) - Double(try file.floats("ce_loss").values[0])) < 1e-4)
    #expect(abs((result.extra["kd"] ?? 0) - Double(try file.floats("kl_loss").values[0])) < 1e-4)
    for p in model.parameters {
        let expected = try file.floats("grad." + p.name).values
        let actual = p.grad.array
        var diff = 0.0, norm = 0.0
        for i in 0..<actual.count { diff += Double(actual[i] - expected[i]) * Double(actual[i] - expected[i]); norm += Double(expected[i] * expected[i]) }
        #expect((diff / max(norm, 1e-30)).squareRoot() < 1e-2, "grad.\(p.name)")
    }
}

@Test func subnetSamplingIsAFunctionOfTheStepAndExpansionStaysInItsWindow() throws {
    let spec = try ResNetSpec.named("resnet20")
    let objective = try StimulativeObjective(spec: spec, options: StimulativeOptions(), seed: 9)
    #expect(objective.sampleArchitectures(step: 17, epoch: 0) == objective.sampleArchitectures(step: 17, epoch: 0))
    let many = (0..<50).map { objective.sampleArchitectures(step: $0, epoch: 0)[0] }
    #expect(Set(many).count > 40)
    for a in many { #expect(objective.space.contains(a)) }

    let target = try Architecture(parsing: "d=2,2,2 w=8,8|16,16|32,32")
    let plan = ExpansionPlan(target: target, startEpoch: 10, endEpoch: 20)
    let targetMACs = objective.space.cost.macs(of: target)
    let full = objective.space.cost.macs(of: objective.space.largest)
    #expect(plan.window(atEpoch: 5, space: objective.space) == targetMACs...full)
    #expect(plan.window(atEpoch: 25, space: objective.space) == targetMACs...Int(1.5 * Double(targetMACs)))
    objective.expansion = plan
    for step in 0..<40 {
        let a = objective.sampleArchitectures(step: step, epoch: 20)[0]
        let macs = objective.space.cost.macs(of: a)
        #expect(macs >= targetMACs && macs <= Int(1.5 * Double(targetMACs)), "step \(step): \(a) has \(macs) MACs")
    }
}

@Test func slimmingAddsTheL1SubgradientOfGamma() throws {
    let spec = tinyBasicSpec()
    let model = ResNet(spec: spec, seed: 2)
    randomizeNormalization(model, seed: 3)
    let input = gaussians(4 * 8 * 8 * 3, seed: 4)
    let labels: [Int32] = [0, 1, 2, 0]
    let step = ObjectiveStep(globalStep: 0, epochProgress: 0, labelSmoothing: 0)
    model.zeroGradients()
    _ = input.withUnsafeBufferPointer { CrossEntropyObjective().accumulateGradients(model: model, pixels: $0.baseAddress!, labels: labels, step: step) }
    let plain = model.batchNormLayers.map { $0.gamma.grad.array }
    model.zeroGradients()
    _ = input.withUnsafeBufferPointer { try! SlimmingObjective(strength: 0.01).accumulateGradients(model: model, pixels: $0.baseAddress!, labels: labels, step: step) }
    for (bn, before) in zip(model.batchNormLayers, plain) {
        for c in 0..<bn.channels {
            let sign: Float = bn.gamma.pointer[c] > 0 ? 1 : -1
            #expect(abs(bn.gamma.grad.pointer[c] - (before[c] + 0.01 * sign)) < 1e-6)
        }
    }
    #expect(throws: STPError.self) { try SlimmingObjective(strength: -1) }
}

@Test func stimulativeRunResumesExactly() throws {
    var config = TrainingConfig()
    config.model = "resnet20"
    config.data = "builtin:seed=3,train=96,test=32"
    config.epochs = 1
    config.batchSize = 32
    config.recalibrationImages = 64
    let data = try DataSource(parsing: config.data).load()
    let root = temporaryDirectory("stimulative-resume")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var method = MethodConfig(kind: .stimulative)
    method.stimulative.subnetsPerStep = 2

    let straight = try Trainer(config: config, data: data, runPath: root + "/straight")
    try MethodTraining.configure(straight, method: method)
    try straight.train(events: { _ in })

    let stopped = try Trainer(config: config, data: data, runPath: root + "/stopped")
    try MethodTraining.configure(stopped, method: method)
    var steps = 0
    try stopped.train(events: { if case .step = $0 { steps += 1 } }, shouldStop: { steps >= 1 })
    let resumed = try MethodTraining.resume(runPath: root + "/stopped")
    #expect(resumed.objective.name == "stimulative")
    try resumed.train(events: { _ in })
    let a = straight.model.parameters.flatMap { $0.value.array }, b = resumed.model.parameters.flatMap { $0.value.array }
    #expect(a == b, "a resumed stimulative run samples the same subnets and ends with the same weights")
    #expect(straight.record.history.last?.testTop1 == resumed.record.history.last?.testTop1)
}
