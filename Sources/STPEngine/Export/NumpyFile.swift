// NumPy .npy files of float32 arrays (format version 1.0), the exchange format between an export
// check and scripts/check_onnx.py:
//
//   "\x93NUMPY" 0x01 0x00  header length (UInt16 LE)  header  data
//   header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" padded with spaces and
//           ending in "\n" so that magic + length + header is a multiple of 64 bytes
//   data:   C-order little-endian float32

public enum NumpyFile {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// The .npy bytes of a C-order float32 array.
    public static func encodeFloat32(_ values: [Float], shape: [Int]) -> [UInt8] {
        precondition(shape.reduce(1, *) == values.count, "\(values.count) values for shape \(shape)")
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
        let unpadded = magic.count + 2 + 2 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = magic + [1, 0]
        let length = UInt16(header.utf8.count)
        out += [UInt8(length & 0xFF), UInt8(length >> 8)]
        out += Array(header.utf8)
        out += values.withUnsafeBufferPointer { ProtobufWriter.littleEndianBytes($0) }
        return out
    }

    public static func writeFloat32(_ values: [Float], shape: [Int], to path: String) throws {
        try AtomicFile.write(encodeFloat32(values, shape: shape), to: path)
    }

    /// Decodes a C-order little-endian float32 .npy file (versions 1.0 to 3.0).
    public static func decodeFloat32(_ bytes: [UInt8], path: String) throws -> (shape: [Int], values: [Float]) {
        func fail(_ offset: Int, _ what: String) -> STPError { .file(.data, path, offset: offset, what) }
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw fail(0, "not a .npy file (no \\x93NUMPY magic)") }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail(8, "truncated header length") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw fail(6, ".npy format version \(major) is not supported; expected 1, 2 or 3")
        }
        guard bytes.count >= headerStart + headerLength else { throw fail(headerStart, "truncated header") }
        let header = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
        guard header.contains("'descr': '<f4'") else {
            throw fail(headerStart, "expected little-endian float32 ('<f4') data; header is \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        guard header.contains("'fortran_order': False") else { throw fail(headerStart, "expected C order (fortran_order False)") }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw fail(headerStart, "no shape in the header")
        }
        var shape = [Int]()
        for part in header[open.upperBound..<close].split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let d = Int(t), d >= 0 else { throw fail(headerStart, "bad dimension '\(t)' in the shape") }
            shape.append(d)
        }
        let count = shape.reduce(1, *)
        let dataStart = headerStart + headerLength
        guard bytes.count == dataStart + count * 4 else {
            throw fail(dataStart, "expected \(count * 4) bytes of data for shape \(shape), found \(bytes.count - dataStart)")
        }
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let p = dataStart + 4 * i
            let bits = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
            values[i] = Float(bitPattern: bits)
        }
        return (shape, values)
    }
}
