// torch.save's legacy format (PyTorch before 1.6, and `_use_new_zipfile_serialization=False`),
// in which many published models still are.
//
// The file is a run of pickles followed by raw storages:
//   1. the magic number 0x1950a86a20f9469cfc6c      4. the object (the state dict, or a dict
//   2. the protocol version 1001                        holding it); its persistent ids name
//   3. sys_info: {"little_endian": True, ...}           storages ('storage', type, key, location,
//                                                        numel, view)
//   5. the list of storage keys, then for each key in that order: an 8-byte little-endian
//      element count and count * element size bytes.
// The storages' element types come from the persistent ids, so the main pickle is read before
// the data section can be walked.

import Foundation

enum PyTorchLegacyFormat {
    /// 0x1950a86a20f9469cfc6c as pickle's LONG1 writes it: little-endian, 10 bytes.
    static let magicNumber: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]
    static let protocolVersion = 1001

    /// Whether `bytes` begin as every legacy checkpoint does: a pickle (protocol 2, or higher
    /// when saved with `pickle_protocol=`) of the magic number.
    static func matches(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 2, bytes[0] == 0x80, (2...5).contains(bytes[1]) else { return false }
        var first = RestrictedUnpickler(bytes: Array(bytes.prefix(64)), path: "")
        guard case .bigInt(let b)? = try? first.load() else { return false }
        return b == magicNumber
    }

    static func read(_ bytes: [UInt8], path: String) throws -> ImportedStateDict {
        func fail(_ offset: Int, _ what: String) -> STPError { STPError.file(.checkpoint, path, offset: offset, what) }

        var start = 0
        var unpickler = RestrictedUnpickler(bytes: bytes, start: start, path: path)
        let magic = try unpickler.load()
        guard case .bigInt(let b) = magic, b == magicNumber else {
            throw fail(start, "expected torch's magic number 0x1950a86a20f9469cfc6c as the first pickle, found \(magic.kindName)")
        }

        start = unpickler.position
        unpickler = RestrictedUnpickler(bytes: bytes, start: start, path: path)
        let version = try unpickler.load()
        guard version.int == protocolVersion else {
            throw fail(start, "expected torch's legacy protocol version \(protocolVersion), found \(version.kindName)")
        }

        start = unpickler.position
        unpickler = RestrictedUnpickler(bytes: bytes, start: start, path: path)
        guard let systemInfo = try unpickler.load().dict else {
            throw fail(start, "expected the sys_info dict after the protocol version")
        }
        if case .bool(false)? = systemInfo.value(forKey: "little_endian") {
            throw fail(start, "the checkpoint was saved on a big-endian machine; stp reads little-endian legacy checkpoints (load and re-save it with torch.save on a little-endian machine)")
        }

        start = unpickler.position
        unpickler = RestrictedUnpickler(bytes: bytes, start: start, path: path, persistentIDs: .torchLegacy)
        let top = try unpickler.load()
        var declarations = [String: PickleStorageDeclaration]()
        for d in unpickler.storages { declarations[d.key] = d }

        start = unpickler.position
        unpickler = RestrictedUnpickler(bytes: bytes, start: start, path: path)
        let keyList = try unpickler.load()
        let keys = keyList.sequence?.compactMap(\.string) ?? []
        guard let keyValues = keyList.sequence, keys.count == keyValues.count else {
            throw fail(start, "expected the list of storage keys (strings) after the checkpoint's object, found \(keyList.kindName)")
        }

        // The data section: each storage's element count, then its bytes.
        var ranges = [String: Range<Int>]()
        var at = unpickler.position
        for key in keys {
            guard let declaration = declarations[key] else {
                throw fail(at, "the data section lists storage '\(key)', which no tensor in the checkpoint refers to")
            }
            guard bytes.count - at >= 8 else {
                throw fail(at, "expected the 8-byte element count of storage '\(key)', but the file ends after \(bytes.count - at) bytes; the file is truncated")
            }
            let count = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * $1) }
            guard count == UInt64(declaration.elementCount) else {
                throw fail(at, "storage '\(key)' holds \(count) elements, but the checkpoint declared \(declaration.elementCount)")
            }
            let size = declaration.elementType.byteSize
            let (length, overflow) = declaration.elementCount.multipliedReportingOverflow(by: size)
            guard !overflow, length <= bytes.count - at - 8 else {
                throw fail(at + 8, "storage '\(key)' needs \(declaration.elementCount) × \(size) bytes of \(declaration.elementType.rawValue), but only \(bytes.count - at - 8) remain; the file is truncated")
            }
            if ranges[key] == nil { ranges[key] = at + 8..<at + 8 + length }
            at += 8 + length
        }

        return try PyTorchStateDict.assemble(top, path: path, format: .torchLegacy, fileSize: bytes.count) { key in
            ranges[key].map { PyTorchStorageBytes(bytes: bytes[$0], name: "legacy storage '\(key)'", fileOffset: $0.lowerBound) }
        }
    }
}
