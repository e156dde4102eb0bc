#if canImport(Glibc)
import Glibc
#endif

// Learning rate as a function of training progress in (fractional) epochs, evaluated every step.
// A linear warm-up from base/warmupStartDivisor to the base rate precedes either schedule.

public struct LearningRateSchedule: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// base * (1 + cos(pi * t)) / 2 over the epochs after warm-up.
        case cosine
        /// base * gamma^(number of milestones passed).
        case step
        case constant
    }

    public var kind: Kind = .cosine
    public var base: Float = 0.1
    public var warmupEpochs: Double = 0
    public var milestones: [Double] = []
    public var gamma: Float = 0.1
    public var totalEpochs: Double = 30
    public static let warmupStartDivisor: Float = 10

    public init(kind: Kind = .cosine, base: Float = 0.1, warmupEpochs: Double = 0, milestones: [Double] = [],
                gamma: Float = 0.1, totalEpochs: Double = 30) {
        self.kind = kind; self.base = base; self.warmupEpochs = warmupEpochs
        self.milestones = milestones; self.gamma = gamma; self.totalEpochs = totalEpochs
    }

    public func rate(atEpoch t: Double) -> Float {
        if t < warmupEpochs {
            let start = base / LearningRateSchedule.warmupStartDivisor
            return start + (base - start) * Float(t / warmupEpochs)
        }
        switch kind {
        case .constant:
            return base
        case .step:
            let passed = milestones.filter { t >= $0 }.count
            return base * powf(gamma, Float(passed))
        case .cosine:
            let span = max(totalEpochs - warmupEpochs, 1e-9)
            let x = min(max((t - warmupEpochs) / span, 0), 1)
            return base * Float(0.5 * (1 + cos(Double.pi * x)))
        }
    }
}
