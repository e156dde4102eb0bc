import Foundation
import STPTestSupport
import Testing
import ZIPFoundation
@testable import STPEngine

// PyTorchCheckpoint on checkpoints built byte by byte with the test pickle writer
// (ImportPickleTests.swift): both torch.save formats and safetensors, nesting and metadata,
// strided views and element types, refused globals, truncation at every prefix, missing
// storages, and the real pretrained ResNets in the shared folder when it is there.

// MARK: Building checkpoints

/// torch.save's legacy layout: magic, protocol version, sys_info, the object, the storage keys,
/// then each storage's element count and bytes. (The fuzz tests build their seeds with it too.)
func legacyCheckpoint(_ object: TestPickleObject, storages: [TestPickleStorage]) -> [UInt8] {
    var out = [UInt8]()
    var magic = TestPickleWriter()
    magic.raw([0x8a, 0x0a] + PyTorchLegacyFormat.magicNumber)
    magic.stop()
    var version = TestPickleWriter()
    version.int(1001)
    version.stop()
    var info = TestPickleWriter()
    info.object(.dict([("protocol_version", .int(1001)), ("little_endian", .bool(true)),
                       ("type_sizes", .dict([("short", .int(2)), ("int", .int(4)), ("long", .int(4))]))]))
    info.stop()
    var main = TestPickleWriter()
    main.legacyPersistentIDs = true
    main.object(object)
    main.stop()
    var keys = TestPickleWriter()
    keys.object(.list(storages.map { .string($0.key) }))
    keys.stop()
    out = magic.bytes + version.bytes + info.bytes + main.bytes + keys.bytes
    for s in storages { out += TestPickleWriter.littleEndian(UInt64(bitPattern: Int64(s.count)), 8) + s.bytes }
    return out
}

/// torch.save's zip layout under `folder`, entries stored (or deflated) by ZIPFoundation.
func zipCheckpoint(_ object: TestPickleObject, storages: [TestPickleStorage], folder: String = "archive",
                           byteorder: String? = "little", compression: CompressionMethod = .none,
                           extra: [(String, [UInt8])] = []) throws -> [UInt8] {
    var pickle = TestPickleWriter()
    pickle.object(object)
    pickle.stop()
    var entries: [(String, [UInt8])] = [("\(folder)/data.pkl", pickle.bytes)]
    if let byteorder { entries.append(("\(folder)/byteorder", Array(byteorder.utf8))) }
    for s in storages { entries.append(("\(folder)/data/\(s.key)", s.bytes)) }
    entries.append(("\(folder)/version", Array("3\n".utf8)))
    entries += extra
    let archive = try Archive(data: Data(), accessMode: .create)
    for (name, bytes) in entries {
        try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(bytes.count),
                             modificationDate: Date(timeIntervalSince1970: 1_700_000_000),
                             compressionMethod: compression) { position, size in
            Data(bytes[Int(position)..<Int(position) + size])
        }
    }
    return [UInt8](try #require(archive.data))
}

private func bytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { TestPickleWriter.littleEndian(UInt64(truncatingIfNeeded: $0), MemoryLayout<T>.size) }
}

/// A small state dict: a conv weight, a BN layer with its counter, in that order.
private let convValues: [Float] = (0..<24).map { Float($0) * 0.25 - 3 }
private let sampleStorages: [TestPickleStorage] = [
    .float32("0", convValues),
    .float32("1", [1, 2, 3]),
    .float32("2", [-0.5, 0, 0.5]),
    TestPickleStorage(type: "LongStorage", key: "3", count: 1, bytes: bytes([Int64(391)])),
]
private let sampleStateDict = TestPickleObject.orderedDict([
    ("module.conv1.weight", .tensor(TestPickleTensor(sampleStorages[0], shape: [3, 2, 2, 2]))),
    ("module.bn1.weight", .tensor(TestPickleTensor(sampleStorages[1], shape: [3]))),
    ("module.bn1.bias", .tensor(TestPickleTensor(sampleStorages[2], shape: [3]))),
    ("module.bn1.num_batches_tracked", .tensor(TestPickleTensor(sampleStorages[3], shape: []))),
], metadata: true)

private func expectSampleTensors(_ sd: ImportedStateDict, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(sd.tensors.map(\.name) == ["module.conv1.weight", "module.bn1.weight", "module.bn1.bias",
                                       "module.bn1.num_batches_tracked"], sourceLocation: sourceLocation)
    #expect(sd.tensor("module.conv1.weight") == ImportedTensor(name: "module.conv1.weight", shape: [3, 2, 2, 2],
                                                                values: convValues, dtype: "float32"),
            sourceLocation: sourceLocation)
    #expect(sd.tensor("module.bn1.bias")?.values == [-0.5, 0, 0.5], sourceLocation: sourceLocation)
    #expect(sd.tensor("module.bn1.num_batches_tracked") == ImportedTensor(name: "module.bn1.num_batches_tracked",
                                                                          shape: [], values: [391], dtype: "int64"),
            sourceLocation: sourceLocation)
}

private func importError(_ bytes: [UInt8], path: String = "model.pt") -> String {
    errorText { _ = try PyTorchCheckpoint.decode(bytes, path: path) }
}

// MARK: Formats

@Test func importLegacyStateDictRoundTrip() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/model.th"
    try AtomicFile.write(legacyCheckpoint(sampleStateDict, storages: sampleStorages), to: path)
    let sd = try PyTorchCheckpoint.read(path: path)
    #expect(sd.format == .torchLegacy && sd.path == path && sd.metadata.isEmpty)
    expectSampleTensors(sd)
}

@Test func importZipStateDictRoundTripUnderAnyFolderName() throws {
    for folder in ["archive", "resnet20_cifar"] {
        let bytes = try zipCheckpoint(sampleStateDict, storages: sampleStorages, folder: folder)
        let sd = try PyTorchCheckpoint.decode(bytes, path: "model.pt")
        #expect(sd.format == .torchZip && sd.metadata.isEmpty)
        expectSampleTensors(sd)
    }
    // Deflated entries (a re-zipped checkpoint) and no byteorder record (older torch) read the same.
    let deflated = try zipCheckpoint(sampleStateDict, storages: sampleStorages, byteorder: nil, compression: .deflate)
    expectSampleTensors(try PyTorchCheckpoint.decode(deflated, path: "model.pt"))
}

@Test func importSafeTensorsKeepsFileOrderAndMetadata() throws {
    let data = try SafeTensorsFile.encode(tensors: [
        .float32("b.weight", shape: [2, 2], [1, 2, 3, 4]),
        .float64("a.bias", shape: [2], [0.5, -1]),
        .int64("a.num_batches_tracked", shape: [], [7]),
    ], metadata: ["model": "resnet20"])
    let sd = try PyTorchCheckpoint.decode([UInt8](data), path: "m.safetensors")
    #expect(sd.format == .safetensors && sd.metadata == ["model": "resnet20"])
    // Laid out largest element first, then by name.
    #expect(sd.tensors.map(\.name) == ["a.bias", "a.num_batches_tracked", "b.weight"])
    #expect(sd.tensor("b.weight") == ImportedTensor(name: "b.weight", shape: [2, 2], values: [1, 2, 3, 4], dtype: "float32"))
    #expect(sd.tensor("a.bias")?.dtype == "float64" && sd.tensor("a.num_batches_tracked")?.values == [7])
}

@Test func importNestedStateDictWithMetadata() throws {
    let checkpoint = TestPickleObject.dict([
        ("epoch", .int(90)), ("best_prec1", .float(91.78)), ("arch", .string("resnet20")), ("amp", .bool(false)),
        ("state_dict", sampleStateDict),
        ("optimizer", .dict([("state", .dict([])), ("param_groups", .list([.dict([("lr", .float(0.1))])]))])),
        ("best_acc1", .tensor(TestPickleTensor(.float32("9", [76.5]), shape: []))),
        ("note", .none),
    ])
    let storages = sampleStorages + [.float32("9", [76.5])]
    for bytes in [legacyCheckpoint(checkpoint, storages: storages), try zipCheckpoint(checkpoint, storages: storages)] {
        let sd = try PyTorchCheckpoint.decode(bytes, path: "ckpt.pth")
        expectSampleTensors(sd)
        #expect(sd.metadata == ["epoch": "90", "best_prec1": "91.78", "arch": "resnet20", "amp": "False",
                                "best_acc1": "76.5"])
    }
    // "model" is found too; a flat dict holding tensors is the state dict itself.
    let underModel = TestPickleObject.dict([("model", sampleStateDict), ("epoch", .int(3))])
    let sd = try PyTorchCheckpoint.decode(try zipCheckpoint(underModel, storages: sampleStorages), path: "m.pt")
    expectSampleTensors(sd)
    #expect(sd.metadata == ["epoch": "3"])
}

@Test func importWithoutAStateDictListsTheTopLevelKeys() throws {
    let noTensors = TestPickleObject.dict([("epoch", .int(3)), ("state_dict", .dict([("x", .int(1))]))])
    let m = importError(try zipCheckpoint(noTensors, storages: []))
    #expect(m.hasPrefix("model.pt: found no state dict") && m.contains("\"epoch\" (int 3), \"state_dict\" (dict of 1)"), "\(m)")
    let notADict = importError(try zipCheckpoint(.list([.int(1)]), storages: []))
    #expect(notADict.contains("expected the checkpoint to hold a dict") && notADict.contains("found list of 1"), "\(notADict)")
}

// MARK: Views and element types

@Test func importStridedAndOffsetViewsComeBackRowMajor() throws {
    let storage = TestPickleStorage.float32("0", (0..<12).map(Float.init))  // a 3x4 matrix
    let views = TestPickleObject.orderedDict([
        ("matrix", .tensor(TestPickleTensor(storage, shape: [3, 4]))),
        ("transposed", .tensor(TestPickleTensor(storage, shape: [4, 3], strides: [1, 4]))),
        ("block", .tensor(TestPickleTensor(storage, shape: [2, 2], strides: [4, 1], offset: 5))),
        ("column", .tensor(TestPickleTensor(storage, shape: [3, 1], strides: [4, 1], offset: 2))),
        ("broadcast", .tensor(TestPickleTensor(storage, shape: [2, 3], strides: [0, 1], offset: 9))),
        ("empty", .tensor(TestPickleTensor(storage, shape: [0, 4], strides: [4, 1]))),
        ("row", .tensor(TestPickleTensor(storage, shape: [1, 3, 1], strides: [Int.max, 2, Int.max], offset: 1))),
    ], metadata: false)
    for bytes in [legacyCheckpoint(views, storages: [storage]), try zipCheckpoint(views, storages: [storage])] {
        let sd = try PyTorchCheckpoint.decode(bytes, path: "v.pt")
        #expect(sd.tensor("matrix")?.values == (0..<12).map(Float.init))
        #expect(sd.tensor("transposed")?.shape == [4, 3])
        #expect(sd.tensor("transposed")?.values == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        #expect(sd.tensor("block")?.values == [5, 6, 9, 10])
        #expect(sd.tensor("column")?.values == [2, 6, 10])
        #expect(sd.tensor("broadcast")?.values == [9, 10, 11, 9, 10, 11])
        #expect(sd.tensor("empty")?.values == [] && sd.tensor("empty")?.shape == [0, 4])
        #expect(sd.tensor("row")?.values == [1, 3, 5])  // a size-1 dimension's stride is never used
    }
    // A view reaching past its storage names the tensor and the numbers.
    let tooFar = TestPickleObject.orderedDict([
        ("w", .tensor(TestPickleTensor(storage, shape: [4, 4], strides: [4, 1]))),
    ], metadata: false)
    let m = importError(try zipCheckpoint(tooFar, storages: [storage]))
    #expect(m.contains("tensor \"w\": it needs elements 0...15 of float32 from its storage archive/data/0") && m.contains("holds only 12"), "\(m)")
}

@Test func importConvertsEveryElementTypeToFloat() throws {
    let halves: [UInt16] = [0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00, 0x0000, 0x8000, 0x7bff]  // 1, -2, ~1/3, 2^-24, inf, 0, -0, 65504
    let storages = [
        TestPickleStorage(type: "HalfStorage", key: "h", count: halves.count, bytes: bytes(halves)),
        TestPickleStorage(type: "BFloat16Storage", key: "bf", count: 2, bytes: bytes([UInt16(0x3f80), UInt16(0xc0a0)])),
        TestPickleStorage(type: "DoubleStorage", key: "d", count: 2, bytes: bytes([(1.0 / 3).bitPattern, (1e300).bitPattern])),
        TestPickleStorage(type: "LongStorage", key: "l", count: 2, bytes: bytes([Int64(-7), Int64(1) << 40])),
        TestPickleStorage(type: "IntStorage", key: "i", count: 2, bytes: bytes([Int32(-3), Int32(5)])),
        TestPickleStorage(type: "CharStorage", key: "c", count: 2, bytes: [0xff, 0x7f]),
        TestPickleStorage(type: "ByteStorage", key: "u", count: 2, bytes: [0xff, 0x01]),
        TestPickleStorage(type: "BoolStorage", key: "b", count: 3, bytes: [0, 1, 2]),
        // torch 2's untyped byte storage with the dtype given to _rebuild_tensor_v3.
        TestPickleStorage(type: "UntypedStorage", key: "raw", count: 4, bytes: bytes([UInt16(0x3c00), UInt16(0x4000)])),
    ]
    func tensor(_ s: TestPickleStorage, _ n: Int, v3: String? = nil) -> TestPickleObject {
        .tensor(TestPickleTensor(s, shape: [n], v3DType: v3))
    }
    let object = TestPickleObject.orderedDict([
        ("half", tensor(storages[0], halves.count)), ("bfloat", tensor(storages[1], 2)), ("double", tensor(storages[2], 2)),
        ("long", tensor(storages[3], 2)), ("int", tensor(storages[4], 2)), ("char", tensor(storages[5], 2)),
        ("byte", tensor(storages[6], 2)), ("bool", tensor(storages[7], 3)), ("v3", tensor(storages[8], 2, v3: "float16")),
    ], metadata: false)
    for bytes in [legacyCheckpoint(object, storages: storages), try zipCheckpoint(object, storages: storages)] {
        let sd = try PyTorchCheckpoint.decode(bytes, path: "t.pt")
        let half = try #require(sd.tensor("half"))
        #expect(half.dtype == "float16")
        #expect(half.values.map(\.bitPattern) == [1, -2, 0.33325195, 0x1p-24, .infinity, 0, -0.0, 65504].map { Float($0).bitPattern })
        #expect(sd.tensor("bfloat")?.values == [1, -5] && sd.tensor("bfloat")?.dtype == "bfloat16")
        #expect(sd.tensor("double")?.values == [Float(1.0 / 3), .infinity] && sd.tensor("double")?.dtype == "float64")
        #expect(sd.tensor("long")?.values == [-7, 1_099_511_627_776] && sd.tensor("long")?.dtype == "int64")
        #expect(sd.tensor("int")?.values == [-3, 5] && sd.tensor("int")?.dtype == "int32")
        #expect(sd.tensor("char")?.values == [-1, 127] && sd.tensor("char")?.dtype == "int8")
        #expect(sd.tensor("byte")?.values == [255, 1] && sd.tensor("byte")?.dtype == "uint8")
        #expect(sd.tensor("bool")?.values == [0, 1, 1] && sd.tensor("bool")?.dtype == "bool")
        #expect(sd.tensor("v3")?.values == [1, 2] && sd.tensor("v3")?.dtype == "float16")
    }
    // A big-endian zip (byteorder "big") is byte-swapped.
    let bigEndian = TestPickleStorage(type: "FloatStorage", key: "0", count: 2,
                                      bytes: [Float(1.5), -2].flatMap { TestPickleWriter.littleEndian(UInt64($0.bitPattern), 4).reversed() })
    let be = TestPickleObject.orderedDict([("w", .tensor(TestPickleTensor(bigEndian, shape: [2])))], metadata: false)
    let sd = try PyTorchCheckpoint.decode(try zipCheckpoint(be, storages: [bigEndian], byteorder: "big"), path: "be.pt")
    #expect(sd.tensor("w")?.values == [1.5, -2])
}

// MARK: Refusals and damage

@Test func importRefusesACheckpointThatWouldRunACommand() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let witness = dir + "/pwned"
    // {'state_dict': os.system('touch FILE')}: what a malicious checkpoint does on torch.load.
    var evil = TestPickleWriter()
    evil.raw([0x7d])
    evil.put()
    evil.string("state_dict")
    let globalOffset = evil.bytes.count
    evil.global("os", "system")
    evil.string("touch \(witness)")
    evil.raw([0x85, 0x52, 0x73])  // TUPLE1, REDUCE, SETITEM
    evil.stop()

    let legacy = legacyCheckpoint(.none, storages: [])
    // Put the evil pickle in place of the main one (after magic, version and sys_info).
    let infoEnd = try #require(sysInfoEnd(legacy))
    let legacyPath = dir + "/evil.th"
    try AtomicFile.write(Array(legacy[..<infoEnd]) + evil.bytes + [0x80, 0x02, 0x5d, 0x2e], to: legacyPath)
    let m1 = errorText { _ = try PyTorchCheckpoint.read(path: legacyPath) }
    #expect(m1.hasPrefix("\(legacyPath): at byte \(infoEnd + globalOffset): refusing to load global os.system"), "\(m1)")

    let m2 = importError(try zipWithPickle(evil.bytes), path: "evil.pt")
    #expect(m2.contains("in archive/data.pkl (its byte \(globalOffset))") && m2.contains("refusing to load global os.system"), "\(m2)")
    #expect(!FileManager.default.fileExists(atPath: witness))
}

/// The end of the sys_info pickle of a legacy checkpoint (the third STOP).
private func sysInfoEnd(_ bytes: [UInt8]) -> Int? {
    var machine = RestrictedUnpickler(bytes: bytes, path: "x")
    var end = 0
    for _ in 0..<3 {
        guard (try? machine.load()) != nil else { return nil }
        end = machine.position
        machine = RestrictedUnpickler(bytes: bytes, start: end, path: "x")
    }
    return end
}

/// A zip checkpoint whose data.pkl is exactly `pickle`.
private func zipWithPickle(_ pickle: [UInt8]) throws -> [UInt8] {
    let archive = try Archive(data: Data(), accessMode: .create)
    try archive.addEntry(with: "archive/data.pkl", type: .file, uncompressedSize: Int64(pickle.count)) { p, n in
        Data(pickle[Int(p)..<Int(p) + n])
    }
    return [UInt8](try #require(archive.data))
}

@Test func importTruncatedCheckpointsAreAlwaysErrors() throws {
    let legacy = legacyCheckpoint(sampleStateDict, storages: sampleStorages)
    let zip = try zipCheckpoint(sampleStateDict, storages: sampleStorages)
    for (name, full) in [("legacy.th", legacy), ("zip.pt", zip)] {
        expectSampleTensors(try PyTorchCheckpoint.decode(full, path: name))
        for cut in stride(from: 0, to: full.count, by: 7) {
            let m = importError(Array(full[..<cut]), path: name)
            #expect(m.hasPrefix(name + ":"), "\(name) cut at \(cut): \(m)")
        }
    }
    // The last storage cut short: the data section says where.
    let m = importError(Array(legacy.dropLast(3)), path: "legacy.th")
    #expect(m.contains("at byte \(legacy.count - 8)") && m.contains("storage '3' needs 1 × 8 bytes of int64, but only 5 remain"), "\(m)")
}

@Test func importMissingOrShortStoragesNameTheTensor() throws {
    // Zip: no data/2 record.
    let zip = try zipCheckpoint(sampleStateDict, storages: sampleStorages.filter { $0.key != "2" })
    let m1 = importError(zip)
    #expect(m1.contains("tensor \"module.bn1.bias\": its storage '2' is missing"), "\(m1)")
    // Legacy: the key list leaves one storage out.
    let legacy = legacyCheckpoint(sampleStateDict, storages: sampleStorages.filter { $0.key != "1" })
    let m2 = importError(legacy)
    #expect(m2.contains("tensor \"module.bn1.weight\": its storage '1' is missing"), "\(m2)")
    // A record shorter than the pickle declares.
    var short = sampleStorages
    short[0].bytes.removeLast(4)
    let m3 = importError(try zipCheckpoint(sampleStateDict, storages: short))
    #expect(m3.contains("tensor \"module.conv1.weight\": its storage archive/data/0 holds 92 bytes, but the pickle declares 24 elements of float32 (96 bytes)"), "\(m3)")
}

@Test func importDamagedZipStructureIsCaughtBeforeZIPFoundationReadsIt() throws {
    let good = try zipCheckpoint(sampleStateDict, storages: sampleStorages)
    let end = good.count - 22  // the end-of-central-directory record (no comment)
    // A central directory offset far past the end of the file.
    var farDirectory = good
    farDirectory.replaceSubrange(end + 16..<end + 20, with: [0x00, 0xff, 0xff, 0x7f])
    let m1 = importError(farDirectory)
    #expect(m1.hasPrefix("model.pt: at byte \(end): zip archive: the central directory") && m1.contains("does not fit"), "\(m1)")
    // The first entry's local header offset past the end.
    let directory = good[end + 16..<end + 20].reversed().reduce(0) { $0 << 8 | Int($1) }
    var farLocal = good
    farLocal.replaceSubrange(directory + 42..<directory + 46, with: [0x00, 0x00, 0xff, 0x7f])
    let m2 = importError(farLocal)
    #expect(m2.contains("at byte \(directory): zip archive: entry archive/data.pkl: expected its local header"), "\(m2)")
    // A flipped byte inside a storage fails its CRC-32.
    var flipped = good
    let storage = try #require(PyTorchZipArchive.validatedRecords(good, path: "x").first { $0.name == "archive/data/0" })
    flipped[storage.dataRange.lowerBound + 5] ^= 0x10
    let m3 = importError(flipped)
    #expect(m3.contains("at byte \(storage.dataRange.lowerBound): zip entry archive/data/0 fails its CRC-32 check"), "\(m3)")
}

@Test func importUnrecognisedFilesSayWhatWasExpected() throws {
    let m1 = importError(Array("<!DOCTYPE html>".utf8), path: "model.pth")
    #expect(m1.hasPrefix("model.pth: at byte 0: not a PyTorch checkpoint: expected a torch.save zip archive")
            && m1.contains("the file starts with 3c 21 44"), "\(m1)")
    #expect(importError([]).contains("the file is empty"))
    var plain = TestPickleWriter(protocolVersion: 4)
    plain.object(.dict([("a", .int(1))]))
    plain.stop()
    #expect(importError(plain.bytes).contains("a Python pickle without torch's magic number"))
    let torchScript = try zipCheckpoint(.none, storages: [], extra: [("archive/constants.pkl", [0x80, 0x02, 0x29, 0x2e])])
    #expect(importError(torchScript).contains("a TorchScript archive"))
    #expect(importError(try zipWithPickle([])).contains("in archive/data.pkl (its byte 0): expected a pickle opcode"))
    #expect(errorText { _ = try PyTorchCheckpoint.read(path: "/nonexistent/x.pt") }
        == "/nonexistent/x.pt: cannot open (no such file); expected a PyTorch checkpoint (torch.save: a zip archive or a legacy pickle file)")
}

// MARK: The shared pretrained models

private let sharedResNet20 = SharedFiles.directory + "/models/cifar-resnet/resnet20-12fca82f.th"
private let sharedResNet56 = SharedFiles.directory + "/models/cifar-resnet/resnet56-4bfd9763.th"

@Test(.enabled(if: SharedFiles.available(sharedResNet20), "needs ../shared/models/cifar-resnet/resnet20-12fca82f.th"))
func importTheSharedPretrainedResNet20() throws {
    let sd = try PyTorchCheckpoint.read(path: sharedResNet20)
    #expect(sd.format == .torchLegacy)
    // 269,722 parameters plus the running mean and variance of 688 BatchNorm channels.
    #expect(sd.tensors.count == 97)
    #expect(sd.tensors.reduce(0) { $0 + $1.values.count } == 269_722 + 2 * 688)
    let conv1 = try #require(sd.tensor("module.conv1.weight"))
    #expect(conv1.shape == [16, 3, 3, 3] && conv1.dtype == "float32")
    #expect(conv1.values.prefix(3) == [-0.13818146288394928, -0.1624176800251007, 0.8207383155822754])
    #expect(sd.tensor("module.linear.weight")?.shape == [10, 64])
    #expect(sd.tensors.allSatisfy { $0.values.count == $0.shape.reduce(1, *) && $0.values.allSatisfy(\.isFinite) })
    #expect(sd.metadata == ["best_prec1": "91.78000183105469"])  // a float32 saved as a Python float
}

@Test(.enabled(if: SharedFiles.available(sharedResNet56), "needs ../shared/models/cifar-resnet/resnet56-4bfd9763.th"))
func importTheSharedPretrainedResNet56() throws {
    let sd = try PyTorchCheckpoint.read(path: sharedResNet56)
    // 853,018 parameters plus the running statistics of 16 + 18 * (16 + 32 + 64) = 2032 channels.
    #expect(sd.tensors.reduce(0) { $0 + $1.values.count } == 853_018 + 2 * 2032)
    #expect(sd.tensors.count == 277 && sd.tensors.last?.name == "module.linear.bias")
    #expect(sd.tensor("module.layer3.8.conv2.weight")?.shape == [64, 64, 3, 3])
    #expect(sd.metadata == ["best_prec1": "93.62"])
}
