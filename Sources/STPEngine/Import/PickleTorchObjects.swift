// The allow-list of the restricted unpickler: the only globals a pickle may name, what "calling"
// each of them builds, and how torch's persistent ids name storages.
//
// A pickle can name any Python callable (GLOBAL 'os system') and call it (REDUCE), which is how a
// malicious checkpoint runs code when Python loads it. Here a global resolves only if it is one
// of the names a state dict is made of, modelled on torch's own `weights_only` unpickler
// (torch/_weights_only_unpickler.py): OrderedDict, the tensor rebuild functions, the storage
// classes and dtypes, and a few builtins Python uses for plain data. Every other name is refused
// before anything else happens, and even allowed names are never executed: a "call" only builds
// a PickleValue the way the Python function would have built its result.

/// A global the unpickler accepts.
enum PickleGlobal: Equatable, Sendable {
    /// `collections.OrderedDict`: a dict.
    case orderedDict
    /// `torch._utils._rebuild_tensor` (torch before 1.0), `_rebuild_tensor_v2` (the usual one)
    /// and `_rebuild_tensor_v3` (torch 2 for element types that have no typed storage class).
    case rebuildTensor(version: Int)
    /// `torch._utils._rebuild_parameter` / `_rebuild_parameter_with_state`: an nn.Parameter,
    /// kept as its tensor (a state dict saved with `keep_vars=True`).
    case rebuildParameter(withState: Bool)
    /// `torch.FloatStorage` etc. (and `torch.cuda.FloatStorage` from old GPU checkpoints): only
    /// ever named inside a persistent id, to give a storage its element type.
    case storageType(PyTorchElementType, cuda: Bool)
    /// `torch.UntypedStorage`: a storage of bytes (torch 2).
    case untypedStorage
    /// `torch.float32` etc.: an element type, the argument `_rebuild_tensor_v3` takes.
    case dtype(PyTorchElementType)
    /// `_codecs.encode`: how protocol 2 pickles `bytes` (`encode('\x00..', 'latin1')`).
    case codecsEncode
    /// `builtins.set`, `builtins.frozenset`, `builtins.bytearray`, `torch.Size`: plain data.
    case set, frozenset, bytearray, torchSize

    var qualifiedName: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensor(let v): "torch._utils._rebuild_tensor" + (v == 1 ? "" : "_v\(v)")
        case .rebuildParameter(let s): "torch._utils._rebuild_parameter" + (s ? "_with_state" : "")
        case .storageType(let t, let cuda): (cuda ? "torch.cuda." : "torch.") + t.storageClassName
        case .untypedStorage: "torch.UntypedStorage"
        case .dtype(let t): "torch." + t.rawValue
        case .codecsEncode: "_codecs.encode"
        case .set: "builtins.set"
        case .frozenset: "builtins.frozenset"
        case .bytearray: "builtins.bytearray"
        case .torchSize: "torch.Size"
        }
    }

    /// The allowed global `module.name`, or nil: the pickle must be refused.
    static func resolve(module: String, name: String) -> PickleGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor"): return .rebuildTensor(version: 1)
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensor(version: 2)
        case ("torch._utils", "_rebuild_tensor_v3"): return .rebuildTensor(version: 3)
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter(withState: false)
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameter(withState: true)
        case ("torch", "UntypedStorage"), ("torch.storage", "UntypedStorage"): return .untypedStorage
        case ("torch", "Size"): return .torchSize
        case ("_codecs", "encode"): return .codecsEncode
        // Python 2 pickles name the builtins module __builtin__.
        case ("builtins", "set"), ("__builtin__", "set"): return .set
        case ("builtins", "frozenset"), ("__builtin__", "frozenset"): return .frozenset
        case ("builtins", "bytearray"), ("__builtin__", "bytearray"): return .bytearray
        case ("torch", _), ("torch.cuda", _):
            if let t = PyTorchElementType(storageClassName: name) { return .storageType(t, cuda: module == "torch.cuda") }
            if module == "torch", let t = PyTorchElementType(rawValue: name) { return .dtype(t) }
            return nil
        default: return nil
        }
    }

    /// Why `module.name` is refused, for the error message.
    static func refusal(module: String, name: String) -> String {
        let elementTypePrefixes = ["uint", "int", "float", "complex", "qint", "quint", "bits"]
        if (module == "torch" || module == "torch.cuda") && name.hasSuffix("Storage")
            || module == "torch" && elementTypePrefixes.contains(where: name.hasPrefix) {
            return "refusing to load global \(module).\(name): an element type stp does not import; it imports tensors of \(PyTorchElementType.names)"
        }
        var hint = ""
        if module.hasPrefix("__torch__") {
            hint = " This looks like a TorchScript model (torch.jit.save); save its state_dict() with torch.save instead."
        } else if !module.hasPrefix("torch") && module != "builtins" && module != "__builtin__"
                    && module != "collections" && module != "_codecs" {
            hint = " If the file holds a whole pickled model or training objects, save model.state_dict() with torch.save instead."
        }
        return "refusing to load global \(module).\(name): a state dict needs only tensors, dicts, numbers and strings, so stp resolves only collections.OrderedDict, torch's tensor rebuild functions (torch._utils._rebuild_tensor*, _rebuild_parameter*), storage types and dtypes, torch.Size, _codecs.encode and builtins set/frozenset/bytearray; nothing in the file was run.\(hint)"
    }

    /// What calling this global with `args` builds (REDUCE), or an error from `fail`.
    /// `offset` is the absolute file offset of the opcode, recorded in rebuilt tensors.
    func call(_ args: [PickleValue], offset: Int, fail: (String) -> STPError) throws -> PickleValue {
        let name = qualifiedName
        func argument(_ i: Int, _ what: String) -> STPError {
            fail("\(name): expected argument \(i + 1) to be \(what), found \(args[i].kindName)")
        }
        switch self {
        case .orderedDict:
            let dict = PickleDict()
            guard !args.isEmpty else { return .dict(dict) }
            guard args.count == 1, let pairs = args[0].sequence else {
                throw fail("\(name): expected no arguments or one sequence of (key, value) pairs, found \(args.count) arguments")
            }
            for pair in pairs {
                guard let kv = pair.sequence, kv.count == 2 else {
                    throw fail("\(name): expected (key, value) pairs, found \(pair.kindName)")
                }
                dict.set(kv[0], kv[1])
            }
            return .dict(dict)

        case .rebuildTensor(let version):
            let counts = version == 1 ? [4] : version == 2 ? [6, 7] : [7, 8]
            guard counts.contains(args.count) else {
                throw fail("\(name): expected \(counts.map(String.init).joined(separator: " or ")) arguments, found \(args.count)")
            }
            guard case .storage(let storage) = args[0] else { throw argument(0, "a storage") }
            guard let storageOffset = args[1].int else { throw argument(1, "an integer storage offset") }
            guard let shape = args[2].integers else { throw argument(2, "a tuple of integers (the size)") }
            guard let strides = args[3].integers else { throw argument(3, "a tuple of integers (the stride)") }
            var elementType = storage.elementType
            if version == 3 {
                guard case .global(.dtype(let t)) = args[6] else { throw argument(6, "a torch dtype such as torch.float32") }
                elementType = t
            }
            return .tensor(PickledTensor(storage: storage, elementType: elementType, storageOffset: storageOffset,
                                         shape: shape, strides: strides, pickleOffset: offset))

        case .rebuildParameter(let withState):
            guard args.count == (withState ? 4 : 3) else {
                throw fail("\(name): expected \(withState ? 4 : 3) arguments, found \(args.count)")
            }
            guard case .tensor = args[0] else { throw argument(0, "a tensor") }
            return args[0]

        case .codecsEncode:
            guard args.count == 2, let text = args[0].string, let encoding = args[1].string else {
                throw fail("\(name): expected a string and an encoding name")
            }
            switch encoding.lowercased() {
            case "latin1", "latin-1", "iso-8859-1":
                var out = [UInt8]()
                for scalar in text.unicodeScalars {
                    guard scalar.value < 256 else { throw fail("\(name): a character above U+00FF cannot be latin1") }
                    out.append(UInt8(scalar.value))
                }
                return .bytes(out)
            case "utf-8", "utf8", "ascii":
                return .bytes(Array(text.utf8))
            default:
                throw fail("\(name): unsupported encoding '\(encoding)'")
            }

        case .set, .frozenset:
            let set = PickleList(isSet: true)
            guard !args.isEmpty else { return .list(set) }
            guard args.count == 1, let items = args[0].sequence else {
                throw fail("\(name): expected no arguments or one sequence")
            }
            for item in items { set.append(item) }
            return .list(set)

        case .bytearray:
            if args.isEmpty { return .bytes([]) }
            if args.count == 1, case .bytes = args[0] { return args[0] }
            if args.count == 2, args[0].string != nil, args[1].string != nil {
                return try PickleGlobal.codecsEncode.call(args, offset: offset, fail: fail)
            }
            throw fail("\(name): expected bytes, or a string and an encoding")

        case .torchSize:
            guard args.count == 1, let dims = args[0].integers else {
                throw fail("\(name): expected one tuple of integers")
            }
            return .tuple(PickleTuple(dims.map { .int($0) }))

        case .storageType, .untypedStorage, .dtype:
            throw fail("\(name) cannot be called in a state dict; it is only a name for an element type")
        }
    }

    /// `cls.__new__(cls, *args)` (NEWOBJ): only the plain-data classes.
    func new(_ args: [PickleValue], offset: Int, fail: (String) -> STPError) throws -> PickleValue {
        switch self {
        case .orderedDict: return .dict(PickleDict())
        case .set, .frozenset: return .list(PickleList(isSet: true))
        case .torchSize, .bytearray: return try call(args, offset: offset, fail: fail)
        default: throw fail("\(qualifiedName) is not a class that can be instantiated here")
        }
    }
}

/// How BINPERSID ids are read: torch's formats name storages differently.
enum PicklePersistentIDs {
    /// No persistent ids allowed (the small pickles around a legacy checkpoint's main one).
    case refused
    /// `('storage', storage_type, key, location, numel)`: the zip format, bytes in data/KEY.
    case torchZip
    /// `('storage', storage_type, root_key, location, numel, view_metadata)`: the legacy format,
    /// where view_metadata is None or `(view_key, offset, size)` in elements of the root storage.
    case torchLegacy
}

/// A storage a pickle declares: its element type and element count, as the first persistent id
/// naming it says.
struct PickleStorageDeclaration: Sendable, Equatable {
    var key: String
    var elementType: PyTorchElementType
    var elementCount: Int
}

extension PicklePersistentIDs {
    /// Reads a persistent id into a storage, or fails with `fail`.
    func storage(_ pid: PickleValue, fail: (String) -> STPError) throws -> PickledStorage {
        guard case .refused = self else {
            return try parse(pid, fail: fail)
        }
        throw fail("unexpected persistent id (BINPERSID) \(pid.kindName) outside the checkpoint's main pickle")
    }

    private func parse(_ pid: PickleValue, fail: (String) -> STPError) throws -> PickledStorage {
        guard let items = pid.sequence, let typename = items.first?.string else {
            throw fail("expected a persistent id ('storage', ...), found \(pid.kindName)")
        }
        if typename == "module" {
            let cls = items.count > 1 ? items[1].kindName : "a class"
            throw fail("the checkpoint holds a whole pickled nn.Module (\(cls)), not a state dict; load it in Python and save model.state_dict() with torch.save instead")
        }
        let expected = self == .torchZip ? 5 : 6
        guard typename == "storage", items.count == expected else {
            throw fail("expected a persistent id ('storage', type, key, location, numel\(self == .torchZip ? "" : ", view")) of \(expected) items, found '\(typename)' with \(items.count) items")
        }
        let elementType: PyTorchElementType
        switch items[1] {
        case .global(.storageType(let t, _)): elementType = t
        case .global(.untypedStorage): elementType = .uint8
        default: throw fail("expected a storage type such as torch.FloatStorage in the persistent id, found \(items[1].kindName)")
        }
        guard let key = items[2].string else { throw fail("expected a string storage key, found \(items[2].kindName)") }
        guard let count = items[4].int, count >= 0 else {
            throw fail("expected a non-negative element count for storage '\(key)', found \(items[4].kindName)")
        }
        var storage = PickledStorage(key: key, elementType: elementType, elementCount: count)
        if self == .torchLegacy, case .tuple(let view) = items[5] {
            guard view.items.count == 3, view.items[0].string != nil,
                  let offset = view.items[1].int, let size = view.items[2].int, offset >= 0, size >= 0 else {
                throw fail("expected the view of storage '\(key)' to be (view_key, offset, size), found \(items[5].kindName)")
            }
            storage.viewOffset = offset
            storage.viewCount = size
        } else if self == .torchLegacy, case .none = items[5] {
        } else if self == .torchLegacy {
            throw fail("expected the view of storage '\(key)' to be None or a tuple, found \(items[5].kindName)")
        }
        return storage
    }
}
