// A minimal protocol-buffers encoder (the wire format only, no schema, no dependency): enough to
// write an ONNX model. A message is a sequence of fields, each a key (field number << 3 | wire
// type, as a varint) followed by its value:
//
//   wire type 0  varint            int32, int64, uint64, bool, enum
//   wire type 2  length-delimited  string, bytes, nested message, packed repeated scalars
//   wire type 5  fixed32           float (little-endian IEEE 754)
//   wire type 1  fixed64           double
//
// Varints are little-endian base-128: 7 bits a byte, the high bit set on every byte but the last.
// Negative int32/int64 values are sign-extended to 64 bits and so always take 10 bytes.
// Nested messages are encoded into their own writer first, because their length comes first.

public struct ProtobufWriter: Sendable {
    public enum WireType: UInt8, Sendable {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
    }

    public private(set) var bytes: [UInt8] = []

    public init() {}

    public var count: Int { bytes.count }

    // MARK: Raw encodings

    /// The base-128 varint encoding of `value`.
    public mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func appendTag(_ field: Int, _ wireType: WireType) {
        precondition(field >= 1 && field < (1 << 29), "protobuf field numbers are 1...2^29-1 (got \(field))")
        appendVarint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    public mutating func appendFixed32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func appendFixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    // MARK: Fields

    /// An unsigned varint field (uint32, uint64, enum values >= 0).
    public mutating func writeUInt64(_ field: Int, _ value: UInt64) {
        appendTag(field, .varint)
        appendVarint(value)
    }

    /// An int64 field (two's complement, so negative values take 10 bytes).
    public mutating func writeInt64(_ field: Int, _ value: Int64) {
        writeUInt64(field, UInt64(bitPattern: value))
    }

    /// An int32 or enum field: negative values are sign-extended to 64 bits, as protobuf requires.
    public mutating func writeInt32(_ field: Int, _ value: Int32) {
        writeInt64(field, Int64(value))
    }

    public mutating func writeBool(_ field: Int, _ value: Bool) {
        writeUInt64(field, value ? 1 : 0)
    }

    public mutating func writeFloat(_ field: Int, _ value: Float) {
        appendTag(field, .fixed32)
        appendFixed32(value.bitPattern)
    }

    public mutating func writeDouble(_ field: Int, _ value: Double) {
        appendTag(field, .fixed64)
        appendFixed64(value.bitPattern)
    }

    public mutating func writeBytes(_ field: Int, _ value: [UInt8]) {
        appendTag(field, .lengthDelimited)
        appendVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func writeString(_ field: Int, _ value: String) {
        writeBytes(field, Array(value.utf8))
    }

    /// A bytes field holding `values` as little-endian float32s (ONNX raw_data).
    public mutating func writeFloatsAsBytes(_ field: Int, _ values: UnsafeBufferPointer<Float>) {
        appendTag(field, .lengthDelimited)
        appendVarint(UInt64(values.count * 4))
        appendLittleEndianFloats(values)
    }

    /// A nested message built by `body` into its own writer.
    public mutating func writeMessage(_ field: Int, _ body: (inout ProtobufWriter) throws -> Void) rethrows {
        var nested = ProtobufWriter()
        try body(&nested)
        writeBytes(field, nested.bytes)
    }

    /// A nested message that is already encoded.
    public mutating func writeMessage(_ field: Int, encoded: [UInt8]) {
        writeBytes(field, encoded)
    }

    /// A repeated int64 field written unpacked (one key per value): how protoc writes proto2
    /// repeated fields not declared [packed = true], such as ONNX's dims and ints.
    public mutating func writeRepeatedInt64(_ field: Int, _ values: [Int64]) {
        for v in values { writeInt64(field, v) }
    }

    // MARK: Packed repeated fields (one length-delimited field holding the concatenated values)

    public mutating func writePackedInt64(_ field: Int, _ values: [Int64]) {
        guard !values.isEmpty else { return }
        var payload = ProtobufWriter()
        for v in values { payload.appendVarint(UInt64(bitPattern: v)) }
        writeBytes(field, payload.bytes)
    }

    public mutating func writePackedFloat(_ field: Int, _ values: [Float]) {
        guard !values.isEmpty else { return }
        appendTag(field, .lengthDelimited)
        appendVarint(UInt64(values.count * 4))
        values.withUnsafeBufferPointer { appendLittleEndianFloats($0) }
    }

    /// `values` as little-endian IEEE 754 float32 bytes.
    public static func littleEndianBytes(_ values: UnsafeBufferPointer<Float>) -> [UInt8] {
        var w = ProtobufWriter()
        w.appendLittleEndianFloats(values)
        return w.bytes
    }

    private mutating func appendLittleEndianFloats(_ values: UnsafeBufferPointer<Float>) {
        #if _endian(little)
        bytes.append(contentsOf: UnsafeRawBufferPointer(values))
        #else
        bytes.reserveCapacity(bytes.count + values.count * 4)
        for v in values { appendFixed32(v.bitPattern) }
        #endif
    }
}
