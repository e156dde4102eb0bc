import STPEngine

// Stimulative training (METHOD.md section 3): one step is the full network's cross-entropy plus,
// for each of K sampled subnets, lambda * T^2 * KL(softmax(teacher / T) || softmax(subnet / T)),
// where the teacher is the full network's logits of the same batch (no gradient), or with
// `--teacher frozen` a fixed copy of the --init network in eval mode. All passes use
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
    /// How subnets are drawn outside subnet mutating expansion: per gene over the whole space, a
    /// FLOPs level first, or inside the windows around the user's budgets (`focusWindows`).
    public enum Sampling: String, Codable, Sendable, CaseIterable {
        case uniform
        case flopsStratified = "flops"
        case budget
    }
    /// What the subnets distil from. `live`: the full network's logits of the same batch while it
    /// trains (stimulative training as published). `frozen`: a fixed copy of the --init network,
    /// run with its own running statistics (eval mode), so the subnets chase the trained
    /// network's predictions rather than a moving and, at the start, worsening target.
    public enum Teacher: String, Codable, Sendable, CaseIterable {
        case live, frozen
    }
    /// The full network's own loss each step: cross-entropy on the labels (as published), KD from
    /// the frozen teacher, or none (only subnets train; the full network changes through the
    /// weights it shares with them). With a live teacher only `ce` makes sense.
    public enum FullNetworkLoss: String, Codable, Sendable, CaseIterable {
        case ce, kd, none
    }
    /// A MACs range subnets are drawn from under `.budget` sampling.
    public struct Window: Codable, Sendable, Equatable {
        public var lower: Int
        public var upper: Int
        public init(lower: Int, upper: Int) { self.lower = lower; self.upper = upper }
        public var range: ClosedRange<Int> { lower...upper }
    }
    public var subnetsPerStep: Int = 1
    public var lambda: Float = 1
    public var temperature: Float = 1
    public var distillation: Distillation = .kd
    public var amplitude: Float = 4
    public var sampling: Sampling = .uniform
    public var space = ArchitectureSpaceOptions()
    public var teacher: Teacher = .live
    public var fullNetworkLoss: FullNetworkLoss = .ce
    /// `.budget` sampling: the MACs windows, smallest first (stp prune fills them from its budgets).
    public var focusWindows: [Window] = []
    /// Half-width of a budget's sampling window, as a fraction of its target MACs: [t (1 - s), t (1 + s)].
    public var focusSpread: Double = 0.2

    public init() {}

    // Runs recorded before an option existed decode with its default, so they still resume.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        subnetsPerStep = try c.decode(Int.self, forKey: .subnetsPerStep)
        lambda = try c.decode(Float.self, forKey: .lambda)
        temperature = try c.decode(Float.self, forKey: .temperature)
        distillation = try c.decode(Distillation.self, forKey: .distillation)
        amplitude = try c.decode(Float.self, forKey: .amplitude)
        sampling = try c.decode(Sampling.self, forKey: .sampling)
        space = try c.decode(ArchitectureSpaceOptions.self, forKey: .space)
        teacher = try c.decodeIfPresent(Teacher.self, forKey: .teacher) ?? .live
        fullNetworkLoss = try c.decodeIfPresent(FullNetworkLoss.self, forKey: .fullNetworkLoss) ?? .ce
        focusWindows = try c.decodeIfPresent([Window].self, forKey: .focusWindows) ?? []
        focusSpread = try c.decodeIfPresent(Double.self, forKey: .focusSpread) ?? 0.2
    }

    public func validate() throws {
        guard subnetsPerStep >= 1 else { throw STPError(.argument, "--subnets must be at least 1 (got \(subnetsPerStep))") }
        guard lambda >= 0, lambda.isFinite else { throw STPError(.argument, "--kd-lambda must be a non-negative number") }
        guard temperature > 0, temperature.isFinite else { throw STPError(.argument, "--temperature must be positive") }
        guard amplitude > 0, amplitude.isFinite else { throw STPError(.argument, "--amplitude must be positive") }
        guard focusSpread >= 0, focusSpread < 1, focusSpread.isFinite else {
            throw STPError(.argument, "--focus-spread must be in [0, 1) (got \(focusSpread))")
        }
        guard teacher == .frozen || fullNetworkLoss == .ce else {
            throw STPError(.argument, "--full-network \(fullNetworkLoss.rawValue) needs --teacher frozen: a live teacher is the full network trained with ce")
        }
        if sampling == .budget && focusWindows.isEmpty {
            throw STPError(.argument, "--sampling budget draws subnets around the budgets of stp prune; here there are none (use uniform or flops)")
        }
    }
}

extension StimulativeOptions {
    /// These options with `.budget` sampling's windows: [t (1 - s), t (1 + s)] around each
    /// budget's target MACs t (s = focusSpread), clipped to the space, smallest first; unchanged
    /// for other sampling. Only FLOPs budgets: a latency budget's window would depend on the
    /// latency table measured when the run starts, and a resumed run must sample what the first
    /// invocation sampled.
    public func focused(on budgets: [ResolvedBudget], space: ArchitectureSpace) throws -> StimulativeOptions {
        guard sampling == .budget else { return self }
        var options = self
        let lo = space.cost.macs(of: space.smallest), hi = space.cost.macs(of: space.largest)
        options.focusWindows = try budgets.map { budget in
            guard let t = budget.targetMACs else {
                throw STPError(.argument, "--sampling budget draws subnets around FLOPs budgets; \(budget.budget) is a latency budget (use uniform or flops sampling with it)")
            }
            let lower = max(lo, Int((Double(t) * (1 - focusSpread)).rounded()))
            let upper = min(hi, Int((Double(t) * (1 + focusSpread)).rounded()))
            return Window(lower: lower, upper: max(lower, upper))
        }.sorted { $0.lower < $1.lower }
        return options
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
    /// When set (stp prune --finetune), every step trains this architecture alone by KD from the
    /// teacher: the extracted network fine-tuned, inside the supernet (a subnet computes what its
    /// extracted network computes, ExtractionTests), so the run resumes and records as before.
    /// The full network is not trained; with a live teacher it is run forward for the teacher's
    /// logits only. Takes precedence over `expansion`.
    public var fineTuneTarget: Architecture?
    /// The frozen teacher (`options.teacher == .frozen`): a copy of the --init network that is
    /// only ever run forward in eval mode, never trained (MethodTraining installs it).
    public var teacherNetwork: ResNet?
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
        if options.sampling == .budget {
            let lo = space.cost.macs(of: space.smallest), hi = space.cost.macs(of: space.largest)
            for w in options.focusWindows where w.lower > w.upper || w.upper < lo || w.lower > hi {
                throw STPError(.argument, "--sampling budget: the window \(CountFormat.string(w.lower))-\(CountFormat.string(w.upper)) MACs lies outside the space (\(CountFormat.string(lo))-\(CountFormat.string(hi)) MACs)")
            }
        }
    }

    /// The subnets of global step `step`: a function of the seed and the step alone.
    public func sampleArchitectures(step: Int, epoch: Double) -> [Architecture] {
        var rng = SeededRandom(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(step) &+ 0x5851_F42D)
        if let target = fineTuneTarget { return [target] }
        let k = options.subnetsPerStep
        return (0..<k).map { j in
            if let plan = expansion {
                let window = plan.window(atEpoch: epoch, space: space)
                let mutant = space.mutate(plan.target, probability: plan.mutationProbability, using: &rng)
                return space.fit(mutant, into: window, using: &rng) ?? plan.target
            }
            switch options.sampling {
            case .uniform: return space.randomArchitecture(using: &rng)
            case .flopsStratified: return space.stratifiedArchitecture(using: &rng)
            case .budget:
                let windows = options.focusWindows
                // The sandwich rule: with two or more subnets a step, the smallest budget's window
                // is always among them; the others take the budgets in turn.
                let index = k >= 2 && j == 0 ? 0 : (step * k + j) % windows.count
                return space.randomArchitecture(in: windows[index].range, using: &rng) ?? space.randomArchitecture(using: &rng)
            }
        }
    }

    public func accumulateGradients(model: ResNet, pixels: UnsafePointer<Float>, labels: [Int32], step: ObjectiveStep) -> ObjectiveResult {
        let archs = sampleArchitectures(step: step.globalStep, epoch: step.epochProgress)
        let subnets = archs.map { (try? $0.subnet(for: model.spec)) ?? SubnetSelection.full(model.spec) }
        record(archs, spec: model.spec)
        return self.step(model: model, pixels: pixels, labels: labels, subnets: subnets, labelSmoothing: step.labelSmoothing)
    }

    /// The full network's pass against the frozen teacher's logits `t` (KD, or no gradient at
    /// all for `.none`, where its cross-entropy is still reported).
    private func fullNetworkPass(model: ResNet, pixels: UnsafePointer<Float>, labels: [Int32], teacher t: UnsafePointer<Float>,
                                 labelSmoothing: Float) -> ObjectiveResult {
        let n = labels.count, k = model.spec.classes
        if options.fullNetworkLoss == .ce {
            return crossEntropyPass(model: model, pixels: pixels, labels: labels, labelSmoothing: labelSmoothing, dlogits: dlogits)
        }
        // Without a gradient the pass would only be for the figures: report the teacher's instead
        // of spending a forward of the full network.
        let z: UnsafePointer<Float> = options.fullNetworkLoss == .kd
            ? UnsafePointer(model.forward(pixels, batch: n, mode: .train(updateRunningStats: true))) : t
        let (loss, correct) = labels.withUnsafeBufferPointer { lp in
            (crossEntropyForwardBackward(logits: z, labels: lp.baseAddress!, batch: n, classes: k, dlogits: nil),
             topKCorrect(logits: z, labels: lp.baseAddress!, batch: n, classes: k, k: 1))
        }
        if options.fullNetworkLoss == .kd {
            let dz = dlogits.ensure(count: n * k)
            let kd = distil(teacher: t, student: z, batch: n, classes: k, dstudent: dz)
            model.backward(dz)
            return ObjectiveResult(loss: loss, correct: correct, extra: ["full_kd": kd])
        }
        return ObjectiveResult(loss: loss, correct: correct)
    }

    /// The distillation loss of `student` toward `teacher` (plain KD, or KD- on standardised
    /// logits whose teacher rows are in `normTeacher`), its gradient in `dstudent`.
    private func distil(teacher t: UnsafePointer<Float>, student z: UnsafePointer<Float>, batch n: Int, classes k: Int,
                        dstudent ds: UnsafeMutablePointer<Float>) -> Double {
        switch options.distillation {
        case .kd:
            return Double(klDivergenceForwardBackward(teacher: t, student: z, batch: n, classes: k,
                                                      temperature: options.temperature, gradScale: options.lambda,
                                                      dstudent: ds))
        case .kdMinus:
            let s = normStudent.ensure(count: n * k)
            standardizeLogitsForward(z, batch: n, classes: k, amplitude: options.amplitude, out: s,
                                     invStd: invStudent.ensure(count: n))
            let dn = dnorm.ensure(count: n * k)
            let loss = Double(klDivergenceForwardBackward(teacher: normTeacher.pointer, student: s, batch: n, classes: k,
                                                          temperature: options.temperature, gradScale: options.lambda,
                                                          dstudent: dn))
            standardizeLogitsBackward(out: s, invStd: invStudent.pointer, dout: dn, batch: n, classes: k,
                                      amplitude: options.amplitude, dz: ds)
            return loss
        }
    }

    /// The passes of one step with the given subnets (tests call it with fixed subnets).
    public func step(model: ResNet, pixels: UnsafePointer<Float>, labels: [Int32], subnets: [SubnetSelection],
                     labelSmoothing: Float = 0) -> ObjectiveResult {
        let n = labels.count, k = model.spec.classes
        let t = teacher.ensure(count: n * k)
        var result: ObjectiveResult
        if fineTuneTarget != nil {
            // Fine-tuning: the teacher's logits without a gradient, then only the target's pass;
            // the figures reported as the network's are the target's (filled in below).
            let z = teacherNetwork?.forward(pixels, batch: n, mode: .eval)
                ?? model.forward(pixels, batch: n, mode: .train(updateRunningStats: false))
            t.update(from: z, count: n * k)
            if options.distillation == .kdMinus {
                standardizeLogitsForward(t, batch: n, classes: k, amplitude: options.amplitude,
                                         out: normTeacher.ensure(count: n * k), invStd: invTeacher.ensure(count: n))
            }
            result = ObjectiveResult(loss: 0, correct: 0)
        } else if let frozen = teacherNetwork {
            t.update(from: frozen.forward(pixels, batch: n, mode: .eval), count: n * k)
            if options.distillation == .kdMinus {
                standardizeLogitsForward(t, batch: n, classes: k, amplitude: options.amplitude,
                                         out: normTeacher.ensure(count: n * k), invStd: invTeacher.ensure(count: n))
            }
            result = fullNetworkPass(model: model, pixels: pixels, labels: labels, teacher: t, labelSmoothing: labelSmoothing)
        } else {
            result = crossEntropyPass(model: model, pixels: pixels, labels: labels, labelSmoothing: labelSmoothing, dlogits: dlogits)
            t.update(from: model.lastLogits, count: n * k)
            if options.distillation == .kdMinus {
                standardizeLogitsForward(t, batch: n, classes: k, amplitude: options.amplitude,
                                         out: normTeacher.ensure(count: n * k), invStd: invTeacher.ensure(count: n))
            }
        }
        var kdSum = 0.0, subnetLossSum = 0.0, subnetCorrect = 0
        for subnet in subnets {
            let z = model.forward(pixels, batch: n, mode: .train(updateRunningStats: false), subnet: subnet)
            // The subnet's own cross-entropy and top-1 against the labels (no gradient): the
            // explorer's training curves show how the sampled subnets learn, not only the KD loss.
            labels.withUnsafeBufferPointer { lp in
                subnetLossSum += Double(crossEntropyForwardBackward(logits: z, labels: lp.baseAddress!, batch: n, classes: k, dlogits: nil))
                subnetCorrect += topKCorrect(logits: z, labels: lp.baseAddress!, batch: n, classes: k, k: 1)
            }
            let ds = dstudent.ensure(count: n * k)
            kdSum += distil(teacher: t, student: z, batch: n, classes: k, dstudent: ds)
            model.backward(ds)
        }
        result.extra["kd"] = kdSum / Double(max(subnets.count, 1))
        if fineTuneTarget != nil {
            result.loss = Float(subnetLossSum)
            result.correct = subnetCorrect
        }
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
