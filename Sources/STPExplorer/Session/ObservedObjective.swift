import STPEngine

// Wraps the trainer's objective to hand every step's result (with the subnets' loss, accuracy
// and distillation loss in `extra`) to the session, which the trainer's step events do not carry.
// It runs on the thread that trains, like the objective itself.

final class ObservedObjective: TrainingObjective, @unchecked Sendable {
    let inner: TrainingObjective
    private let observe: (ObjectiveResult) -> Void

    init(_ inner: TrainingObjective, observe: @escaping (ObjectiveResult) -> Void) {
        self.inner = inner
        self.observe = observe
    }

    var name: String { inner.name }

    func accumulateGradients(model: ResNet, pixels: UnsafePointer<Float>, labels: [Int32], step: ObjectiveStep) -> ObjectiveResult {
        let result = inner.accumulateGradients(model: model, pixels: pixels, labels: labels, step: step)
        observe(result)
        return result
    }
}
