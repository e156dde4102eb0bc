// A growable, 64-byte-aligned block of Float32 owned by one layer or one step.
//
// Kernels work on raw pointers (llm.c style); FloatBuffer owns the memory and keeps it across
// steps so that a training step does not allocate. `ensure(count:)` grows only when a larger
// tensor arrives (a bigger batch or a wider subnet) and never shrinks.

public final class FloatBuffer: @unchecked Sendable {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int
    /// Number of valid elements (what the last producer wrote).
    public var count: Int

    public init(count: Int = 0) {
        capacity = max(count, 16)
        pointer = FloatBuffer.allocate(capacity)
        pointer.initialize(repeating: 0, count: capacity)
        self.count = count
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    /// Makes room for `count` elements; old contents are not preserved when it grows.
    @discardableResult
    public func ensure(count newCount: Int) -> UnsafeMutablePointer<Float> {
        if newCount > capacity {
            pointer.deallocate()
            capacity = newCount
            pointer = FloatBuffer.allocate(capacity)
            pointer.initialize(repeating: 0, count: capacity)
        }
        count = newCount
        return pointer
    }

    public func zero() { pointer.update(repeating: 0, count: count) }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    private static func allocate(_ n: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: n * MemoryLayout<Float>.stride, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: n)
    }
}
