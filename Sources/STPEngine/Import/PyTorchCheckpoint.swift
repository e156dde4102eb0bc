// Bring your own model: reads a user's PyTorch checkpoint into named Float tensors, safely.
//
// Three formats are recognised from their first bytes, never from the file name:
//   - torch.save's zip format (PyTorch 1.6 and later): "PK\x03\x04"      PyTorchZipFormat.swift
//   - torch.save's legacy format: a pickle of torch's magic number       PyTorchLegacyFormat.swift
//   - safetensors: an 8-byte header length, then '{'                    SafeTensors.swift
// The pickles inside torch's formats are read by a restricted unpickler (Pickle.swift) that runs
// nothing and resolves only the globals a state dict is made of, so a malicious checkpoint is an
// error, not a program. The result is the flat state dict with raw names; mapping them onto a
// network (stripping `module.`, matching shapes) is the caller's business.

import Foundation

/// One tensor of an imported state dict, in row-major order.
public struct ImportedTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    /// The elements as Float; integer and boolean tensors keep their values (true is 1).
    public var values: [Float]
    /// The element type in the file, under torch's name: "float32", "float16", "int64", ...
    public var dtype: String

    public init(name: String, shape: [Int], values: [Float], dtype: String) {
        self.name = name
        self.shape = shape
        self.values = values
        self.dtype = dtype
    }
}

/// The tensors of a checkpoint's state dict, and the scalars saved beside it.
public struct ImportedStateDict: Sendable {
    public enum Format: String, Sendable {
        case torchZip = "torch zip", torchLegacy = "torch legacy", safetensors
    }

    public var path: String
    public var format: Format
    /// In file order, under the names the file gives them.
    public var tensors: [ImportedTensor]
    /// Numbers, strings and booleans saved next to the state dict, as text in Python's spelling
    /// ("best_prec1": "91.78", "epoch": "90", "amp": "True"); for safetensors, its __metadata__.
    public var metadata: [String: String]

    public init(path: String, format: Format, tensors: [ImportedTensor], metadata: [String: String]) {
        self.path = path
        self.format = format
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor named exactly `name`, if any.
    public func tensor(_ name: String) -> ImportedTensor? { tensors.first { $0.name == name } }
}

public enum PyTorchCheckpoint {
    /// Reads the checkpoint at `path`.
    public static func read(path: String) throws -> ImportedStateDict {
        try decode(try RegularFile.read(path, kind: .checkpoint, what: "a PyTorch checkpoint (torch.save: a zip archive or a legacy pickle file)"), path: path)
    }

    /// Reads a checkpoint held in memory; `path` names it in error messages.
    public static func decode(_ bytes: [UInt8], path: String) throws -> ImportedStateDict {
        if PyTorchZipFormat.matches(bytes) { return try PyTorchZipFormat.read(bytes, path: path) }
        if PyTorchLegacyFormat.matches(bytes) { return try PyTorchLegacyFormat.read(bytes, path: path) }
        if looksLikeSafeTensors(bytes) { return try safeTensors(bytes, path: path) }

        let head = bytes.prefix(16).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        let start = bytes.isEmpty ? "the file is empty" : "the file starts with \(head.joined(separator: " "))"
        let pickle = bytes.first == 0x80
            ? " It looks like a Python pickle without torch's magic number (a plain pickle.dump, or a cut-off legacy checkpoint), which stp does not read."
            : ""
        throw STPError.file(.checkpoint, path, offset: 0,
                            "not a PyTorch checkpoint: expected a torch.save zip archive (starting \"PK\\x03\\x04\"), a legacy torch.save file (a pickle of the magic number 0x1950a86a20f9469cfc6c, usually starting 80 02 8a 0a) or a safetensors file (an 8-byte header length, then '{'); \(start).\(pickle)")
    }

    /// An 8-byte little-endian header length that fits the file, then a JSON object.
    private static func looksLikeSafeTensors(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 9, bytes[8] == UInt8(ascii: "{") else { return false }
        let n = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return n <= UInt64(bytes.count - 8)
    }

    /// A safetensors file as a state dict: tensors in the order of their data, metadata as is.
    private static func safeTensors(_ bytes: [UInt8], path: String) throws -> ImportedStateDict {
        let file = try SafeTensorsFile.decode(bytes, path: path)
        let ordered = file.tensors.values.sorted {
            ($0.dataOffsets.lowerBound, $0.name) < ($1.dataOffsets.lowerBound, $1.name)
        }
        let tensors = try ordered.map { e -> ImportedTensor in
            let values: [Float]
            let dtype: String
            switch e.dtype {
            case .f32: values = try file.floats(e.name).values; dtype = "float32"
            case .f64: values = try file.floats(e.name).values; dtype = "float64"
            case .i32: values = try file.int64s(e.name).values.map(Float.init); dtype = "int32"
            case .i64: values = try file.int64s(e.name).values.map(Float.init); dtype = "int64"
            case .u8: values = try file.int64s(e.name).values.map(Float.init); dtype = "uint8"
            }
            return ImportedTensor(name: e.name, shape: e.shape, values: values, dtype: dtype)
        }
        return ImportedStateDict(path: path, format: .safetensors, tensors: tensors, metadata: file.metadata)
    }
}
