// Tensors as a PyTorch checkpoint describes them, and their conversion to Float.
//
// A pickled tensor does not hold its numbers: it names a storage (a flat run of elements written
// elsewhere in the file, under a key) and a view into it: the first element, the shape and the
// strides, all counted in elements. Any strides are allowed, so a transposed or sliced tensor
// comes back in row-major order, and every element type a ResNet state dict can hold is widened
// or narrowed to Float (integers such as `num_batches_tracked` keep their value).
//
// The view is checked against the storage's real bytes before anything is read: a storage that
// is missing or shorter than the view needs is an error naming the tensor, never a crash.

import Foundation

/// The element types the importer reads, under torch's names.
enum PyTorchElementType: String, CaseIterable, Sendable {
    case float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool

    var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// The typed storage class torch pickles for this type (`torch.FloatStorage`, ...).
    var storageClassName: String {
        switch self {
        case .float32: "FloatStorage"
        case .float64: "DoubleStorage"
        case .float16: "HalfStorage"
        case .bfloat16: "BFloat16Storage"
        case .int64: "LongStorage"
        case .int32: "IntStorage"
        case .int16: "ShortStorage"
        case .int8: "CharStorage"
        case .uint8: "ByteStorage"
        case .bool: "BoolStorage"
        }
    }

    init?(storageClassName: String) {
        guard let t = Self.allCases.first(where: { $0.storageClassName == storageClassName }) else { return nil }
        self = t
    }

    /// The element types as a list for messages: "float32, float64, ...".
    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A storage as a pickle refers to it: the bytes are elsewhere in the file under `key`.
struct PickledStorage: Sendable, Equatable {
    /// The key of the root storage whose bytes the file holds.
    var key: String
    /// The storage's element type (`uint8` for torch's untyped byte storage).
    var elementType: PyTorchElementType
    /// The number of elements the pickle declares for the root storage.
    var elementCount: Int
    /// Legacy views of part of a storage: the first element of the root storage they start at,
    /// and how many elements they span (nil: the whole root storage).
    var viewOffset: Int = 0
    var viewCount: Int? = nil
}

/// A tensor as a pickle describes it: a strided view of a storage.
struct PickledTensor: Sendable, Equatable {
    var storage: PickledStorage
    /// The tensor's element type: the storage's, except for untyped storages (torch 2's
    /// `_rebuild_tensor_v3`), which carry it separately.
    var elementType: PyTorchElementType
    /// First element, shape and strides, counted in elements of `elementType`.
    var storageOffset: Int
    var shape: [Int]
    var strides: [Int]
    /// Absolute byte offset in the file of the pickle opcode that rebuilt the tensor.
    var pickleOffset: Int

    /// The number of elements (Int.max if a crafted size overflows).
    var elementCount: Int {
        var n = 1
        for d in shape {
            let (product, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return .max }
            n = product
        }
        return n
    }

    /// Largest number of elements a view may produce beyond its storage's size (a broadcast,
    /// stride-0 view): enough for any real use, small enough that a crafted file cannot ask
    /// for gigabytes from a few bytes.
    static let maximumBroadcastElements = 1 << 24

    /// Reads the tensor's elements in row-major order as Float from the bytes of its root
    /// storage. `name` and `storageName` (e.g. "archive/data/3") go into error messages.
    func floats(rootBytes: ArraySlice<UInt8>, bigEndian: Bool, name: String, storageName: String,
                path: String, storageFileOffset: Int?) throws -> [Float] {
        func fail(_ what: String, at offset: Int? = nil) -> STPError {
            STPError.file(.checkpoint, path, offset: offset ?? pickleOffset, "tensor \"\(name)\": \(what)")
        }
        let storageSize = storage.elementType.byteSize
        let (declaredBytes, o1) = storage.elementCount.multipliedReportingOverflow(by: storageSize)
        guard !o1, storage.elementCount >= 0 else {
            throw fail("its storage \(storageName) declares \(storage.elementCount) elements, which is impossible")
        }
        guard rootBytes.count >= declaredBytes else {
            throw fail("its storage \(storageName) holds \(rootBytes.count) bytes, but the pickle declares \(storage.elementCount) elements of \(storage.elementType.rawValue) (\(declaredBytes) bytes); the file is truncated or corrupt",
                       at: storageFileOffset)
        }
        // The part of the root storage this tensor's storage object covers (legacy views).
        let (viewStart, o2) = storage.viewOffset.multipliedReportingOverflow(by: storageSize)
        let viewElements = storage.viewCount ?? (storage.elementCount - storage.viewOffset)
        let (viewLength, o3) = viewElements.multipliedReportingOverflow(by: storageSize)
        guard !o2, !o3, storage.viewOffset >= 0, viewElements >= 0, viewStart <= declaredBytes,
              viewLength <= declaredBytes - viewStart else {
            throw fail("its storage is a view of \(viewElements) elements from element \(storage.viewOffset) of storage \(storageName), which holds only \(storage.elementCount) elements")
        }

        guard shape.count == strides.count else {
            throw fail("size \(shape) and stride \(strides) have different lengths")
        }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), storageOffset >= 0 else {
            throw fail("expected a non-negative storage offset, size and stride, found offset \(storageOffset), size \(shape), stride \(strides)")
        }
        var count = 1
        var lastIndex = storageOffset
        for (size, stride) in zip(shape, strides) {
            let (c, oc) = count.multipliedReportingOverflow(by: size)
            guard !oc else { throw fail("size \(shape) has too many elements") }
            count = c
            if size > 0 {
                let (step, os) = (size - 1).multipliedReportingOverflow(by: stride)
                let (sum, oa) = lastIndex.addingReportingOverflow(step)
                guard !os, !oa else { throw fail("size \(shape) with stride \(stride) reaches beyond any storage") }
                lastIndex = sum
            }
        }
        if count == 0 { return [] }
        let size = elementType.byteSize
        let available = viewLength / size
        guard lastIndex < available else {
            throw fail("it needs elements 0...\(lastIndex) of \(elementType.rawValue) from its storage \(storageName) (offset \(storageOffset), size \(shape), stride \(strides)), but the storage holds only \(available)")
        }
        guard count <= max(available, Self.maximumBroadcastElements) else {
            throw fail("size \(shape) repeats its \(available) stored elements into \(count), more than stp accepts")
        }

        return rootBytes.withUnsafeBytes { raw -> [Float] in
            let view = UnsafeRawBufferPointer(rebasing: raw[viewStart...])
            if elementType == .float32, !bigEndian, isRowMajor, Self.hostIsLittleEndian {
                // The common case, a contiguous float32 tensor: one copy.
                return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: view[storageOffset * 4..<(storageOffset + count) * 4]))
                    initialized = count
                }
            }
            let decode = Self.decoder(elementType, bigEndian: bigEndian, view)
            if isRowMajor { return (0..<count).map { decode(storageOffset + $0) } }
            return Self.gather(count: count, offset: storageOffset, shape: shape, strides: strides, decode)
        }
    }

    private static var hostIsLittleEndian: Bool {
        #if _endian(little)
        true
        #else
        false
        #endif
    }

    /// Whether the strides are those of a contiguous row-major tensor (size-1 dimensions aside).
    private var isRowMajor: Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() {
            if size != 1 && stride != expected { return false }
            expected *= size
        }
        return true
    }

    /// Element `i` of a storage as Float.
    private static func decoder(_ type: PyTorchElementType, bigEndian: Bool,
                                _ raw: UnsafeRawBufferPointer) -> (Int) -> Float {
        func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
            let v = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
            return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
        }
        switch type {
        case .float32: return { Float(bitPattern: load(UInt32.self, $0)) }
        case .float64: return { Float(Double(bitPattern: load(UInt64.self, $0))) }
        case .float16: return { floatFromHalf(load(UInt16.self, $0)) }
        case .bfloat16: return { Float(bitPattern: UInt32(load(UInt16.self, $0)) << 16) }
        case .int64: return { Float(load(Int64.self, $0)) }
        case .int32: return { Float(load(Int32.self, $0)) }
        case .int16: return { Float(load(Int16.self, $0)) }
        case .int8: return { Float(Int8(bitPattern: raw[$0])) }
        case .uint8: return { Float(raw[$0]) }
        case .bool: return { raw[$0] == 0 ? 0 : 1 }
        }
    }

    /// Walks a strided view in row-major order.
    private static func gather(count: Int, offset: Int, shape: [Int], strides: [Int],
                               _ decode: (Int) -> Float) -> [Float] {
        // A size-1 dimension's stride is never used to reach an element, and may be anything.
        let strides = zip(shape, strides).map { $0 == 1 ? 0 : $1 }
        var out = [Float]()
        out.reserveCapacity(count)
        var index = [Int](repeating: 0, count: shape.count)
        var position = offset
        for _ in 0..<count {
            out.append(decode(position))
            // Advance the multi-index like an odometer, last dimension fastest.
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                position += strides[d]
                if index[d] < shape[d] { break }
                position -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// IEEE half precision to single (exact: every half is a float).
    static func floatFromHalf(_ h: UInt16) -> Float {
        let sign: UInt32 = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1f
        let mantissa = UInt32(h & 0x3ff)
        if exponent == 0 {
            let magnitude = Float(mantissa) * 0x1p-24  // zero or subnormal
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }
}
