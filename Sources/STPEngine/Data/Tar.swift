// Reading (and writing) tar archives held in memory: POSIX ustar, GNU tar (long names through
// `././@LongLink` entries, base-256 sizes) and pax extended headers (`path`, `size`). Enough to
// unpack the CIFAR archives without shelling out to `tar`, with every header checksum verified.

public struct TarEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case file, directory, symlink(target: String), hardlink(target: String), other(UInt8)
    }
    public var name: String
    public var kind: Kind
    public var mode: Int
    /// Where the entry's contents lie in the archive bytes.
    public var dataRange: Range<Int>
    public var size: Int { dataRange.count }
}

public enum Tar {
    static let block = 512

    /// Parses every entry of `bytes`. `path` names the archive in errors.
    public static func entries(in bytes: [UInt8], path: String) throws -> [TarEntry] {
        var result = [TarEntry]()
        var offset = 0
        var longName: String?
        var longLink: String?
        var paxPath: String?
        var paxSize: Int?
        var sawEnd = false
        while offset + block <= bytes.count {
            let header = bytes[offset..<(offset + block)]
            if header.allSatisfy({ $0 == 0 }) { sawEnd = true; break }
            try verifyChecksum(header, at: offset, path: path)
            let typeflag = bytes[offset + 156]
            var size = try number(bytes, offset + 124, 12, what: "size", headerAt: offset, path: path)
            if let s = paxSize { size = s }
            let dataStart = offset + block
            guard size >= 0, dataStart + size <= bytes.count else {
                throw STPError.file(.data, path, offset: offset,
                                    "tar entry needs \(size) bytes of data but the archive ends at byte \(bytes.count) (truncated archive)")
            }
            let data = dataStart..<(dataStart + size)
            let next = dataStart + (size + block - 1) / block * block
            switch typeflag {
            case UInt8(ascii: "L"):  // GNU long name for the next entry
                longName = cString(bytes[data])
            case UInt8(ascii: "K"):  // GNU long link target
                longLink = cString(bytes[data])
            case UInt8(ascii: "x"):  // pax extended header for the next entry
                let records = try paxRecords(bytes[data], at: dataStart, path: path)
                paxPath = records["path"]
                if let s = records["size"] {
                    guard let n = Int(s), n >= 0 else {
                        throw STPError.file(.data, path, offset: dataStart, "pax size '\(s)' is not a byte count")
                    }
                    paxSize = n
                }
                if let l = records["linkpath"] { longLink = l }
            case UInt8(ascii: "g"):  // pax global header: nothing we need
                break
            default:
                var name = cString(bytes[(offset + 0)..<(offset + 100)])
                let magic = Array(bytes[(offset + 257)..<(offset + 263)])
                if magic == Array("ustar\0".utf8) {  // POSIX ustar: prefix field holds the leading path
                    let prefix = cString(bytes[(offset + 345)..<(offset + 500)])
                    if !prefix.isEmpty { name = prefix + "/" + name }
                }
                if let n = paxPath ?? longName { name = n }
                let link = longLink ?? cString(bytes[(offset + 157)..<(offset + 257)])
                let mode = try number(bytes, offset + 100, 8, what: "mode", headerAt: offset, path: path)
                let kind: TarEntry.Kind
                switch typeflag {
                case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
                    kind = name.hasSuffix("/") ? .directory : .file
                case UInt8(ascii: "5"): kind = .directory
                case UInt8(ascii: "2"): kind = .symlink(target: link)
                case UInt8(ascii: "1"): kind = .hardlink(target: link)
                default: kind = .other(typeflag)
                }
                result.append(TarEntry(name: name, kind: kind, mode: mode, dataRange: data))
                longName = nil
                longLink = nil
                paxPath = nil
                paxSize = nil
            }
            offset = next
        }
        if !sawEnd && offset != bytes.count {
            throw STPError.file(.data, path, offset: offset,
                                "expected a 512-byte tar header but only \(bytes.count - offset) bytes remain (truncated archive)")
        }
        return result
    }

    /// The checksum is the sum of the header bytes with the checksum field read as spaces.
    /// Historic tars summed signed chars, so both sums are accepted.
    static func verifyChecksum(_ header: ArraySlice<UInt8>, at offset: Int, path: String) throws {
        let base = header.startIndex
        var unsigned = 0
        var signed = 0
        for i in 0..<block {
            let b = (i >= 148 && i < 156) ? UInt8(ascii: " ") : header[base + i]
            unsigned += Int(b)
            signed += Int(Int8(bitPattern: b))
        }
        var stored = 0
        var digits = 0
        for b in header[(base + 148)..<(base + 156)] {
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "7") {
                stored = stored * 8 + Int(b - UInt8(ascii: "0"))
                digits += 1
            } else if b == 0 || b == UInt8(ascii: " ") {
                if digits > 0 { break }
            } else {
                digits = 0
                break
            }
        }
        guard digits > 0 else {
            throw STPError.file(.data, path, offset: offset + 148,
                                "tar header checksum field is not an octal number (not a tar archive?)")
        }
        guard stored == unsigned || stored == signed else {
            throw STPError.file(.data, path, offset: offset,
                                "tar header checksum mismatch: header says \(stored), bytes sum to \(unsigned) (corrupt archive)")
        }
    }

    /// An octal numeric field, or GNU base-256 when the high bit of the first byte is set.
    static func number(_ bytes: [UInt8], _ start: Int, _ length: Int, what: String, headerAt: Int,
                       path: String) throws -> Int {
        let field = bytes[start..<(start + length)]
        if field.first! & 0x80 != 0 {
            var value = Int(field.first! & 0x7F)
            for b in field.dropFirst() {
                guard value < (Int.max >> 8) else {
                    throw STPError.file(.data, path, offset: start, "tar \(what) field is too large")
                }
                value = value << 8 | Int(b)
            }
            return value
        }
        var value = 0
        var seenDigit = false
        for b in field {
            if b == 0 || b == UInt8(ascii: " ") {
                if seenDigit { break } else { continue }
            }
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "7") else {
                throw STPError.file(.data, path, offset: start,
                                    "tar \(what) field of the header at byte \(headerAt) is not an octal number")
            }
            seenDigit = true
            value = value * 8 + Int(b - UInt8(ascii: "0"))
        }
        return value
    }

    static func cString(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// pax records: "LEN KEY=VALUE\n", where LEN counts the whole record.
    static func paxRecords(_ data: ArraySlice<UInt8>, at offset: Int, path: String) throws -> [String: String] {
        var records = [String: String]()
        var i = data.startIndex
        while i < data.endIndex {
            guard let space = data[i...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: data[i..<space], as: UTF8.self)),
                  length > 0, i + length <= data.endIndex,
                  let eq = data[space..<(i + length)].firstIndex(of: UInt8(ascii: "="))
            else {
                throw STPError.file(.data, path, offset: offset + (i - data.startIndex),
                                    "malformed pax extended header record")
            }
            let key = String(decoding: data[(space + 1)..<eq], as: UTF8.self)
            let value = String(decoding: data[(eq + 1)..<(i + length - 1)], as: UTF8.self)
            records[key] = value
            i += length
        }
        return records
    }

    /// Writes a ustar archive of regular files and directories (names longer than 100 bytes use
    /// a GNU long-name entry). Used for tests and for packing small caches.
    public static func archive(_ files: [(name: String, contents: [UInt8])], directories: [String] = []) -> [UInt8] {
        var out = [UInt8]()
        func header(name: String, size: Int, type: UInt8, mode: Int) {
            var h = [UInt8](repeating: 0, count: block)
            func put(_ s: String, _ at: Int, _ len: Int) {
                for (k, b) in s.utf8.prefix(len).enumerated() { h[at + k] = b }
            }
            func octal(_ v: Int, _ at: Int, _ len: Int) {
                let digits = String(v, radix: 8)
                put(String(repeating: "0", count: max(0, len - 1 - digits.count)) + digits, at, len - 1)
            }
            put(name, 0, 100)
            octal(mode, 100, 8)
            octal(0, 108, 8)
            octal(0, 116, 8)
            octal(size, 124, 12)
            octal(0, 136, 12)
            h[156] = type
            put("ustar\0", 257, 6)
            put("00", 263, 2)
            for i in 148..<156 { h[i] = UInt8(ascii: " ") }
            let sum = h.reduce(0) { $0 + Int($1) }
            let digits = String(sum, radix: 8)
            put(String(repeating: "0", count: max(0, 6 - digits.count)) + digits, 148, 6)
            h[154] = 0
            h[155] = UInt8(ascii: " ")
            out += h
        }
        func entry(name: String, contents: [UInt8], type: UInt8, mode: Int) {
            if name.utf8.count > 100 {
                let longName = Array(name.utf8) + [0]
                header(name: "././@LongLink", size: longName.count, type: UInt8(ascii: "L"), mode: 0)
                out += longName
                out += [UInt8](repeating: 0, count: (block - longName.count % block) % block)
            }
            header(name: name, size: contents.count, type: type, mode: mode)
            out += contents
            out += [UInt8](repeating: 0, count: (block - contents.count % block) % block)
        }
        for d in directories {
            entry(name: d.hasSuffix("/") ? d : d + "/", contents: [], type: UInt8(ascii: "5"), mode: 0o755)
        }
        for f in files { entry(name: f.name, contents: f.contents, type: UInt8(ascii: "0"), mode: 0o644) }
        out += [UInt8](repeating: 0, count: 2 * block)
        return out
    }
}
