import STPEngine

// Stimulative training (METHOD.md section 3): one step is the full network's cross-entropy plus,
// for each of K sampled subnets, lambda * T^2 * KL(softmax(teacher / T) || softmax(subnet / T)),
// where the teacher is the full network's logits of the same batch (no gradient). All passes use
// batch statistics; the gradients of the K + 1 passes accumulate into the shared weights before
// one SGD step. Subnet passes do not update the running statistics (they would mix every
// architecture's statistics into the full network's; evaluation recalibrates instead).
//
// Options marked [ours] in METHOD.md are named here with their defaults:
//   distillation .kd (plain) or .kdMinus (both logit rows standardised, times amplitude A = 4)
//   sampling .uniform (per gene) or .flopsStratified (a FLOPs level first, then an architecture)
//   subnet mutating expansion: after a search, subnets are the target and its mutations (p = 0.25)
//   within a FLOPs range that shrinks linearly from [target, full] to [target, 1.5 x target].

public struct StimulativeOptions: Codable, Sendable, Equatable {
    public enum Distillation: String, Codable, Sendable, CaseIterable {
        case kd
        case kdMinus = "kd-"
    }
    public enum Sampling: String, Codable, Sendable, CaseIterable {
        case uniform
        case flopsStratified = "flops"
    }
    public var subnetsPerStep: Int = 1
    public var lambda: Float = 1
    public var temperature: Float = 1
    public var distillation: Distillation = .kd
    public var amplitude: Float = 4
    public var sampling: Sampling = .uniform
    public var space = ArchitectureSpaceOptions()

    public init() {}

    public func validate() throws {
        guard subnetsPerStep >= 1 else { throw STPError(.argument, "--subnets must be at least 1 (got \(subnetsPerStep))") }
        guard lambda >= 0, lambda.isFinite else { throw STPError(.argument, "--kd-lambda must be a non-negative number") }
        guard temperature > 0, temperature.isFinite else { throw STPError(.argument, "--temperature must be positive") }
        guard amplitude > 0, amplitude.isFinite else { throw STPError(.argument, "--amplitude must be positive") }
    }
}

/// The architectures that subnet mutating expansion samples from (METHOD.md section 7).
public struct ExpansionPlan: Codable, Sendable, Equatable {
    public var target: Architecture
    public var mutationProbability: Double = 0.25
    /// Epochs over which the upper FLOPs bound shrinks from the full network to 1.5 x target.
    public var startEpoch: Double
    public var endEpoch: Double
    public var finalUpperFactor: Double = 1.5

    public init(target: Architecture, startEpoch: Double, endEpoch: Double) {
        self.target = target
        self.startEpoch = startEpoch
        self.endEpoch = endEpoch
    }

    /// The allowed FLOPs range of mutants at training progress `epoch`.
    public func window(atEpoch epoch: Double, space: ArchitectureSpace) -> ClosedRange<Int> {
        let target = space.cost.macs(of: self.target)
        let full = space.cost.macs(of: space.largest)
        let t = endEpoch > startEpoch ? min(max((epoch - startEpoch) / (endEpoch - startEpoch), 0), 1) : 1
        let finalUpper = min(Double(full), finalUpperFactor * Double(target))
        let upper = Double(full) + (finalUpper - Double(full)) * t
        return target...max(target, Int(upper))
    }
}

public final class StimulativeObjective: TrainingObjective, @unchecked Sendable {
    public let name = "stimulative"
    public let options: StimulativeOptions
    public let space: ArchitectureSpace
    public let seed: UInt64
    /// When set, subnets come from the expansion plan instead of the whole space.
    public var expansion: ExpansionPlan?
    /// How often each block was kept and each (block, width) was sampled: for the explorer.
    public private(set) var blockSampleCounts: [Int]
    public private(set) var widthSampleCounts: [[Int: Int]]

    private let dlogits = FloatBuffer(), teacher = FloatBuffer(), dstudent = FloatBuffer()
    private let normTeacher = FloatBuffer(), normStudent = FloatBuffer(), dnorm = FloatBuffer()
    private let invTeacher = FloatBuffer(), invStudent = FloatBuffer()

    public init(spec: ResNetSpec, options: StimulativeOptions, seed: UInt64) throws {
        try options.validate()
        self.options = options
        self.space = try ArchitectureSpace(spec: spec, options: options.space)
        self.seed = seed
        blockSampleCounts = Array(repeating: 0, count: spec.blockCount)
        widthSampleCounts = Array(repeating: [:], count: spec.blockCount)
    }

    /// The subnets of global step `step`: a function of the seed and the step alone.
    public func sampleArchitectures(step: Int, epoch: Double) -> [Architecture] {
        var rng = SeededRandom(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(step) &+ 0x5851_F42D)
        return (0..<options.subnetsPerStep).map { _ in
            if let plan = expansion {
                let window = plan.window(atEpoch: epoch, space: space)
                let mutant = space.mutate(plan.target, probability: plan.mutationProbability, using: &rng)
                return space.fit(mutant, into: window, using: &rng) ?? plan.target
            }
            switch options.sampling {
            case .uniform: return space.randomArchitecture(using: &rng)
            case .flopsStratified: return space.stratifiedArchitecture(using: &rng)
            }
        }
    }

    public func accumulateGradients(model: ResNet, pixels: UnsafePointer<Float>, labels: [Int32], step: ObjectiveStep) -> ObjectiveResult {
        let archs = sampleArchitectures(step: step.globalStep, epoch: step.epochProgress)
        let subnets = archs.map { (try? $0.subnet(for: model.spec)) ?? SubnetSelection.full(model.spec) }
        record(archs, spec: model.spec)
        return self.step(model: model, pixels: pixels, labels: labels, subnets: subnets, labelSmoothing: step.labelSmoothing)
    }

    /// The passes of one step with the given subnets (tests call it with fixed subnets).
    public func step(model: ResNet, pixels: UnsafePointer<Float>, labels: [Int32], subnets: [SubnetSelection],
                     labelSmoothing: Float = 0) -> ObjectiveResult {
        var result = crossEntropyPass(model: model, pixels: pixels, labels: labels, labelSmoothing: labelSmoothing, dlogits: dlogits)
        let n = labels.count, k = model.spec.classes
        let t = teacher.ensure(count: n * k)
        t.update(from: model.lastLogits, count: n * k)
        var kdSum = 0.0, subnetLossSum = 0.0, subnetCorrect = 0
        if options.distillation == .kdMinus {
            standardizeLogitsForward(t, batch: n, classes: k, amplitude: options.amplitude,
                                     out: normTeacher.ensure(count: n * k), invStd: invTeacher.ensure(count: n))
        }
        for subnet in subnets {
            let z = model.forward(pixels, batch: n, mode: .train(updateRunningStats: false), subnet: subnet)
            // The subnet's own cross-entropy and top-1 against the labels (no gradient): the
            // explorer's training curves show how the sampled subnets learn, not only the KD loss.
            labels.withUnsafeBufferPointer { lp in
                subnetLossSum += Double(crossEntropyForwardBackward(logits: z, labels: lp.baseAddress!, batch: n, classes: k, dlogits: nil))
                subnetCorrect += topKCorrect(logits: z, labels: lp.baseAddress!, batch: n, classes: k, k: 1)
            }
            let ds = dstudent.ensure(count: n * k)
            switch options.distillation {
            case .kd:
                kdSum += Double(klDivergenceForwardBackward(teacher: t, student: z, batch: n, classes: k,
                                                            temperature: options.temperature, gradScale: options.lambda,
                                                            dstudent: ds))
            case .kdMinus:
                let s = normStudent.ensure(count: n * k)
                standardizeLogitsForward(z, batch: n, classes: k, amplitude: options.amplitude, out: s,
                                         invStd: invStudent.ensure(count: n))
                let dn = dnorm.ensure(count: n * k)
                kdSum += Double(klDivergenceForwardBackward(teacher: normTeacher.pointer, student: s, batch: n, classes: k,
                                                            temperature: options.temperature, gradScale: options.lambda,
                                                            dstudent: dn))
                standardizeLogitsBackward(out: s, invStd: invStudent.pointer, dout: dn, batch: n, classes: k,
                                          amplitude: options.amplitude, dz: ds)
            }
            model.backward(ds)
        }
        result.extra["kd"] = kdSum / Double(max(subnets.count, 1))
        if !subnets.isEmpty {
            result.extra["subnet_loss"] = subnetLossSum / Double(subnets.count)
            result.extra["subnet_top1"] = Double(subnetCorrect) / Double(subnets.count * max(n, 1))
        }
        return result
    }

    private func record(_ archs: [Architecture], spec: ResNetSpec) {
        var b = 0
        for a in archs {
            b = 0
            for (s, n) in spec.blocksPerStage.enumerated() {
                for i in 0..<n {
                    if i < a.depths[s] {
                        blockSampleCounts[b] += 1
                        widthSampleCounts[b][a.widths[s][i], default: 0] += 1
                    }
                    b += 1
                }
            }
        }
    }
}

/// The suppressed-paradigm baseline ("network slimming", METHOD.md section 5): cross-entropy plus
/// s * sum |gamma| over every BN layer, whose subgradient s * sign(gamma) is added after the pass.
public final class SlimmingObjective: TrainingObjective, @unchecked Sendable {
    public let name = "slimming"
    public let strength: Float
    private let dlogits = FloatBuffer()

    public init(strength: Float = 1e-4) throws {
        guard strength >= 0, strength.isFinite else { throw STPError(.argument, "--slimming must be a non-negative number") }
        self.strength = strength
    }

    public func accumulateGradients(model: ResNet, pixels: UnsafePointer<Float>, labels: [Int32], step: ObjectiveStep) -> ObjectiveResult {
        var result = crossEntropyPass(model: model, pixels: pixels, labels: labels, labelSmoothing: step.labelSmoothing, dlogits: dlogits)
        var penalty = 0.0
        for bn in model.batchNormLayers {
            let g = bn.gamma.pointer, dg = bn.gamma.grad.pointer
            for c in 0..<bn.channels {
                penalty += Double(abs(g[c]))
                dg[c] += g[c] > 0 ? strength : (g[c] < 0 ? -strength : 0)
            }
        }
        result.extra["l1"] = Double(strength) * penalty
        return result
    }
}
