// The safetensors format (https://github.com/huggingface/safetensors), read and written without
// dependencies:
//
//   bytes 0..<8        N, the header length, unsigned 64-bit little-endian
//   bytes 8..<8+N      UTF-8 JSON: {"__metadata__": {string: string},
//                                   "NAME": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}
//   bytes 8+N..<end    the data section; each tensor's offsets are relative to its first byte
//
// Writing follows the reference implementation so that Python can load our checkpoints: the
// header is padded with spaces to a multiple of 8 bytes, tensors are laid out back to back
// ordered by element size (largest first) and then by name, so every tensor starts at a multiple
// of its element size (and 8-byte types at a multiple of 8) without gaps, and the same tensors and
// metadata always give the same bytes. Reading is strict: every inconsistency is an STPError that
// names the file, the byte offset and the numbers involved.

import Foundation

/// Element types we read and write.
public enum SafeTensorsDType: String, Sendable, CaseIterable, Codable {
    case f32 = "F32", f64 = "F64", i32 = "I32", i64 = "I64", u8 = "U8"

    public var byteSize: Int {
        switch self {
        case .f64, .i64: 8
        case .f32, .i32: 4
        case .u8: 1
        }
    }
}

/// One tensor as described by the header: where its bytes are in the data section.
public struct TensorEntry: Sendable, Equatable {
    public var name: String
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    /// Byte range relative to the start of the data section.
    public var dataOffsets: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A tensor to be written: raw little-endian bytes plus dtype and shape.
public struct SafeTensor: Sendable, Equatable {
    public var name: String
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    public var bytes: [UInt8]

    public init(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    public static func float32(_ name: String, shape: [Int], _ values: [Float]) -> SafeTensor {
        SafeTensor(name: name, dtype: .f32, shape: shape, bytes: littleEndianBytes(values.map { $0.bitPattern }))
    }

    public static func float32(_ name: String, shape: [Int], _ buffer: FloatBuffer) -> SafeTensor {
        float32(name, shape: shape, buffer.array)
    }

    public static func float64(_ name: String, shape: [Int], _ values: [Double]) -> SafeTensor {
        SafeTensor(name: name, dtype: .f64, shape: shape, bytes: littleEndianBytes(values.map { $0.bitPattern }))
    }

    public static func int32(_ name: String, shape: [Int], _ values: [Int32]) -> SafeTensor {
        SafeTensor(name: name, dtype: .i32, shape: shape, bytes: littleEndianBytes(values))
    }

    public static func int64(_ name: String, shape: [Int], _ values: [Int64]) -> SafeTensor {
        SafeTensor(name: name, dtype: .i64, shape: shape, bytes: littleEndianBytes(values))
    }

    public static func uint8(_ name: String, shape: [Int], _ values: [UInt8]) -> SafeTensor {
        SafeTensor(name: name, dtype: .u8, shape: shape, bytes: values)
    }

    static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * MemoryLayout<T>.size)
        out.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() {
                raw.storeBytes(of: v.littleEndian, toByteOffset: i * MemoryLayout<T>.size, as: T.self)
            }
        }
        return out
    }
}

public struct SafeTensorsFile: Sendable {
    /// The file this was read from (or will be written to); every error names it.
    public var path: String
    public var tensors: [String: TensorEntry]
    public var metadata: [String: String]
    /// The data section: the bytes after the header.
    public var data: [UInt8]
    /// Absolute byte offset of the data section in the file (8 + header length).
    public var dataStart: Int

    /// Tensor names, sorted.
    public var names: [String] { tensors.keys.sorted() }

    // MARK: Reading

    public static func read(path: String) throws -> SafeTensorsFile {
        try decode(try RegularFile.read(path, kind: .checkpoint, what: "a safetensors file"), path: path)
    }

    /// Parses a whole safetensors file held in memory; `path` is used in error messages.
    public static func decode(_ bytes: [UInt8], path: String) throws -> SafeTensorsFile {
        guard bytes.count >= 8 else {
            throw STPError.file(.checkpoint, path, offset: 0,
                                "expected an 8-byte header length, but the file has only \(bytes.count) bytes")
        }
        var n: UInt64 = 0
        for i in (0..<8).reversed() { n = (n << 8) | UInt64(bytes[i]) }
        guard n <= UInt64(bytes.count - 8) else {
            throw STPError.file(.checkpoint, path, offset: 0,
                                "header length \(n) is larger than the \(bytes.count - 8) bytes that follow it (file size \(bytes.count)); the file is truncated or not safetensors")
        }
        let headerLength = Int(n)
        let dataStart = 8 + headerLength
        let headerBytes = bytes[8..<dataStart]
        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            let bad = firstInvalidUTF8(headerBytes)
            throw STPError.file(.checkpoint, path, offset: bad,
                                "the JSON header (bytes 8..<\(dataStart)) is not valid UTF-8")
        }
        let json: JSONValue
        do {
            var parser = HeaderJSONParser(bytes: bytes, range: 8..<dataStart)
            json = try parser.parseDocument()
        } catch let e as HeaderJSONParser.Failure {
            throw STPError.file(.checkpoint, path, offset: e.offset,
                                "the JSON header (bytes 8..<\(dataStart)) is not valid JSON: \(e.what)")
        }
        guard case .object(let members) = json else {
            throw STPError.file(.checkpoint, path, offset: 8,
                                "expected the header to be a JSON object of tensors, found \(json.kindName)")
        }

        var tensors = [String: TensorEntry]()
        var metadata = [String: String]()
        let dataCount = bytes.count - dataStart
        for (key, value) in members {
            if key == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw STPError.file(.checkpoint, path, offset: 8,
                                        "expected \"__metadata__\" to be an object of strings, found \(value.kindName)")
                }
                for (k, v) in pairs {
                    guard case .string(let s) = v else {
                        throw STPError.file(.checkpoint, path, offset: 8,
                                            "expected metadata value \"\(k)\" to be a string, found \(v.kindName)")
                    }
                    metadata[k] = s
                }
                continue
            }
            tensors[key] = try entry(key, value, dataCount: dataCount, dataStart: dataStart, path: path)
        }

        // No two tensors may share bytes (an empty tensor owns none).
        let ordered = tensors.values.filter { !$0.dataOffsets.isEmpty }.sorted {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name)
                < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name)
        }
        for (a, b) in zip(ordered, ordered.dropFirst()) where b.dataOffsets.lowerBound < a.dataOffsets.upperBound {
            throw STPError.file(.checkpoint, path, offset: dataStart + b.dataOffsets.lowerBound,
                                "tensor \"\(b.name)\" data_offsets [\(b.dataOffsets.lowerBound), \(b.dataOffsets.upperBound)] overlap tensor \"\(a.name)\" [\(a.dataOffsets.lowerBound), \(a.dataOffsets.upperBound)]")
        }
        return SafeTensorsFile(path: path, tensors: tensors, metadata: metadata,
                               data: Array(bytes[dataStart...]), dataStart: dataStart)
    }

    private static func entry(_ name: String, _ value: JSONValue, dataCount: Int, dataStart: Int,
                              path: String) throws -> TensorEntry {
        func fail(_ what: String) -> STPError {
            STPError.file(.checkpoint, path, offset: 8, "tensor \"\(name)\": \(what)")
        }
        guard case .object(let fields) = value else {
            throw fail("expected an object with dtype, shape and data_offsets, found \(value.kindName)")
        }
        let f = Dictionary(fields, uniquingKeysWith: { a, _ in a })
        guard case .string(let dtypeName)? = f["dtype"] else { throw fail("expected a string \"dtype\"") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw fail("unknown dtype \"\(dtypeName)\"; expected one of \(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard case .array(let shapeValues)? = f["shape"] else { throw fail("expected an array \"shape\"") }
        var shape = [Int]()
        var elements = 1
        for v in shapeValues {
            guard case .integer(let d) = v, d >= 0 else {
                throw fail("expected \"shape\" to hold non-negative integers, found \(v.kindName)")
            }
            shape.append(d)
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("shape \(shape) has too many elements") }
            elements = product
        }
        guard case .array(let offsetValues)? = f["data_offsets"], offsetValues.count == 2,
              case .integer(let begin) = offsetValues[0], case .integer(let end) = offsetValues[1] else {
            throw fail("expected \"data_offsets\" to be two integers [begin, end]")
        }
        guard begin >= 0, begin <= end, end <= dataCount else {
            // The offset is clamped to the data section: begin may be anything up to Int.max.
            throw STPError.file(.checkpoint, path, offset: dataStart + min(max(0, begin), dataCount),
                                "tensor \"\(name)\" data_offsets [\(begin), \(end)] are outside the data section of \(dataCount) bytes (file bytes \(dataStart)..<\(dataStart + dataCount))")
        }
        let (expected, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, end - begin == expected else {
            throw STPError.file(.checkpoint, path, offset: dataStart + begin,
                                "tensor \"\(name)\" has \(end - begin) bytes, but shape \(shape) of \(dtype.rawValue) needs \(elements) × \(dtype.byteSize) = \(expected) bytes")
        }
        return TensorEntry(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    // MARK: Access

    /// The entry for `name`, or an error naming the file and a few tensors that do exist.
    public func entry(_ name: String) throws -> TensorEntry {
        if let e = tensors[name] { return e }
        let all = names
        let close = all.filter { $0.hasSuffix(name) || name.hasSuffix($0) || $0.hasPrefix(name) }
        let sample = (close + all.filter { !close.contains($0) }).prefix(5)
        let list = sample.isEmpty ? "the file holds no tensors"
            : "it holds \(all.count) tensors, e.g. \(sample.map { "\"\($0)\"" }.joined(separator: ", "))"
        throw STPError.file(.checkpoint, path, "no tensor named \"\(name)\"; \(list)")
    }

    private func check(_ e: TensorEntry, expectingShape: [Int]?) throws {
        if let expectingShape, expectingShape != e.shape {
            throw STPError.file(.checkpoint, path, offset: dataStart + e.dataOffsets.lowerBound,
                                "tensor \"\(e.name)\" has shape \(e.shape), expected \(expectingShape)")
        }
    }

    private func load<T: FixedWidthInteger>(_ e: TensorEntry, as: T.Type) -> [T] {
        data.withUnsafeBytes { raw in
            (0..<e.elementCount).map {
                T(littleEndian: raw.loadUnaligned(fromByteOffset: e.dataOffsets.lowerBound + $0 * MemoryLayout<T>.size, as: T.self))
            }
        }
    }

    private func typeError(_ e: TensorEntry, _ wanted: String) -> STPError {
        STPError.file(.checkpoint, path, offset: dataStart + e.dataOffsets.lowerBound,
                      "tensor \"\(e.name)\" is \(e.dtype.rawValue), expected \(wanted)")
    }

    /// A floating tensor as Float (F64 is narrowed).
    public func floats(_ name: String, expectingShape: [Int]? = nil) throws -> (shape: [Int], values: [Float]) {
        let e = try entry(name)
        try check(e, expectingShape: expectingShape)
        switch e.dtype {
        case .f32:
            if e.elementCount == 0 { return (e.shape, []) }
            #if _endian(little)
            let values = [Float](unsafeUninitializedCapacity: e.elementCount) { buffer, count in
                data.withUnsafeBytes { raw in
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: raw[e.dataOffsets]))
                }
                count = e.elementCount
            }
            return (e.shape, values)
            #else
            return (e.shape, load(e, as: UInt32.self).map(Float.init(bitPattern:)))
            #endif
        case .f64:
            return (e.shape, load(e, as: UInt64.self).map { Float(Double(bitPattern: $0)) })
        default:
            throw typeError(e, "F32 or F64")
        }
    }

    /// A floating tensor as Double.
    public func doubles(_ name: String, expectingShape: [Int]? = nil) throws -> (shape: [Int], values: [Double]) {
        let e = try entry(name)
        try check(e, expectingShape: expectingShape)
        switch e.dtype {
        case .f64: return (e.shape, load(e, as: UInt64.self).map(Double.init(bitPattern:)))
        case .f32: return (e.shape, load(e, as: UInt32.self).map { Double(Float(bitPattern: $0)) })
        default: throw typeError(e, "F32 or F64")
        }
    }

    /// An integer tensor as Int32 (I64 values must fit; U8 widens).
    public func int32s(_ name: String, expectingShape: [Int]? = nil) throws -> (shape: [Int], values: [Int32]) {
        let e = try entry(name)
        try check(e, expectingShape: expectingShape)
        switch e.dtype {
        case .i32: return (e.shape, load(e, as: Int32.self))
        case .u8: return (e.shape, load(e, as: UInt8.self).map(Int32.init))
        case .i64:
            let wide = load(e, as: Int64.self)
            if let i = wide.firstIndex(where: { Int32(exactly: $0) == nil }) {
                throw STPError.file(.checkpoint, path, offset: dataStart + e.dataOffsets.lowerBound + 8 * i,
                                    "tensor \"\(name)\" element \(i) = \(wide[i]) does not fit in Int32")
            }
            return (e.shape, wide.map { Int32($0) })
        default: throw typeError(e, "I32, I64 or U8")
        }
    }

    /// An integer tensor as Int64 (I32 and U8 widen).
    public func int64s(_ name: String, expectingShape: [Int]? = nil) throws -> (shape: [Int], values: [Int64]) {
        let e = try entry(name)
        try check(e, expectingShape: expectingShape)
        switch e.dtype {
        case .i64: return (e.shape, load(e, as: Int64.self))
        case .i32: return (e.shape, load(e, as: Int32.self).map(Int64.init))
        case .u8: return (e.shape, load(e, as: UInt8.self).map(Int64.init))
        default: throw typeError(e, "I32, I64 or U8")
        }
    }

    /// A U8 tensor.
    public func uint8s(_ name: String, expectingShape: [Int]? = nil) throws -> (shape: [Int], values: [UInt8]) {
        let e = try entry(name)
        try check(e, expectingShape: expectingShape)
        guard e.dtype == .u8 else { throw typeError(e, "U8") }
        return (e.shape, Array(data[e.dataOffsets]))
    }

    /// Copies a floating tensor of exactly `shape` into `buffer` (resizing it).
    public func load(_ name: String, shape: [Int], into buffer: FloatBuffer) throws {
        let values = try floats(name, expectingShape: shape).values
        let p = buffer.ensure(count: values.count)
        values.withUnsafeBufferPointer { if let base = $0.baseAddress { p.update(from: base, count: values.count) } }
    }

    /// The tensors of this file, in the form the writer takes.
    public var allTensors: [SafeTensor] {
        names.map { n in
            let e = tensors[n]!
            return SafeTensor(name: n, dtype: e.dtype, shape: e.shape, bytes: Array(data[e.dataOffsets]))
        }
    }

    // MARK: Writing

    /// Serialises tensors and metadata. Throws (naming `path`) if a tensor's bytes do not match
    /// its shape or a name repeats; nothing is written anywhere.
    public static func encode(tensors: [SafeTensor], metadata: [String: String] = [:],
                              path: String = "<memory>") throws -> Data {
        var seen = Set<String>()
        for t in tensors {
            guard !t.name.isEmpty, t.name != "__metadata__" else {
                throw STPError.file(.checkpoint, path, "cannot write a tensor named \"\(t.name)\"")
            }
            guard seen.insert(t.name).inserted else {
                throw STPError.file(.checkpoint, path, "cannot write tensor \"\(t.name)\" twice")
            }
            guard t.shape.allSatisfy({ $0 >= 0 }) else {
                throw STPError.file(.checkpoint, path, "tensor \"\(t.name)\" has a negative dimension in shape \(t.shape)")
            }
            let expected = t.shape.reduce(1, *) * t.dtype.byteSize
            guard t.bytes.count == expected else {
                throw STPError.file(.checkpoint, path,
                                    "tensor \"\(t.name)\" has \(t.bytes.count) bytes, but shape \(t.shape) of \(t.dtype.rawValue) needs \(expected) bytes")
            }
        }
        // Largest element first, then by name: every tensor is aligned to its element size
        // without padding between tensors (the reference implementation's order).
        let ordered = tensors.sorted {
            ($0.dtype.byteSize, $1.name) > ($1.dtype.byteSize, $0.name)
        }
        var header = "{"
        var first = true
        if !metadata.isEmpty {
            header += "\"__metadata__\":{"
            header += metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
                .joined(separator: ",")
            header += "}"
            first = false
        }
        var offset = 0
        for t in ordered {
            if !first { header += "," }
            first = false
            header += "\(jsonString(t.name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}"
            offset += t.bytes.count
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        headerBytes += [UInt8](repeating: 0x20, count: (8 - headerBytes.count % 8) % 8)

        var out = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for t in ordered { out.append(contentsOf: t.bytes) }
        return out
    }

    /// Encodes and atomically writes `tensors` to `path`; on any error the old file is untouched.
    public static func write(tensors: [SafeTensor], metadata: [String: String] = [:], to path: String) throws {
        let data = try encode(tensors: tensors, metadata: metadata, path: path)
        try AtomicFile.write(data, to: path)
    }

    /// Writes this file's tensors and metadata atomically to `path`.
    public func write(to path: String) throws {
        try SafeTensorsFile.write(tensors: allTensors, metadata: metadata, to: path)
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    private static func firstInvalidUTF8(_ bytes: ArraySlice<UInt8>) -> Int {
        var lo = bytes.startIndex, hi = bytes.endIndex
        // Smallest prefix that fails to validate; its last byte is where decoding broke.
        while lo < hi {
            let mid = (lo + hi) / 2
            if String(validating: bytes[bytes.startIndex...mid], as: UTF8.self) == nil { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}

// MARK: - A small JSON parser for the header

/// JSON values as the header needs them: integers are kept exact (offsets can exceed 2^53 only in
/// theory, but shapes must be integers, not 3.0).
enum JSONValue: Equatable {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case null

    var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string(let s): "the string \"\(s.prefix(40))\""
        case .integer(let i): "the integer \(i)"
        case .number(let d): "the number \(d)"
        case .bool(let b): "\(b)"
        case .null: "null"
        }
    }

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.array(let x), .array(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.integer(let x), .integer(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.bool(let x), .bool(let y)): x == y
        case (.null, .null): true
        default: false
        }
    }
}

struct HeaderJSONParser {
    struct Failure: Error {
        var offset: Int
        var what: String
    }

    let bytes: [UInt8]
    var position: Int
    let end: Int
    var depth = 0

    init(bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        position = range.lowerBound
        end = range.upperBound
    }

    mutating func parseDocument() throws -> JSONValue {
        skipSpace()
        let value = try parseValue()
        skipSpace()
        guard position == end else { throw fail("expected the end of the header after the JSON value") }
        return value
    }

    private func fail(_ what: String) -> Failure {
        let found = position < end ? "found \(describe(bytes[position]))" : "found the end of the header"
        return Failure(offset: position, what: "\(what), \(found)")
    }

    private func describe(_ b: UInt8) -> String {
        (0x21...0x7e).contains(b) ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
    }

    private mutating func skipSpace() {
        while position < end, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[position]) { position += 1 }
    }

    private mutating func expect(_ c: UInt8, _ what: String) throws {
        guard position < end, bytes[position] == c else { throw fail("expected \(what)") }
        position += 1
    }

    private mutating func parseValue() throws -> JSONValue {
        guard position < end else { throw fail("expected a JSON value") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("expected a JSON value")
        }
    }

    private mutating func literal(_ word: String) throws {
        for c in word.utf8 {
            guard position < end, bytes[position] == c else { throw fail("expected \(word)") }
            position += 1
        }
    }

    private mutating func nest() throws {
        depth += 1
        guard depth < 64 else { throw fail("JSON nested too deeply") }
    }

    private mutating func parseObject() throws -> JSONValue {
        try nest()
        defer { depth -= 1 }
        position += 1
        var members = [(String, JSONValue)]()
        var keys = Set<String>()
        skipSpace()
        if position < end, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipSpace()
            let keyOffset = position
            guard position < end, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try parseString()
            guard keys.insert(key).inserted else {
                throw Failure(offset: keyOffset, what: "duplicate key \"\(key)\"")
            }
            skipSpace()
            try expect(UInt8(ascii: ":"), "':' after a key")
            skipSpace()
            members.append((key, try parseValue()))
            skipSpace()
            guard position < end else { throw fail("expected ',' or '}'") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"), "',' or '}'")
            return .object(members)
        }
    }

    private mutating func parseArray() throws -> JSONValue {
        try nest()
        defer { depth -= 1 }
        position += 1
        var items = [JSONValue]()
        skipSpace()
        if position < end, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try parseValue())
            skipSpace()
            guard position < end else { throw fail("expected ',' or ']'") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "]"), "',' or ']'")
            return .array(items)
        }
    }

    private mutating func parseString() throws -> String {
        position += 1
        var out = [UInt8]()
        while true {
            guard position < end else { throw fail("expected a closing '\"'") }
            let c = bytes[position]
            if c == UInt8(ascii: "\"") { position += 1; break }
            if c < 0x20 { throw fail("expected no raw control characters in a string") }
            if c != UInt8(ascii: "\\") { out.append(c); position += 1; continue }
            position += 1
            guard position < end else { throw fail("expected an escape character") }
            let e = bytes[position]
            position += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard position + 1 < end, bytes[position] == UInt8(ascii: "\\"),
                          bytes[position + 1] == UInt8(ascii: "u") else {
                        throw fail("expected a low surrogate after \\u\(String(scalar, radix: 16))")
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("expected a low surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("expected a valid unicode escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                position -= 1
                throw fail("expected a valid escape character")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func hex4() throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard position < end, let d = hexDigit(bytes[position]) else { throw fail("expected 4 hex digits") }
            v = v * 16 + d
            position += 1
        }
        return v
    }

    private func hexDigit(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(c - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private mutating func parseNumber() throws -> JSONValue {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        func digits(_ p: inout Int) -> Int {
            let s = p
            while p < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[p]) { p += 1 }
            return p - s
        }
        guard digits(&position) > 0 else { throw fail("expected a digit") }
        var isInteger = true
        if position < end, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard digits(&position) > 0 else { throw fail("expected a digit after '.'") }
        }
        if position < end, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if position < end, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits(&position) > 0 else { throw fail("expected a digit in the exponent") }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if isInteger, let i = Int(text) { return .integer(i) }
        guard let d = Double(text) else { throw Failure(offset: start, what: "number \(text) out of range") }
        return .number(d)
    }
}
