// The tensors of a model and its optimizer in a checkpoint: parameters and running statistics
// under their PyTorch names (conv weights OIHW), momentum buffers under "optimizer.velocity.NAME".

public enum ModelState {
    public static let velocityPrefix = "optimizer.velocity."

    public static func tensors(of model: ResNet, optimizer: SGD?) -> [SafeTensor] {
        var out = [SafeTensor]()
        for p in model.parameters { out.append(.float32(p.name, shape: p.shape, p.value)) }
        for s in model.stateBuffers { out.append(.float32(s.name, shape: s.shape, s.value)) }
        if let optimizer {
            for (p, v) in zip(model.parameters, optimizer.velocity) {
                out.append(.float32(velocityPrefix + p.name, shape: p.shape, v))
            }
        }
        return out
    }

    /// Loads every parameter and running statistic (and the momentum when an optimizer is
    /// given); a missing tensor or a wrong shape is an error naming the tensor and the file.
    public static func load(_ model: ResNet, optimizer: SGD?, from file: SafeTensorsFile) throws {
        for p in model.parameters {
            try file.load(p.name, shape: p.shape, into: p.value)
            p.markChanged()
        }
        for s in model.stateBuffers { try file.load(s.name, shape: s.shape, into: s.value) }
        if let optimizer {
            for (p, v) in zip(model.parameters, optimizer.velocity) {
                try file.load(velocityPrefix + p.name, shape: p.shape, into: v)
            }
        }
    }
}
