// The tensors of a model and its optimizer in a checkpoint: parameters and running statistics
// under their PyTorch names (conv weights OIHW), momentum buffers under "optimizer.velocity.NAME".
//
// Loading refuses values no trained network has: a NaN or infinite weight, running statistic or
// momentum, and a negative running variance. Such a network computes NaN logits for every
// image, and a run continued from it trains on garbage; the error names the tensor and the file.

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
    /// given); a missing tensor, a wrong shape, a non-finite value or a negative running variance
    /// is an error naming the tensor and the file.
    public static func load(_ model: ResNet, optimizer: SGD?, from file: SafeTensorsFile) throws {
        for p in model.parameters {
            try load(p.name, shape: p.shape, into: p.value, from: file)
            p.markChanged()
        }
        for s in model.stateBuffers { try load(s.name, shape: s.shape, into: s.value, from: file) }
        if let optimizer {
            for (p, v) in zip(model.parameters, optimizer.velocity) {
                try load(velocityPrefix + p.name, shape: p.shape, into: v, from: file)
            }
        }
    }

    private static func load(_ name: String, shape: [Int], into buffer: FloatBuffer, from file: SafeTensorsFile) throws {
        let values = try file.floats(name, expectingShape: shape).values
        try check(values, name: name, path: file.path)
        let p = buffer.ensure(count: values.count)
        values.withUnsafeBufferPointer { if let base = $0.baseAddress { p.update(from: base, count: values.count) } }
    }

    /// Throws unless every value is finite and, for a running variance, not negative.
    public static func check(_ values: [Float], name: String, path: String) throws {
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            let count = values.lazy.filter { !$0.isFinite }.count
            let what = name.hasPrefix(velocityPrefix) ? "the optimizer's momentum" : "weights and running statistics"
            throw STPError.file(.checkpoint, path,
                                "tensor \"\(name)\" element \(bad) is \(values[bad]) (\(count) of \(values.count) elements are not finite); \(what) must be finite numbers, this network is broken")
        }
        if name.hasSuffix("running_var"), let bad = values.firstIndex(where: { $0 < 0 }) {
            let count = values.lazy.filter { $0 < 0 }.count
            throw STPError.file(.checkpoint, path,
                                "tensor \"\(name)\" element \(bad) is \(values[bad]) (\(count) of \(values.count) elements are negative); a running variance cannot be negative")
        }
    }
}
