// Stochastic gradient descent with momentum, optional Nesterov and weight decay, with PyTorch's
// semantics (so recipes carry over): g' = g + wd * w;  v = mu * v + g';
// w -= lr * (nesterov ? g' + mu * v : v).

public struct SGDOptions: Codable, Sendable, Equatable {
    public var momentum: Float = 0.9
    public var nesterov: Bool = false
    public var weightDecay: Float = 5e-4
    public init(momentum: Float = 0.9, nesterov: Bool = false, weightDecay: Float = 5e-4) {
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }
}

public final class SGD: @unchecked Sendable {
    public let options: SGDOptions
    /// One momentum buffer per parameter, in the model's parameter order.
    public let velocity: [FloatBuffer]

    public init(parameters: [Parameter], options: SGDOptions) {
        self.options = options
        velocity = parameters.map { FloatBuffer(count: $0.count) }
    }

    public func step(_ parameters: [Parameter], learningRate lr: Float) {
        precondition(parameters.count == velocity.count)
        let mu = options.momentum, nesterov = options.nesterov
        for (p, v) in zip(parameters, velocity) {
            let wd = p.decays ? options.weightDecay : 0
            let w = p.pointer, g = p.grad.pointer, vp = v.pointer
            for i in 0..<p.count {
                let d = g[i] + wd * w[i]
                let vi = mu * vp[i] + d
                vp[i] = vi
                w[i] -= lr * (nesterov ? d + mu * vi : vi)
            }
        }
    }
}
