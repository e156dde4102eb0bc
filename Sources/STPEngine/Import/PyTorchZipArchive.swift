// The zip container of torch.save's current format, read with ZIPFoundation after a bounds check
// of our own.
//
// ZIPFoundation reads an in-memory archive through a cookie file whose reads trap when an offset
// in the archive points past the end of the data, which a truncated or corrupt checkpoint easily
// does. So before ZIPFoundation sees the bytes, this file walks the zip structure the way
// ZIPFoundation will (end-of-central-directory record searched from the end, the ZIP64 record
// when present, each central directory entry with its ZIP64 extra field, each local header) and
// checks that every offset and size it will seek to lies inside the file. A failed check is an
// STPError naming the byte; ZIPFoundation then only extracts (stored or deflated) and we check
// each entry's CRC-32 with zlib.

import CZlibShim
import Foundation
import ZIPFoundation

/// One entry of the central directory, with the byte range of its data in the file.
struct PyTorchZipRecord: Sendable, Equatable {
    var name: String
    /// Where the (possibly compressed) data lies in the file.
    var dataRange: Range<Int>
    var isCompressed: Bool
    var uncompressedSize: Int
}

/// A validated zip archive whose entries can be extracted by name.
struct PyTorchZipArchive {
    let path: String
    /// Entries in central directory order (the first of duplicate names wins in `record`).
    let records: [PyTorchZipRecord]
    private let index: [String: Int]
    private let archive: Archive
    private let entries: [String: Entry]

    init(bytes: [UInt8], path: String) throws {
        self.path = path
        let records = try Self.validatedRecords(bytes, path: path)
        self.records = records
        var index = [String: Int]()
        for (i, r) in records.enumerated() where index[r.name] == nil { index[r.name] = i }
        self.index = index
        do {
            archive = try Archive(data: Data(bytes), accessMode: .read)
        } catch {
            throw STPError.file(.checkpoint, path, "ZIPFoundation cannot open the zip archive: \(error)")
        }
        var entries = [String: Entry]()
        var count = 0
        for entry in archive {
            count += 1
            if entries[entry.path] == nil { entries[entry.path] = entry }
        }
        guard count == records.count else {
            throw STPError.file(.checkpoint, path, "ZIPFoundation reads \(count) of the \(records.count) entries of the zip archive; it is corrupt")
        }
        self.entries = entries
    }

    func record(_ name: String) -> PyTorchZipRecord? { index[name].map { records[$0] } }

    /// The uncompressed bytes of entry `name`, CRC-checked.
    func contents(_ name: String) throws -> [UInt8] {
        guard let record = record(name), let entry = entries[name] else {
            throw STPError.file(.checkpoint, path, "the zip archive has no entry \(name)")
        }
        guard entry.type == .file else {
            throw STPError.file(.checkpoint, path, offset: record.dataRange.lowerBound,
                                "zip entry \(name) is a \(entry.type == .directory ? "directory" : "symbolic link"), expected a file")
        }
        var out = [UInt8]()
        out.reserveCapacity(record.uncompressedSize)
        // The CRC comes from zlib: ZIPFoundation's own is plain Swift, slow in debug builds.
        var crc = UInt(0)
        do {
            _ = try archive.extract(entry, bufferSize: 1 << 20, skipCRC32: true, consumer: { chunk in
                guard out.count + chunk.count <= record.uncompressedSize else {
                    throw STPError.file(.checkpoint, path, offset: record.dataRange.lowerBound,
                                        "zip entry \(name) inflates to more than the \(record.uncompressedSize) bytes its header declares")
                }
                chunk.withUnsafeBytes { raw in
                    crc = CZlibShim.crc32(crc, raw.bindMemory(to: UInt8.self).baseAddress, UInt32(raw.count))
                }
                out.append(contentsOf: chunk)
            })
        } catch let e as STPError {
            throw e
        } catch {
            throw STPError.file(.checkpoint, path, offset: record.dataRange.lowerBound,
                                "cannot extract zip entry \(name): \(error)")
        }
        guard out.count == record.uncompressedSize else {
            throw STPError.file(.checkpoint, path, offset: record.dataRange.lowerBound,
                                "zip entry \(name) holds \(out.count) bytes, but its header declares \(record.uncompressedSize)")
        }
        guard CRC32(truncatingIfNeeded: crc) == entry.checksum else {
            throw STPError.file(.checkpoint, path, offset: record.dataRange.lowerBound,
                                "zip entry \(name) fails its CRC-32 check (stored \(String(entry.checksum, radix: 16)), computed \(String(crc, radix: 16))); the file is corrupt")
        }
        return out
    }

    // MARK: The structure check

    private static let endOfDirectorySignature: UInt32 = 0x0605_4b50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    private static let zip64EndSignature: UInt32 = 0x0606_4b50
    private static let directorySignature: UInt32 = 0x0201_4b50
    private static let localHeaderSignature: UInt32 = 0x0403_4b50

    /// Walks the structure as ZIPFoundation will and checks every offset against the file size.
    static func validatedRecords(_ bytes: [UInt8], path: String) throws -> [PyTorchZipRecord] {
        func fail(_ offset: Int, _ what: String) -> STPError {
            STPError.file(.checkpoint, path, offset: offset, "zip archive: \(what)")
        }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
        let size = bytes.count
        let truncated = "the file is truncated or corrupt"

        // End of central directory: ZIPFoundation takes the last signature in the file.
        guard size >= 22 else {
            throw fail(size, "expected an end-of-central-directory record (22 bytes) at the end, but the file has only \(size) bytes; \(truncated)")
        }
        // The record is followed by at most a 65535-byte comment.
        var end = size - 22
        let earliest = max(0, size - 22 - 65535)
        while end >= earliest, u32(end) != endOfDirectorySignature { end -= 1 }
        guard end >= earliest else {
            throw fail(size, "expected an end-of-central-directory record (PK\\x05\\x06) near the end of the file, found none; \(truncated)")
        }
        guard end + 22 + u16(end + 20) <= size else {
            throw fail(end, "the end-of-central-directory record's comment runs past the end of the file; \(truncated)")
        }
        var entryCount = UInt64(u16(end + 10))
        var directorySize = UInt64(u32(end + 12))
        var directoryOffset = UInt64(u32(end + 16))
        // ZIP64, used by ZIPFoundation when a locator and a record sit right before the end record.
        if end > 20, end - 20 > 56, u32(end - 20) == zip64LocatorSignature,
           u32(end - 76) == zip64EndSignature, u16(end - 76 + 14) >= 45 {
            entryCount = u64(end - 76 + 32)
            directorySize = u64(end - 76 + 40)
            directoryOffset = u64(end - 76 + 48)
        }
        guard directoryOffset <= UInt64(end), directorySize <= UInt64(end) - directoryOffset,
              entryCount <= directorySize / 46 else {
            throw fail(end, "the central directory (\(entryCount) entries, \(directorySize) bytes at byte \(directoryOffset)) does not fit before the end record at byte \(end); \(truncated)")
        }

        var records = [PyTorchZipRecord]()
        var at = Int(directoryOffset)
        let directoryEnd = Int(directoryOffset + directorySize)
        for i in 0..<Int(entryCount) {
            guard at + 46 <= directoryEnd, u32(at) == directorySignature else {
                throw fail(at, "expected central directory entry \(i + 1) of \(entryCount) (PK\\x01\\x02); \(truncated)")
            }
            let flags = u16(at + 8)
            let method = u16(at + 10)
            let nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32)
            let entryEnd = at + 46 + nameLength + extraLength + commentLength
            guard entryEnd <= directoryEnd else {
                throw fail(at, "central directory entry \(i + 1) runs past the directory's end at byte \(directoryEnd); \(truncated)")
            }
            let name = String(decoding: bytes[at + 46..<at + 46 + nameLength], as: UTF8.self)
            guard flags & 1 == 0 else { throw fail(at, "entry \(name) is encrypted") }
            guard method == 0 || method == 8 else {
                throw fail(at, "entry \(name) uses compression method \(method); expected stored (0) or deflated (8)")
            }
            var compressed = UInt64(u32(at + 20)), uncompressed = UInt64(u32(at + 24))
            var localOffset = UInt64(u32(at + 42))
            // The ZIP64 extra field holds, in this order, the values whose 32-bit fields are all ones.
            let sentinel = UInt64(UInt32.max)
            var fields: [Int] = []  // 0 uncompressed, 1 compressed, 2 local offset, 3 disk
            if uncompressed == sentinel { fields.append(0) }
            if compressed == sentinel { fields.append(1) }
            if localOffset == sentinel { fields.append(2) }
            if u16(at + 34) == 0xffff { fields.append(3) }
            let extraStart = at + 46 + nameLength
            var e = 0
            while e < extraLength - 4 {
                let id = u16(extraStart + e), length = u16(extraStart + e + 2)
                guard e + 4 + length <= extraLength else { break }
                if id == 0x0001 {
                    let needed = fields.reduce(0) { $0 + ($1 == 3 ? 4 : 8) }
                    if needed == length {
                        var p = extraStart + e + 4
                        var values = [UInt64](repeating: 0, count: 3)
                        for f in fields where f < 3 { values[f] = u64(p); p += 8 }
                        if values[0] > 0 { uncompressed = values[0] }
                        if values[1] > 0 { compressed = values[1] }
                        if values[2] > 0 { localOffset = values[2] }
                    }
                    break
                }
                e += 4 + length
            }
            guard size >= 30, localOffset <= UInt64(size - 30), u32(Int(localOffset)) == localHeaderSignature else {
                throw fail(at, "entry \(name): expected its local header (PK\\x03\\x04) at byte \(localOffset); \(truncated)")
            }
            let local = Int(localOffset)
            let dataStart = local + 30 + u16(local + 26) + u16(local + 28)
            let readSize = method == 0 ? uncompressed : compressed
            guard dataStart <= size, readSize <= UInt64(size - dataStart), compressed <= UInt64(size - dataStart) else {
                throw fail(local, "entry \(name): its \(readSize) bytes of data at byte \(dataStart) run past the end of the file (\(size) bytes); \(truncated)")
            }
            guard u16(local + 8) == method else {
                throw fail(local, "entry \(name): the local header's compression method \(u16(local + 8)) differs from the central directory's \(method)")
            }
            // Deflate expands at most 1032-fold; a larger claim is corrupt (or a zip bomb).
            guard method == 0 ? uncompressed == compressed : uncompressed / 1032 <= compressed + 1 else {
                throw fail(at, "entry \(name) declares \(uncompressed) bytes from \(compressed) \(method == 0 ? "stored" : "deflated") bytes, which is impossible")
            }
            records.append(PyTorchZipRecord(name: name, dataRange: dataStart..<dataStart + Int(compressed),
                                            isCompressed: method == 8, uncompressedSize: Int(uncompressed)))
            at = entryEnd
        }
        return records
    }
}
