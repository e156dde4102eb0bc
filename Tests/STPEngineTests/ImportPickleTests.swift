import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

// The restricted unpickler on hand-made pickles: the opcodes state dicts use, the globals it
// refuses (and that nothing runs), unknown opcodes, truncation, impossible lengths and the
// structures it will not build. The small pickle writer at the end also builds the checkpoints
// of ImportTorchCheckpointTests.

/// Runs one pickle through the machine.
private func unpickle(_ bytes: [UInt8], path: String = "test.pkl",
                      persistentIDs: PicklePersistentIDs = .refused) throws -> PickleValue {
    var machine = RestrictedUnpickler(bytes: bytes, path: path, persistentIDs: persistentIDs)
    return try machine.load()
}

private func unpickleError(_ bytes: [UInt8], path: String = "test.pkl") -> String {
    errorText { _ = try unpickle(bytes, path: path) }
}

@Test func pickleReadsThePlainDataOfProtocols2To5() throws {
    var p = TestPickleWriter(protocolVersion: 4)
    p.raw([0x95] + TestPickleWriter.littleEndian(UInt64(0), 8))  // FRAME (length unchecked by design)
    p.raw([0x7d])  // EMPTY_DICT
    p.memoize()  // slot 0
    p.mark()
    p.raw([0x8c, 1, UInt8(ascii: "a")])  // SHORT_BINUNICODE 'a'
    p.raw([0x8a, 1, 0xff])  // LONG1 -1
    p.raw([0x8d] + TestPickleWriter.littleEndian(UInt64(2), 8) + Array("bb".utf8))  // BINUNICODE8
    p.raw([0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0x80, 0])  // LONG1 2^63: wider than Int
    p.string("c")
    p.raw([0x4a] + TestPickleWriter.littleEndian(UInt64(UInt32(bitPattern: -5)), 4))  // BININT -5
    p.string("d")
    p.float(-2.5)
    p.string("e")
    p.raw([0x8f, 0x28, 0x4b, 1, 0x4b, 2, 0x90])  // EMPTY_SET, MARK, 1, 2, ADDITEMS
    p.string("f")
    p.raw([0x43, 2, 0xde, 0xad])  // SHORT_BINBYTES
    p.string("g")
    p.raw([0x55, 2, 0xe9, 0x74])  // SHORT_BINSTRING (Python 2 str, Latin-1 'ét')
    p.string("h")
    p.raw([0x28, 0x4e, 0x88, 0x89, 0x6c])  // MARK None True False LIST
    p.string("i")
    p.raw([0x8c, 11] + Array("collections".utf8) + [0x8c, 11] + Array("OrderedDict".utf8) + [0x93])  // STACK_GLOBAL
    p.raw([0x29, 0x81])  // EMPTY_TUPLE, NEWOBJ -> OrderedDict()
    p.string("j")
    p.global("_codecs", "encode")
    p.string("\u{00ff}\u{0001}")
    p.string("latin1")
    p.raw([0x86, 0x52])  // TUPLE2, REDUCE -> b'\xff\x01'
    p.string("k")
    p.get(0)  // BINGET 0: the dict under construction, which may not go inside itself...
    p.raw([0x30])  // ...so POP it again
    p.raw([0x4d, 0xe9, 0x03])  // BININT2 1001
    p.raw([0x75])  // SETITEMS
    p.stop()

    let value = try unpickle(p.bytes)
    let d = try #require(value.dict)
    #expect(d.keys.compactMap(\.string) == ["a", "bb", "c", "d", "e", "f", "g", "h", "i", "j", "k"])
    #expect(d.value(forKey: "a")?.int == -1)
    guard case .bigInt(let big)? = d.value(forKey: "bb") else { Issue.record("expected a big int"); return }
    #expect(big == [0, 0, 0, 0, 0, 0, 0, 0x80, 0])
    #expect(d.value(forKey: "c")?.int == -5)
    guard case .float(-2.5)? = d.value(forKey: "d") else { Issue.record("expected -2.5"); return }
    guard case .list(let set)? = d.value(forKey: "e") else { Issue.record("expected a set"); return }
    #expect(set.isSet && set.items.compactMap(\.int) == [1, 2])
    guard case .bytes([0xde, 0xad])? = d.value(forKey: "f") else { Issue.record("expected bytes"); return }
    #expect(d.value(forKey: "g")?.string == "ét")
    #expect(d.value(forKey: "h")?.sequence?.map(\.kindName) == ["None", "True", "False"])
    #expect(d.value(forKey: "i")?.dict?.count == 0)
    guard case .bytes([0xff, 0x01])? = d.value(forKey: "j") else { Issue.record("expected latin1 bytes"); return }
    #expect(d.value(forKey: "k")?.int == 1001)
}

@Test func pickleRefusesOsSystemAndNothingRuns() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let witness = dir + "/pwned"
    for (module, name) in [("os", "system"), ("posix", "system"), ("subprocess", "Popen"), ("torch", "load")] {
        var p = TestPickleWriter()
        p.global(module, name)
        p.string("touch \(witness)")
        p.raw([0x85, 0x52])  // TUPLE1, REDUCE
        p.stop()
        let m = unpickleError(p.bytes, path: "evil.pkl")
        #expect(m.hasPrefix("evil.pkl: at byte 2: refusing to load global \(module).\(name):"), "\(m)")
        #expect(m.contains("nothing in the file was run"), "\(m)")
    }
    // builtins.eval through STACK_GLOBAL (protocol 4), as modern pickles name globals.
    var p = TestPickleWriter(protocolVersion: 4)
    p.raw([0x8c, 8] + Array("builtins".utf8) + [0x94, 0x8c, 4] + Array("eval".utf8) + [0x94, 0x93])
    p.string("__import__('os').system('touch \(witness)')")
    p.raw([0x85, 0x52])
    p.stop()
    let m = unpickleError(p.bytes, path: "evil.pkl")
    #expect(m.hasPrefix("evil.pkl: at byte 20: refusing to load global builtins.eval"), "\(m)")
    #expect(!FileManager.default.fileExists(atPath: witness))

    // A TorchScript class gets a hint on what to save instead.
    var ts = TestPickleWriter()
    ts.global("__torch__.models", "ResNet")
    ts.stop()
    #expect(unpickleError(ts.bytes).contains("TorchScript"))
}

@Test func pickleUnknownOpcodesNameTheByteAndOffset() {
    let m1 = unpickleError([0x80, 0x02, 0xff, 0x2e], path: "odd.pkl")
    #expect(m1 == "odd.pkl: at byte 2: unsupported pickle opcode 0xff (unknown); a torch.save state dict uses none", "\(m1)")
    // INST (protocol 0 class instantiation) is refused by name.
    let m2 = unpickleError([0x80, 0x02, 0x4e, 0x69] + Array("os\nsystem\n".utf8))
    #expect(m2.hasPrefix("test.pkl: at byte 3: unsupported pickle opcode 0x69 ('i', INST)"), "\(m2)")
    let m3 = unpickleError([0x80, 0x06, 0x4e, 0x2e])
    #expect(m3.contains("unsupported pickle protocol 6"), "\(m3)")
}

@Test func pickleTruncatedAtEveryPrefixIsAnError() throws {
    var p = TestPickleWriter()
    p.object(.dict([("name", .string("resnet")), ("sizes", .tuple([.int(3), .int(70000), .int(-2_000_000_000)])),
                    ("lr", .float(0.1)), ("flags", .list([.bool(true), .none])),
                    ("nested", .orderedDict([("x", .int(1 << 40))], metadata: true))]))
    p.stop()
    let full = try #require(try unpickle(p.bytes).dict)
    #expect(full.value(forKey: "nested")?.dict?.value(forKey: "x")?.int == 1 << 40)
    for cut in 0..<p.bytes.count {
        let m = unpickleError(Array(p.bytes[..<cut]), path: "cut.pkl")
        #expect(m.hasPrefix("cut.pkl: at byte "), "prefix \(cut): \(m)")
        #expect(m.contains("truncated") || m.contains("expected"), "prefix \(cut): \(m)")
    }
}

@Test func pickleLengthsLargerThanTheDataAreErrors() {
    // BINUNICODE claiming 4 GiB in a 12-byte pickle.
    let m1 = unpickleError([0x80, 0x02, 0x58, 0xff, 0xff, 0xff, 0xff, 0x61, 0x62, 0x2e])
    #expect(m1.contains("at byte 7") && m1.contains("4294967295 bytes, but only 3 bytes remain"), "\(m1)")
    // BINUNICODE8 beyond Int.max, LONG4 and BINSTRING with negative lengths, a huge FRAME.
    let m2 = unpickleError([0x80, 0x04, 0x8d] + [UInt8](repeating: 0xff, count: 8) + [0x2e])
    #expect(m2.contains("corrupt") && m2.contains("18446744073709551615"), "\(m2)")
    let m3 = unpickleError([0x80, 0x02, 0x8b, 0xff, 0xff, 0xff, 0xff, 0x2e])
    #expect(m3.contains("negative length -1"), "\(m3)")
    let m4 = unpickleError([0x80, 0x04, 0x95, 0, 0, 0, 0, 1, 0, 0, 0, 0x4e, 0x2e])
    #expect(m4.contains("FRAME declares 4294967296 bytes, but only 2 remain"), "\(m4)")
    // A GLOBAL line that never ends.
    let m5 = unpickleError([0x80, 0x02, 0x63] + [UInt8](repeating: 0x61, count: 300))
    #expect(m5.contains("at most 255 bytes"), "\(m5)")
}

@Test func pickleRefusesMalformedStacksAndMemo() {
    #expect(unpickleError([0x80, 0x02, 0x52, 0x2e]) == "test.pkl: at byte 2: 0x52 ('R', REDUCE): expected a value on the stack, but it is empty")
    #expect(unpickleError([0x80, 0x02, 0x7d, 0x4e, 0x4e, 0x75, 0x2e]).contains("expected a MARK before it"))
    #expect(unpickleError([0x80, 0x02, 0x68, 0x07, 0x2e]).contains("memo slot 7 was never stored"))
    #expect(unpickleError([0x80, 0x02, 0x2e]).contains("the pickle ends with an empty stack"))
    // Calling something that is not a global, and BUILD on a number.
    #expect(unpickleError([0x80, 0x02, 0x4e, 0x29, 0x52, 0x2e]).contains("expected an allowed global to call, found None"))
    #expect(unpickleError([0x80, 0x02, 0x4b, 0x01, 0x7d, 0x62, 0x2e]).contains("cannot set the state dict of 0 of int 1"))
    // A storage type is a name, not a function.
    var p = TestPickleWriter()
    p.global("torch", "FloatStorage")
    p.raw([0x29, 0x52])
    p.stop()
    #expect(unpickleError(p.bytes).contains("torch.FloatStorage cannot be called"))
    // Persistent ids outside a checkpoint's main pickle.
    #expect(unpickleError([0x80, 0x02, 0x4e, 0x51, 0x2e]).contains("unexpected persistent id"))
}

@Test func pickleRefusesRecursiveAndDeepStructures() {
    // l = []; l.append(l)
    let m1 = unpickleError([0x80, 0x02, 0x5d, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2e])
    #expect(m1.hasPrefix("test.pkl: at byte 7: 0x61 ('a', APPEND): places a container inside itself"), "\(m1)")
    // a = {}; b = {}; a['b'] = b; b['a'] = a: a cycle through two dicts.
    let m2 = unpickleError([0x80, 0x02, 0x7d, 0x71, 0x00, 0x7d, 0x71, 0x01, 0x30, 0x58, 1, 0, 0, 0, 0x62, 0x68, 0x01, 0x73,
                            0x30, 0x68, 0x01, 0x58, 1, 0, 0, 0, 0x61, 0x68, 0x00, 0x73, 0x2e])
    #expect(m2.contains("recursive"), "\(m2)")
    // 200 nested tuples.
    let deep = [0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: 200) + [0x2e]
    let m3 = unpickleError(deep)
    #expect(m3.hasPrefix("test.pkl: at byte 66: 0x85") && m3.contains("deeper than 64 levels"), "\(m3)")
}

// MARK: - A pickle writer for tests

/// Objects the test writer can pickle the way torch.save does.
indirect enum TestPickleObject {
    case none, bool(Bool), int(Int), float(Double), string(String)
    case tuple([TestPickleObject]), list([TestPickleObject])
    case dict([(String, TestPickleObject)])
    /// An OrderedDict; `metadata` adds the `_metadata` attribute torch's state dicts carry (BUILD).
    case orderedDict([(String, TestPickleObject)], metadata: Bool)
    case tensor(TestPickleTensor)
}

/// A storage: its torch class ("FloatStorage", "UntypedStorage"), key, element count and bytes.
struct TestPickleStorage {
    var type: String
    var key: String
    var count: Int
    var bytes: [UInt8]

    static func float32(_ key: String, _ values: [Float]) -> TestPickleStorage {
        TestPickleStorage(type: "FloatStorage", key: key, count: values.count,
                          bytes: values.flatMap { TestPickleWriter.littleEndian(UInt64($0.bitPattern), 4) })
    }
}

/// `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`, or v3 with a dtype.
struct TestPickleTensor {
    var storage: TestPickleStorage
    var offset = 0
    var shape: [Int]
    var strides: [Int]? = nil
    /// torch 2's `_rebuild_tensor_v3` of an untyped storage with this dtype ("float16").
    var v3DType: String? = nil

    init(_ storage: TestPickleStorage, shape: [Int], strides: [Int]? = nil, offset: Int = 0, v3DType: String? = nil) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.v3DType = v3DType
    }

    var rowMajorStrides: [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        for d in stride(from: shape.count - 2, through: 0, by: -1) { s[d] = s[d + 1] * shape[d + 1] }
        return s
    }
}

/// Writes pickles opcode by opcode, memoizing like Python's pickler so BINPUT/BINGET are used.
struct TestPickleWriter {
    private(set) var bytes: [UInt8]
    private var memoCount = 0
    private var globals: [String: Int] = [:]
    /// Persistent ids in the legacy form (with a view, None) instead of the zip form.
    var legacyPersistentIDs = false

    init(protocolVersion: UInt8 = 2) { bytes = [0x80, protocolVersion] }

    static func littleEndian(_ v: UInt64, _ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    mutating func raw(_ b: [UInt8]) { bytes += b }
    mutating func mark() { bytes.append(0x28) }
    mutating func stop() { bytes.append(0x2e) }
    mutating func put() {
        if memoCount < 256 { bytes += [0x71, UInt8(memoCount)] } else { bytes += [0x72] + Self.littleEndian(UInt64(memoCount), 4) }
        memoCount += 1
    }
    mutating func memoize() {
        bytes.append(0x94)
        memoCount += 1
    }
    mutating func get(_ index: Int) {
        if index < 256 { bytes += [0x68, UInt8(index)] } else { bytes += [0x6a] + Self.littleEndian(UInt64(index), 4) }
    }

    mutating func int(_ i: Int) {
        switch i {
        case 0...255: bytes += [0x4b, UInt8(i)]
        case 256...65535: bytes += [0x4d] + Self.littleEndian(UInt64(i), 2)
        case Int(Int32.min)...Int(Int32.max): bytes += [0x4a] + Self.littleEndian(UInt64(bitPattern: Int64(i)), 4)
        default: bytes += [0x8a, 8] + Self.littleEndian(UInt64(bitPattern: Int64(i)), 8)
        }
    }
    mutating func float(_ d: Double) { bytes += [0x47] + Self.littleEndian(d.bitPattern, 8).reversed() }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        bytes += [0x58] + Self.littleEndian(UInt64(utf8.count), 4) + utf8
        put()
    }
    mutating func global(_ module: String, _ name: String) {
        if let i = globals[module + "." + name] { get(i); return }
        bytes += [0x63] + Array("\(module)\n\(name)\n".utf8)
        globals[module + "." + name] = memoCount
        put()
    }
    mutating func tuple(_ items: [TestPickleObject]) {
        switch items.count {
        case 0: bytes.append(0x29)
        case 1...3:
            for item in items { object(item) }
            bytes.append(0x84 + UInt8(items.count))
        default:
            mark()
            for item in items { object(item) }
            bytes.append(0x74)
        }
    }
    mutating func emptyOrderedDict() {
        global("collections", "OrderedDict")
        bytes += [0x29, 0x52]
        put()
    }

    mutating func object(_ o: TestPickleObject) {
        switch o {
        case .none: bytes.append(0x4e)
        case .bool(let b): bytes.append(b ? 0x88 : 0x89)
        case .int(let i): int(i)
        case .float(let d): float(d)
        case .string(let s): string(s)
        case .tuple(let items): tuple(items); put()
        case .list(let items):
            bytes.append(0x5d)
            put()
            if !items.isEmpty {
                mark()
                for item in items { object(item) }
                bytes.append(0x65)
            }
        case .dict(let items):
            bytes.append(0x7d)
            put()
            setItems(items)
        case .orderedDict(let items, let metadata):
            emptyOrderedDict()
            setItems(items)
            if metadata {  // {'_metadata': OrderedDict([('', {'version': 1})])}, as state_dict() saves
                bytes.append(0x7d)
                put()
                string("_metadata")
                emptyOrderedDict()
                string("")
                bytes.append(0x7d)
                put()
                string("version")
                int(1)
                bytes += [0x73, 0x73, 0x73, 0x62]  // SETITEM x3, BUILD
            }
        case .tensor(let t):
            global("torch._utils", t.v3DType == nil ? "_rebuild_tensor_v2" : "_rebuild_tensor_v3")
            mark()
            mark()
            string("storage")
            global("torch", t.storage.type)
            string(t.storage.key)
            string("cpu")
            int(t.storage.count)
            if legacyPersistentIDs { bytes.append(0x4e) }
            bytes += [0x74, 0x51]  // TUPLE, BINPERSID
            int(t.offset)
            tuple(t.shape.map { .int($0) })
            tuple((t.strides ?? t.rowMajorStrides).map { .int($0) })
            bytes.append(0x89)  // requires_grad False
            emptyOrderedDict()  // backward hooks
            if let dtype = t.v3DType { global("torch", dtype) }
            bytes += [0x74, 0x52]  // TUPLE, REDUCE
            put()
        }
    }

    private mutating func setItems(_ items: [(String, TestPickleObject)]) {
        guard !items.isEmpty else { return }
        mark()
        for (k, v) in items {
            string(k)
            object(v)
        }
        bytes.append(0x75)
    }
}
