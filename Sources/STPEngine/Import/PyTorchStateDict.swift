// From the object a checkpoint's pickle built to a flat, named list of Float tensors.
//
// Training scripts save either the state dict itself (a dict or OrderedDict of tensors) or a
// dict that holds it next to other things: `{"state_dict": ..., "best_prec1": 91.78}`,
// `{"model": ..., "epoch": 90, "optimizer": ...}`. This file finds the state dict, keeps its
// tensors in file order under their raw names (a `module.` prefix from DataParallel stays), turns
// the numbers, strings and booleans beside it into text metadata, and reads each tensor's
// elements from its storage. Only the tensors that are imported are read, so an optimizer state
// next to the model costs nothing.

import Foundation

/// The bytes of one storage and where they are, for error messages.
struct PyTorchStorageBytes {
    var bytes: ArraySlice<UInt8>
    /// How the file names it: "archive/data/3", "legacy storage '94020255495056'".
    var name: String
    /// Absolute file offset of its first byte, when the file holds it uncompressed.
    var fileOffset: Int?
}

enum PyTorchStateDict {
    /// The keys under which checkpoints commonly nest the state dict, in the order tried.
    static let containerKeys = ["state_dict", "model", "model_state_dict", "net", "state"]

    /// Builds the imported state dict from the pickle's top-level object. `storage(key)` returns
    /// the bytes of a storage, or nil if the file has none under that key. The file's size and
    /// the storages' bytes bound the total number of elements: views can repeat stored elements
    /// (tied or broadcast tensors), but a crafted file must not turn a few bytes into gigabytes.
    static func assemble(_ top: PickleValue, path: String, format: ImportedStateDict.Format,
                         fileSize: Int, bigEndian: Bool = false,
                         storage: (String) throws -> PyTorchStorageBytes?) throws -> ImportedStateDict {
        guard let topDict = top.dict else {
            throw STPError.file(.checkpoint, path, "expected the checkpoint to hold a dict (a state dict, or a dict holding one under \(quotedKeys)), found \(top.kindName)")
        }
        let (stateDict, containerKey) = try locate(topDict, path: path)

        var cache = [String: PyTorchStorageBytes]()
        var budgetBytes = fileSize
        var elementsRead = 0
        func values(_ name: String, _ t: PickledTensor) throws -> [Float] {
            let key = t.storage.key
            if cache[key] == nil {
                guard let found = try storage(key) else {
                    throw STPError.file(.checkpoint, path, offset: t.pickleOffset,
                                        "tensor \"\(name)\": its storage '\(key)' is missing from the file; the file is truncated or corrupt")
                }
                cache[key] = found
                budgetBytes += found.bytes.count
            }
            let elementBudget = 4 * budgetBytes + PickledTensor.maximumBroadcastElements
            elementsRead += min(t.elementCount, elementBudget + 1)
            guard elementsRead <= elementBudget else {
                throw STPError.file(.checkpoint, path, offset: t.pickleOffset,
                                    "tensor \"\(name)\": the tensors so far hold more than \(elementBudget) elements, more than stp accepts from a file of \(fileSize) bytes")
            }
            let s = cache[key]!
            return try t.floats(rootBytes: s.bytes, bigEndian: bigEndian, name: name, storageName: s.name,
                                path: path, storageFileOffset: s.fileOffset)
        }

        var tensors = [ImportedTensor]()
        for (key, value) in stateDict.entries {
            guard let name = key.string, let t = value.tensor else { continue }
            tensors.append(ImportedTensor(name: name, shape: t.shape, values: try values(name, t),
                                          dtype: t.elementType.rawValue))
        }

        var metadata = [String: String]()
        if let containerKey {
            for (key, value) in topDict.entries {
                guard let name = key.string, name != containerKey else { continue }
                switch value {
                case .bool(let b): metadata[name] = b ? "True" : "False"
                case .int(let i): metadata[name] = String(i)
                case .float(let d): metadata[name] = "\(d)"
                case .string(let s): metadata[name] = s
                case .tensor(let t) where t.elementCount == 1:  // e.g. best_acc1 kept as a tensor
                    let v = try values(name, t)[0]
                    let isInteger = t.elementType != .float32 && t.elementType != .float64
                        && t.elementType != .float16 && t.elementType != .bfloat16
                    metadata[name] = isInteger ? Int64(exactly: v).map(String.init) ?? "\(v)" : "\(v)"
                default: continue
                }
            }
        }
        return ImportedStateDict(path: path, format: format, tensors: tensors, metadata: metadata)
    }

    /// The state dict: under the first container key whose value is a dict of tensors, else the
    /// top-level dict itself if it holds tensors.
    private static func locate(_ top: PickleDict, path: String) throws -> (PickleDict, String?) {
        func holdsTensors(_ d: PickleDict) -> Bool { d.values.contains { $0.tensor != nil } }
        for key in containerKeys {
            if let d = top.value(forKey: key)?.dict, holdsTensors(d) { return (d, key) }
        }
        if holdsTensors(top) { return (top, nil) }
        let listed = top.entries.prefix(20).map { k, v in "\(k.string.map { "\"\($0)\"" } ?? k.kindName) (\(v.kindName))" }
        let more = top.count > 20 ? ", ... (\(top.count) keys)" : ""
        throw STPError.file(.checkpoint, path, "found no state dict: expected a dict of tensors at the top level or under \(quotedKeys); the top-level keys are \(listed.isEmpty ? "none (an empty dict)" : listed.joined(separator: ", ") + more)")
    }

    private static var quotedKeys: String { containerKeys.map { "\"\($0)\"" }.joined(separator: ", ") }
}
