// The values the restricted unpickler builds: Python's plain data (None, bools, numbers,
// strings, bytes, tuples, lists, sets, dicts) plus the few torch objects a state dict is made
// of (allow-listed globals, storages, tensors). Nothing here can run code; a "call" in a pickle
// only ever builds one of these values.
//
// Pickles create a list or dict first and fill it afterwards, and the memo can hand out a
// container that is still being filled, so lists and dicts are shared references. Once a
// container is placed inside another one it is sealed and can no longer change, and no
// container may be placed inside itself. State dicts never do either, and the two rules together
// rule out reference cycles and keep the recorded nesting depth exact, so a crafted file cannot
// build a structure deep enough to overflow the stack when it is released.

/// A Python list or set under construction.
final class PickleList {
    var items: [PickleValue] = []
    let isSet: Bool
    /// 1 + the deepest item's depth (1 when empty).
    var depth = 1
    var isSealed = false

    init(isSet: Bool = false) { self.isSet = isSet }

    /// Appends `value`, which is sealed: it now sits inside this list.
    func append(_ value: PickleValue) {
        value.seal()
        depth = max(depth, 1 + value.depth)
        items.append(value)
    }
}

/// A Python dict (or OrderedDict) under construction, in insertion order.
final class PickleDict {
    private(set) var keys: [PickleValue] = []
    private(set) var values: [PickleValue] = []
    private var index: [PickleKey: Int] = [:]
    var depth = 1
    var isSealed = false

    var count: Int { keys.count }
    var entries: Zip2Sequence<[PickleValue], [PickleValue]> { zip(keys, values) }

    /// Sets `key` to `value` (both are sealed: they now sit inside this dict); an existing key
    /// keeps its place, as in Python.
    func set(_ key: PickleValue, _ value: PickleValue) {
        key.seal()
        value.seal()
        depth = max(depth, 1 + max(key.depth, value.depth))
        if let k = PickleKey(key) {
            if let i = index[k] { values[i] = value; return }
            index[k] = keys.count
        }
        keys.append(key)
        values.append(value)
    }

    func value(forKey key: String) -> PickleValue? {
        index[.string(key)].map { values[$0] }
    }
}

/// The keys a dict can look up (other key types are kept but never de-duplicated).
enum PickleKey: Hashable {
    case string(String), int(Int), bytes([UInt8])

    init?(_ value: PickleValue) {
        switch value {
        case .string(let s): self = .string(s)
        case .int(let i): self = .int(i)
        case .bool(let b): self = .int(b ? 1 : 0)  // True == 1 in Python
        case .bytes(let b): self = .bytes(b)
        default: return nil
        }
    }
}

/// An immutable tuple with its nesting depth.
struct PickleTuple {
    let items: [PickleValue]
    let depth: Int

    init(_ items: [PickleValue]) {
        for item in items { item.seal() }
        self.items = items
        depth = 1 + (items.map(\.depth).max() ?? 0)
    }
}

enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer wider than 64 bits, as little-endian two's complement bytes (LONG1/LONG4).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    /// An allow-listed global: a constructor the unpickler knows how to imitate, or a name.
    case global(PickleGlobal)
    case storage(PickledStorage)
    case tensor(PickledTensor)

    var depth: Int {
        switch self {
        case .tuple(let t): t.depth
        case .list(let l): l.depth
        case .dict(let d): d.depth
        default: 0
        }
    }

    /// Marks a container as placed inside another: it can no longer change.
    func seal() {
        switch self {
        case .list(let l): l.isSealed = true
        case .dict(let d): d.isSealed = true
        default: break
        }
    }

    /// What the value is, for messages ("str 'abc'", "tuple of 3", "global os.system").
    var kindName: String {
        switch self {
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): "int \(i)"
        case .bigInt(let b): "a \(b.count)-byte int"
        case .float(let d): "float \(d)"
        case .string(let s): "str '\(s.count > 40 ? String(s.prefix(40)) + "..." : s)'"
        case .bytes(let b): "\(b.count) bytes"
        case .tuple(let t): "tuple of \(t.items.count)"
        case .list(let l): l.isSet ? "set of \(l.items.count)" : "list of \(l.items.count)"
        case .dict(let d): "dict of \(d.count)"
        case .global(let g): "global \(g.qualifiedName)"
        case .storage(let s): "storage '\(s.key)'"
        case .tensor(let t): "tensor of size \(t.shape)"
        }
    }

    var string: String? { if case .string(let s) = self { s } else { nil } }
    var int: Int? { if case .int(let i) = self { i } else { nil } }
    var tensor: PickledTensor? { if case .tensor(let t) = self { t } else { nil } }
    var dict: PickleDict? { if case .dict(let d) = self { d } else { nil } }

    /// The items of a tuple or list.
    var sequence: [PickleValue]? {
        switch self {
        case .tuple(let t): t.items
        case .list(let l): l.items
        default: nil
        }
    }

    /// A tuple or list of integers (a tensor's size or stride).
    var integers: [Int]? {
        guard let items = sequence else { return nil }
        var out = [Int]()
        for v in items {
            guard let i = v.int else { return nil }
            out.append(i)
        }
        return out
    }
}
