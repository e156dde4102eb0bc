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

    /// Bumped whenever the values may have changed: by every access to `pointer` (the only
    /// mutable way in, besides `markChanged` after writing into `value` directly). Layers cache
    /// what they derive from a parameter (the packed eval operand of a convolution) under it.
    public private(set) var version = 0

    public var count: Int { value.count }
    /// The values, for writing (or reading); marks the parameter changed.
    public var pointer: UnsafeMutablePointer<Float> {
        version &+= 1
        return value.pointer
    }
    /// The values, for reading only: does not mark the parameter changed.
    public var readPointer: UnsafePointer<Float> { UnsafePointer(value.pointer) }

    /// Marks the values changed after writing into `value` directly (a loader filling the buffer).
    public func markChanged() { version &+= 1 }
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
