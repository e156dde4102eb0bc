// A restricted unpickler: reads the pickles inside PyTorch checkpoints without Python and without
// running anything.
//
// Python's pickle format is a small stack machine whose program can import and call any function,
// so loading an untrusted checkpoint with `pickle` or `torch.load(weights_only=False)` can run
// arbitrary code. This machine implements only the opcodes of protocols 2 to 5 that plain data
// needs (the ones torch.save writes), resolves globals only from the allow-list in
// PickleTorchObjects.swift, and imitates the allowed "calls" by building values. Anything else is
// refused with an error that names the file, the byte offset and the offending opcode or global.
//
// Every read is bounds-checked (a truncated file is an error at the byte where data ran out), a
// length field larger than the bytes that remain is an error before anything is allocated,
// containers may nest only `maximumDepth` deep, and the stack, the marks and the memo hold at most
// `maximumStack`, `maximumStack` and `maximumMemo` entries: a pickle of 300 MB of NONE opcodes
// once asked for 47 GB. A state dict keeps about two values per tensor on the stack at once (its
// keys and values before SETITEMS) and memoizes about ten per tensor.

import Foundation

struct RestrictedUnpickler {
    /// How deep containers may nest. A state dict needs about five levels.
    static let maximumDepth = 64
    /// Values on the stack (and MARKs) at once: room for a state dict of 50,000 tensors.
    static let maximumStack = 100_000
    /// Memo entries: room for 100,000 tensors.
    static let maximumMemo = 1_000_000

    private let bytes: [UInt8]
    private let path: String
    /// Absolute file offset of `bytes[0]`, so that errors name bytes of the file.
    private let fileOffset: Int
    /// The zip record the pickle came from ("archive/data.pkl"), named in errors.
    private let record: String?
    private let persistentIDs: PicklePersistentIDs

    /// The next byte to read (relative to `bytes`).
    private(set) var position: Int
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var opcodeStart = 0
    /// The storages the persistent ids declared, in the order first named.
    private(set) var storages: [PickleStorageDeclaration] = []
    private var storageIndex: [String: Int] = [:]

    /// A machine reading the pickle that starts at `bytes[start]`.
    init(bytes: [UInt8], start: Int = 0, path: String, fileOffset: Int = 0, record: String? = nil,
         persistentIDs: PicklePersistentIDs = .refused) {
        self.bytes = bytes
        self.position = start
        self.path = path
        self.fileOffset = fileOffset
        self.record = record
        self.persistentIDs = persistentIDs
    }

    // MARK: Errors

    /// An error at `offset` (relative to `bytes`; default: the current opcode).
    func failure(_ what: String, at offset: Int? = nil) -> STPError {
        let at = offset ?? opcodeStart
        let inRecord = record.map { "in \($0) (its byte \(at)): " } ?? ""
        return STPError.file(.checkpoint, path, offset: fileOffset + at, inRecord + what)
    }

    /// An error about the current opcode, at its offset: "... at byte 7: 0x61 ('a', APPEND): what".
    private func opcodeFailure(_ what: String) -> STPError {
        failure("\(Self.opcodeName(bytes[opcodeStart])): \(what)")
    }

    // MARK: Reading bytes

    /// The next `count` bytes, or an error naming what they were for.
    private mutating func take(_ count: Int, _ what: String) throws -> ArraySlice<UInt8> {
        let remaining = bytes.count - position
        guard count >= 0, count <= remaining else {
            if count > remaining, count > 16 {
                throw failure("\(Self.opcodeName(bytes[opcodeStart])) declares \(what) of \(count) bytes, but only \(remaining) bytes remain; the file is truncated or corrupt",
                              at: position)
            }
            throw failure("expected \(count) bytes (\(what) of \(Self.opcodeName(bytes[opcodeStart])) at byte \(fileOffset + opcodeStart)), but the data ends after \(remaining); the file is truncated",
                          at: position)
        }
        defer { position += count }
        return bytes[position..<position + count]
    }

    private mutating func unsigned(_ size: Int, _ what: String) throws -> UInt64 {
        let raw = try take(size, what)
        return raw.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// A little-endian length field, checked to fit in the remaining bytes later by `take`.
    private mutating func length(_ size: Int, _ what: String) throws -> Int {
        let n = try unsigned(size, "the length of \(what)")
        guard n <= UInt64(Int.max) else {
            throw failure("\(Self.opcodeName(bytes[opcodeStart])) declares \(what) of \(n) bytes; the file is corrupt", at: position - size)
        }
        return Int(n)
    }

    private mutating func signed32(_ what: String) throws -> Int {
        Int(Int32(truncatingIfNeeded: try unsigned(4, what)))
    }

    private mutating func text(_ count: Int, _ what: String) throws -> String {
        let start = position
        let raw = try take(count, what)
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw failure("\(what) is not valid UTF-8", at: start)
        }
        return s
    }

    /// A Python 2 `str`: UTF-8 if it is, else Latin-1 (each byte one character).
    private mutating func byteString(_ count: Int) throws -> String {
        let raw = try take(count, "the string")
        if let s = String(validating: raw, as: UTF8.self) { return s }
        return String(String.UnicodeScalarView(raw.map { Unicode.Scalar($0) }))
    }

    /// A newline-terminated line (GLOBAL's module and name).
    private mutating func line(_ what: String) throws -> String {
        let limit = min(bytes.count, position + 256)
        guard let end = bytes[position..<limit].firstIndex(of: 0x0a) else {
            if limit == bytes.count {
                throw failure("expected \(what) ending in a newline, but the data ends; the file is truncated", at: bytes.count)
            }
            throw failure("expected \(what) of at most 255 bytes ending in a newline", at: position)
        }
        let s = try text(end - position, what)
        position += 1
        return s
    }

    // MARK: The stack

    private mutating func push(_ value: PickleValue) throws {
        try checkDepth(value.depth)
        guard stack.count < Self.maximumStack else {
            throw opcodeFailure("the stack holds \(Self.maximumStack) values, the limit (a state dict needs about two per tensor); not a checkpoint's pickle")
        }
        stack.append(value)
    }

    private mutating func pop() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw opcodeFailure("expected a value on the stack, but it is empty") }
        return stack.removeLast()
    }

    private var top: PickleValue? { stack.count > (marks.last ?? 0) ? stack.last : nil }

    /// The values pushed since the last MARK, which is removed.
    private mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw opcodeFailure("expected a MARK before it, found none") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private func targetList(_ wantSet: Bool) throws -> PickleList {
        guard case .list(let list)? = top, list.isSet == wantSet else {
            throw opcodeFailure("expected a \(wantSet ? "set" : "list") below the items, found \(top?.kindName ?? "nothing")")
        }
        try checkUnsealed(list.isSealed)
        return list
    }

    private func targetDict() throws -> PickleDict {
        guard case .dict(let dict)? = top else {
            throw opcodeFailure("expected a dict below the items, found \(top?.kindName ?? "nothing")")
        }
        try checkUnsealed(dict.isSealed)
        return dict
    }

    /// A container placed inside itself would be a cycle.
    private func checkNotInsideItself(_ values: [PickleValue], _ container: AnyObject) throws {
        for v in values {
            switch v {
            case .list(let l) where l === container: break
            case .dict(let d) where d === container: break
            default: continue
            }
            throw opcodeFailure("places a container inside itself (a recursive structure); a state dict never does")
        }
    }

    private func checkUnsealed(_ sealed: Bool) throws {
        if sealed {
            throw opcodeFailure("changes a container after it was placed inside another one (a recursive or shared structure); a state dict never does")
        }
    }

    private func checkDepth(_ depth: Int) throws {
        guard depth <= Self.maximumDepth else {
            throw opcodeFailure("containers nest deeper than \(Self.maximumDepth) levels; a state dict needs a handful")
        }
    }

    // MARK: Running

    /// Runs the pickle up to its STOP and returns the value it built; `position` is then just
    /// after the STOP (where a following pickle starts).
    mutating func load() throws -> PickleValue {
        while true {
            opcodeStart = position
            guard position < bytes.count else {
                throw failure("expected a pickle opcode, but the data ends before the pickle's STOP; the file is truncated", at: position)
            }
            let op = bytes[position]
            position += 1
            switch op {
            case 0x80:  // PROTO
                let version = try take(1, "the protocol version").first!
                guard version <= 5 else { throw opcodeFailure("unsupported pickle protocol \(version)") }
            case 0x95:  // FRAME: a length prefix for buffering; the opcodes follow inline.
                let n = try length(8, "a frame")
                guard n <= bytes.count - position else {
                    throw failure("FRAME declares \(n) bytes, but only \(bytes.count - position) remain; the file is truncated", at: position)
                }
            case 0x2e:  // STOP
                guard let value = stack.last else { throw opcodeFailure("the pickle ends with an empty stack") }
                return value
            case 0x28:  // MARK
                guard marks.count < Self.maximumStack else {
                    throw opcodeFailure("\(Self.maximumStack) MARKs are open, the limit; not a checkpoint's pickle")
                }
                marks.append(stack.count)
            case 0x30: _ = try pop()  // POP
            case 0x31: _ = try popMark()  // POP_MARK
            case 0x32:  // DUP
                guard let v = top else { throw opcodeFailure("expected a value to duplicate") }
                try push(v)

            // Constants and numbers
            case 0x4e: try push(.none)  // NONE
            case 0x88: try push(.bool(true))  // NEWTRUE
            case 0x89: try push(.bool(false))  // NEWFALSE
            case 0x4a: try push(.int(try signed32("a 4-byte integer")))  // BININT
            case 0x4b: try push(.int(Int(try unsigned(1, "a 1-byte integer"))))  // BININT1
            case 0x4d: try push(.int(Int(try unsigned(2, "a 2-byte integer"))))  // BININT2
            case 0x8a: try push(Self.long(try take(try length(1, "an integer"), "an integer")))  // LONG1
            case 0x8b:  // LONG4
                let n = try signed32("the length of an integer")
                guard n >= 0 else { throw opcodeFailure("negative length \(n)") }
                try push(Self.long(try take(n, "an integer")))
            case 0x47:  // BINFLOAT: big-endian IEEE double
                let raw = try take(8, "a float")
                try push(.float(Double(bitPattern: raw.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))

            // Strings and bytes
            case 0x58: try push(.string(try text(try length(4, "a string"), "a string")))  // BINUNICODE
            case 0x8c: try push(.string(try text(try length(1, "a string"), "a string")))  // SHORT_BINUNICODE
            case 0x8d: try push(.string(try text(try length(8, "a string"), "a string")))  // BINUNICODE8
            case 0x54:  // BINSTRING (Python 2 str)
                let n = try signed32("the length of a string")
                guard n >= 0 else { throw opcodeFailure("negative length \(n)") }
                try push(.string(try byteString(n)))
            case 0x55: try push(.string(try byteString(try length(1, "a string"))))  // SHORT_BINSTRING
            case 0x42: try push(.bytes(Array(try take(try length(4, "bytes"), "bytes"))))  // BINBYTES
            case 0x43: try push(.bytes(Array(try take(try length(1, "bytes"), "bytes"))))  // SHORT_BINBYTES
            case 0x8e, 0x96: try push(.bytes(Array(try take(try length(8, "bytes"), "bytes"))))  // BINBYTES8, BYTEARRAY8

            // Containers
            case 0x29: try push(.tuple(PickleTuple([])))  // EMPTY_TUPLE
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                let n = Int(op - 0x84)
                guard stack.count - (marks.last ?? 0) >= n else {
                    throw opcodeFailure("expected \(n) values on the stack, found \(stack.count - (marks.last ?? 0))")
                }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                try push(.tuple(PickleTuple(items)))
            case 0x74: try push(.tuple(PickleTuple(try popMark())))  // TUPLE
            case 0x5d: try push(.list(PickleList()))  // EMPTY_LIST
            case 0x6c:  // LIST
                let list = PickleList()
                for item in try popMark() { list.append(item) }
                try push(.list(list))
            case 0x61:  // APPEND
                let value = try pop()
                let list = try targetList(false)
                try checkNotInsideItself([value], list)
                list.append(value)
                try checkDepth(list.depth)
            case 0x65:  // APPENDS
                let items = try popMark()
                let list = try targetList(false)
                try checkNotInsideItself(items, list)
                for item in items { list.append(item) }
                try checkDepth(list.depth)
            case 0x8f: try push(.list(PickleList(isSet: true)))  // EMPTY_SET
            case 0x90:  // ADDITEMS
                let items = try popMark()
                let set = try targetList(true)
                try checkNotInsideItself(items, set)
                for item in items { set.append(item) }
                try checkDepth(set.depth)
            case 0x91:  // FROZENSET
                let set = PickleList(isSet: true)
                for item in try popMark() { set.append(item) }
                try push(.list(set))
            case 0x7d: try push(.dict(PickleDict()))  // EMPTY_DICT
            case 0x64:  // DICT
                let items = try popMark()
                let dict = PickleDict()
                try setItems(items, into: dict)
                try push(.dict(dict))
            case 0x73:  // SETITEM
                let value = try pop()
                let key = try pop()
                try setItems([key, value], into: try targetDict())
            case 0x75:  // SETITEMS
                let items = try popMark()
                try setItems(items, into: try targetDict())

            // The memo
            case 0x71: try memoize(Int(try unsigned(1, "a memo index")))  // BINPUT
            case 0x72: try memoize(Int(try unsigned(4, "a memo index")))  // LONG_BINPUT
            case 0x94: try memoize(memo.count)  // MEMOIZE
            case 0x68: try recall(Int(try unsigned(1, "a memo index")))  // BINGET
            case 0x6a: try recall(Int(try unsigned(4, "a memo index")))  // LONG_BINGET

            // Globals, calls and objects
            case 0x63:  // GLOBAL
                let module = try line("a module name")
                let name = try line("a global name")
                try push(.global(try resolve(module: module, name: name)))
            case 0x93:  // STACK_GLOBAL
                let name = try pop()
                let module = try pop()
                guard let n = name.string, let m = module.string else {
                    throw opcodeFailure("expected a module and a name as strings, found \(module.kindName) and \(name.kindName)")
                }
                try push(.global(try resolve(module: m, name: n)))
            case 0x52:  // REDUCE
                let args = try pop()
                let callable = try pop()
                guard case .global(let g) = callable else {
                    throw opcodeFailure("expected an allowed global to call, found \(callable.kindName)")
                }
                guard case .tuple(let t) = args else {
                    throw opcodeFailure("expected the arguments of \(g.qualifiedName) as a tuple, found \(args.kindName)")
                }
                try push(try g.call(t.items, offset: fileOffset + opcodeStart, fail: opcodeFailure))
            case 0x81, 0x92:  // NEWOBJ, NEWOBJ_EX
                if op == 0x92 {
                    let kwargs = try pop()
                    guard case .dict(let d) = kwargs, d.count == 0 else {
                        throw opcodeFailure("expected no keyword arguments, found \(kwargs.kindName)")
                    }
                }
                let args = try pop()
                let cls = try pop()
                guard case .global(let g) = cls, case .tuple(let t) = args else {
                    throw opcodeFailure("expected an allowed class and a tuple of arguments, found \(cls.kindName) and \(args.kindName)")
                }
                try push(try g.new(t.items, offset: fileOffset + opcodeStart, fail: opcodeFailure))
            case 0x62:  // BUILD: sets an object's attributes; the importer has no use for them.
                let state = try pop()
                switch top {
                case .dict?, .tensor?: break  // e.g. a state dict's `_metadata`, a tensor's Python attributes
                case .list(let l)? where l.isSet: break
                default:
                    throw opcodeFailure("cannot set the state \(state.kindName) of \(top?.kindName ?? "nothing")")
                }
            case 0x51:  // BINPERSID
                let pid = try pop()
                let storage = try persistentIDs.storage(pid, fail: opcodeFailure)
                try declare(storage)
                try push(.storage(storage))

            default:
                throw failure("unsupported pickle opcode \(Self.opcodeName(op)); a torch.save state dict uses none")
            }
        }
    }

    private mutating func setItems(_ items: [PickleValue], into dict: PickleDict) throws {
        guard items.count % 2 == 0 else { throw opcodeFailure("expected key-value pairs, found \(items.count) values") }
        try checkNotInsideItself(items, dict)
        for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }
        try checkDepth(dict.depth)
    }

    private mutating func memoize(_ index: Int) throws {
        guard let value = stack.last else { throw opcodeFailure("expected a value to store in the memo") }
        guard memo.count < Self.maximumMemo || memo[index] != nil else {
            throw opcodeFailure("the memo holds \(Self.maximumMemo) values, the limit (a state dict needs about ten per tensor); not a checkpoint's pickle")
        }
        memo[index] = value
    }

    private mutating func recall(_ index: Int) throws {
        guard let value = memo[index] else { throw opcodeFailure("memo slot \(index) was never stored") }
        try push(value)
    }

    private func resolve(module: String, name: String) throws -> PickleGlobal {
        guard let g = PickleGlobal.resolve(module: module, name: name) else {
            throw failure(PickleGlobal.refusal(module: module, name: name))
        }
        return g
    }

    private mutating func declare(_ storage: PickledStorage) throws {
        if let i = storageIndex[storage.key] {
            let first = storages[i]
            guard first.elementType == storage.elementType, first.elementCount == storage.elementCount else {
                throw opcodeFailure("storage '\(storage.key)' was first declared as \(first.elementCount) elements of \(first.elementType.rawValue), now as \(storage.elementCount) of \(storage.elementType.rawValue)")
            }
            return
        }
        storageIndex[storage.key] = storages.count
        storages.append(PickleStorageDeclaration(key: storage.key, elementType: storage.elementType,
                                                 elementCount: storage.elementCount))
    }

    /// LONG1/LONG4: little-endian two's complement of any width.
    private static func long(_ raw: ArraySlice<UInt8>) -> PickleValue {
        guard !raw.isEmpty else { return .int(0) }
        var significant = Array(raw)
        // Drop sign-extension bytes that do not change the value.
        while significant.count > 8 {
            let last = significant[significant.count - 1], next = significant[significant.count - 2]
            guard (last == 0 && next < 0x80) || (last == 0xff && next >= 0x80) else { break }
            significant.removeLast()
        }
        guard significant.count <= 8 else { return .bigInt(significant) }
        let negative = significant.last! >= 0x80
        var v: UInt64 = negative ? .max : 0
        for (i, b) in significant.enumerated() {
            v &= ~(UInt64(0xff) << (8 * i))
            v |= UInt64(b) << (8 * i)
        }
        return .int(Int(Int64(bitPattern: v)))
    }

    /// An opcode for messages: "0x52 ('R', REDUCE)".
    static func opcodeName(_ op: UInt8) -> String {
        let names: [UInt8: String] = [
            0x80: "PROTO", 0x95: "FRAME", 0x2e: "STOP", 0x28: "MARK", 0x30: "POP", 0x31: "POP_MARK",
            0x32: "DUP", 0x4e: "NONE", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x4a: "BININT", 0x4b: "BININT1",
            0x4d: "BININT2", 0x8a: "LONG1", 0x8b: "LONG4", 0x47: "BINFLOAT", 0x58: "BINUNICODE",
            0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
            0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x8e: "BINBYTES8", 0x96: "BYTEARRAY8",
            0x29: "EMPTY_TUPLE", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3", 0x74: "TUPLE",
            0x5d: "EMPTY_LIST", 0x6c: "LIST", 0x61: "APPEND", 0x65: "APPENDS", 0x8f: "EMPTY_SET",
            0x90: "ADDITEMS", 0x91: "FROZENSET", 0x7d: "EMPTY_DICT", 0x64: "DICT", 0x73: "SETITEM",
            0x75: "SETITEMS", 0x71: "BINPUT", 0x72: "LONG_BINPUT", 0x94: "MEMOIZE", 0x68: "BINGET",
            0x6a: "LONG_BINGET", 0x63: "GLOBAL", 0x93: "STACK_GLOBAL", 0x52: "REDUCE", 0x81: "NEWOBJ",
            0x92: "NEWOBJ_EX", 0x62: "BUILD", 0x51: "BINPERSID",
            // Opcodes the machine refuses, named so the error is clear.
            0x50: "PERSID", 0x69: "INST", 0x6f: "OBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
            0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER", 0x49: "INT", 0x4c: "LONG", 0x46: "FLOAT",
            0x53: "STRING", 0x56: "UNICODE", 0x70: "PUT", 0x67: "GET",
        ]
        let hex = "0x" + String(op, radix: 16, uppercase: false).leftPadded(to: 2)
        let ascii = (0x21...0x7e).contains(op) ? "'\(Character(Unicode.Scalar(op)))', " : ""
        return "\(hex) (\(ascii)\(names[op] ?? "unknown"))"
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
