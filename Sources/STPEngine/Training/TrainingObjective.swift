// What one training step optimises. The trainer zeroes the gradients, asks the objective to run
// its forward and backward passes (accumulating gradients into the shared weights), and then
// takes one SGD step. Cross-entropy on the full network is the standard objective; the STP
// method supplies stimulative training (full network plus distilled subnets) and the slimming
// baseline through the same interface, so every method trains through the same code path.

public struct ObjectiveStep: Sendable {
    /// Global step number (epoch * stepsPerEpoch + step): objectives that sample derive their
    /// random numbers from it, so a resumed run samples exactly what an uninterrupted one would.
    public var globalStep: Int
    /// Training progress in epochs (fractional), for schedules inside an objective.
    public var epochProgress: Double
    public var labelSmoothing: Float
}

public struct ObjectiveResult: Sendable {
    /// Cross-entropy of the full network on the batch.
    public var loss: Float
    /// Correct top-1 predictions of the full network.
    public var correct: Int
    /// Extra per-step figures (e.g. "kd" loss of the subnets), averaged per epoch by the trainer.
    public var extra: [String: Double] = [:]
    public init(loss: Float, correct: Int, extra: [String: Double] = [:]) {
        self.loss = loss
        self.correct = correct
        self.extra = extra
    }
}

public protocol TrainingObjective: AnyObject, Sendable {
    /// A short name for logs and the run record ("standard", "stimulative", "slimming").
    var name: String { get }
    /// Forward and backward passes of one batch; gradients accumulate into `model.parameters`.
    func accumulateGradients(model: ResNet, pixels: UnsafePointer<Float>, labels: [Int32], step: ObjectiveStep) -> ObjectiveResult
}

/// Cross-entropy on the full network, the standard objective.
public final class CrossEntropyObjective: TrainingObjective, @unchecked Sendable {
    public let name = "standard"
    private let dlogits = FloatBuffer()
    public init() {}

    public func accumulateGradients(model: ResNet, pixels: UnsafePointer<Float>, labels: [Int32], step: ObjectiveStep) -> ObjectiveResult {
        crossEntropyPass(model: model, pixels: pixels, labels: labels, labelSmoothing: step.labelSmoothing, dlogits: dlogits)
    }
}

/// Full network, train-mode BN, cross-entropy, backward: the first pass of every objective.
/// Leaves the logits in `model.lastLogits`.
public func crossEntropyPass(model: ResNet, pixels: UnsafePointer<Float>, labels: [Int32], labelSmoothing: Float,
                             dlogits: FloatBuffer) -> ObjectiveResult {
    let n = labels.count, classes = model.spec.classes
    let z = model.forward(pixels, batch: n, mode: .train(updateRunningStats: true))
    let dz = dlogits.ensure(count: n * classes)
    let (loss, correct) = labels.withUnsafeBufferPointer { lp in
        (crossEntropyForwardBackward(logits: z, labels: lp.baseAddress!, batch: n, classes: classes,
                                     labelSmoothing: labelSmoothing, dlogits: dz),
         topKCorrect(logits: z, labels: lp.baseAddress!, batch: n, classes: classes, k: 1))
    }
    model.backward(dz)
    return ObjectiveResult(loss: loss, correct: correct)
}
