// A trainable tensor with its gradient. Shapes follow PyTorch (conv OIHW, linear [out, in]) so
// checkpoints and ONNX exports name and lay out tensors the way every other tool expects.

public final class Parameter: @unchecked Sendable {
    public let name: String
    public let shape: [Int]
    public let value: FloatBuffer
    public let grad: FloatBuffer
    /// Whether SGD applies weight decay to it.
    public let decays: Bool

    public init(name: String, shape: [Int], decays: Bool = true) {
        self.name = name
        self.shape = shape
        self.decays = decays
        let count = shape.reduce(1, *)
        value = FloatBuffer(count: count)
        grad = FloatBuffer(count: count)
    }

    public var count: Int { value.count }
    public var pointer: UnsafeMutablePointer<Float> { value.pointer }
}

/// A non-trainable tensor saved with the model (BatchNorm running statistics).
public final class StateBuffer: @unchecked Sendable {
    public let name: String
    public let shape: [Int]
    public let value: FloatBuffer
    public init(name: String, shape: [Int], fill: Float) {
        self.name = name
        self.shape = shape
        value = FloatBuffer(count: shape.reduce(1, *))
        value.pointer.update(repeating: fill, count: value.count)
    }
}
