// torch.save's current format (PyTorch 1.6 and later): a zip archive, its entries stored
// uncompressed under one top folder (any name: "archive", or the file's stem):
//   ARCHIVE/data.pkl     the pickled object; persistent ids ('storage', type, key, location, numel)
//   ARCHIVE/data/KEY     each storage's raw bytes
//   ARCHIVE/byteorder    "little" or "big" (absent in old files: little)
//   ARCHIVE/version, .format_version, .storage_alignment, .data/serialization_id: not needed here
// A TorchScript archive (torch.jit.save) looks alike but holds code; it is recognised and refused
// with a message saying what to save instead.

import Foundation

enum PyTorchZipFormat {
    /// "PK\x03\x04": a zip archive's first local header.
    static func matches(_ bytes: [UInt8]) -> Bool { bytes.starts(with: [0x50, 0x4b, 0x03, 0x04]) }

    /// The largest data.pkl a state dict of `storages` storages is allowed.
    static func maximumPickleBytes(storages: Int) -> Int { 256 * 1024 + 16 * 1024 * storages }

    static func read(_ bytes: [UInt8], path: String) throws -> ImportedStateDict {
        let archive = try PyTorchZipArchive(bytes: bytes, path: path)
        let isTopLevelPickle: (PyTorchZipRecord) -> Bool = { r in
            let parts = r.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.last == "data.pkl" && parts.count <= 2
        }
        guard let pickleRecord = archive.records.first(where: isTopLevelPickle) else {
            let names = archive.records.prefix(8).map(\.name).joined(separator: ", ")
            throw STPError.file(.checkpoint, path, "a zip archive without ARCHIVE/data.pkl, so not a torch.save checkpoint; its entries: \(names.isEmpty ? "none" : names)\(archive.records.count > 8 ? ", ..." : "")")
        }
        let prefix = String(pickleRecord.name.dropLast("data.pkl".count))
        if archive.record(prefix + "constants.pkl") != nil {
            throw STPError.file(.checkpoint, path, "a TorchScript archive (torch.jit.save), which holds code, not a state dict; in Python, save the model's weights with torch.save(model.state_dict(), ...) instead")
        }

        var bigEndian = false
        if let order = archive.record(prefix + "byteorder") {
            let text = String(decoding: try archive.contents(order.name), as: UTF8.self)
            switch text {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default:
                throw STPError.file(.checkpoint, path, offset: order.dataRange.lowerBound,
                                    "expected \(order.name) to say \"little\" or \"big\", found \"\(text.prefix(20))\"")
            }
        }

        // What the pickle of a state dict can need: a few hundred bytes per tensor (its key, the
        // rebuild call, shape and strides) and one storage entry per tensor. Checked against
        // the size the zip declares, before anything is inflated: a 306 KB archive once held a
        // data.pkl that inflated to 300 MB.
        let storageCount = archive.records.filter { $0.name.hasPrefix(prefix + "data/") }.count
        let pickleLimit = PyTorchZipFormat.maximumPickleBytes(storages: storageCount)
        guard pickleRecord.uncompressedSize <= pickleLimit else {
            throw STPError.file(.checkpoint, path, offset: pickleRecord.dataRange.lowerBound,
                                "\(pickleRecord.name) inflates to \(pickleRecord.uncompressedSize) bytes, more than the \(pickleLimit) that the pickle of a state dict with \(storageCount) storages can need (256 KiB + 16 KiB per storage); not a checkpoint")
        }
        var unpickler = RestrictedUnpickler(bytes: try archive.contents(pickleRecord.name), path: path,
                                            fileOffset: pickleRecord.dataRange.lowerBound,
                                            record: pickleRecord.name, persistentIDs: .torchZip)
        let top = try unpickler.load()

        return try PyTorchStateDict.assemble(top, path: path, format: .torchZip, fileSize: bytes.count,
                                             bigEndian: bigEndian) { key in
            let name = prefix + "data/" + key
            guard let record = archive.record(name) else { return nil }
            return PyTorchStorageBytes(bytes: try archive.contents(name)[...], name: name,
                                       fileOffset: record.isCompressed ? nil : record.dataRange.lowerBound)
        }
    }
}
