import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

private func sampleTensors() -> [SafeTensor] {
    [
        .float32("conv.weight", shape: [2, 1, 2, 2], [1, -2, 3.5, 0, -0, .infinity, 1e-30, 7]),
        .float64("stats.mean", shape: [3], [0.1, -2.5e300, 3]),
        .int32("labels", shape: [4], [0, -1, Int32.max, Int32.min]),
        .int64("steps", shape: [2], [Int64.max, -7]),
        .uint8("mask", shape: [5], [0, 1, 2, 254, 255]),
        .float32("scalar", shape: [], [42]),
        .float32("empty", shape: [0, 3], []),
    ]
}

private let sampleMetadata = ["model": "resnet20", "epoch": "3", "quote\"and\\slash": "line\nbreak ü 🙂"]

@Test func safeTensorsRoundTripsEveryDTypeAndMetadata() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/t.safetensors"
    try SafeTensorsFile.write(tensors: sampleTensors(), metadata: sampleMetadata, to: path)
    let file = try SafeTensorsFile.read(path: path)
    #expect(file.metadata == sampleMetadata)
    #expect(file.names == sampleTensors().map(\.name).sorted())

    let w = try file.floats("conv.weight", expectingShape: [2, 1, 2, 2])
    #expect(w.values.map(\.bitPattern) == [1, -2, 3.5, 0, -0, Float.infinity, 1e-30, 7].map(\.bitPattern))
    #expect(try file.doubles("stats.mean").values == [0.1, -2.5e300, 3])
    #expect(try file.floats("stats.mean").values == [Float(0.1), -Float.infinity, 3])  // F64 narrows
    #expect(try file.int32s("labels").values == [0, -1, Int32.max, Int32.min])
    #expect(try file.int64s("labels").values == [0, -1, Int64(Int32.max), Int64(Int32.min)])
    #expect(try file.int64s("steps").values == [Int64.max, -7])
    #expect(try file.uint8s("mask").values == [0, 1, 2, 254, 255])
    #expect(try file.int32s("mask").values == [0, 1, 2, 254, 255])
    let s = try file.floats("scalar")
    #expect(s.shape == [] && s.values == [42])
    let e = try file.floats("empty")
    #expect(e.shape == [0, 3] && e.values.isEmpty)

    // Every raw tensor survives byte for byte, and re-writing gives the same file.
    for t in sampleTensors() {
        let got = file.allTensors.first { $0.name == t.name }
        #expect(got == t)
    }
    try file.write(to: dir + "/copy.safetensors")
    #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/copy.safetensors"))
        == Data(contentsOf: URL(fileURLWithPath: path)))

    let buffer = FloatBuffer()
    try file.load("conv.weight", shape: [2, 1, 2, 2], into: buffer)
    #expect(buffer.array == w.values)
}

@Test func safeTensorsEncodingIsDeterministicAndAligned() throws {
    let a = try SafeTensorsFile.encode(tensors: sampleTensors(), metadata: sampleMetadata)
    let b = try SafeTensorsFile.encode(tensors: sampleTensors().reversed(), metadata: sampleMetadata)
    #expect(a == b)
    let bytes = [UInt8](a)
    let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
    #expect(headerLength % 8 == 0)  // data section starts 8-aligned, as the reference does
    let file = try SafeTensorsFile.decode(bytes, path: "mem")
    var next = 0
    // Back to back, largest element first, then by name: every tensor aligned to its size.
    let order = file.tensors.values.sorted { $0.dataOffsets.lowerBound < $1.dataOffsets.lowerBound
        || ($0.dataOffsets.lowerBound == $1.dataOffsets.lowerBound && $0.name < $1.name) }
    for e in order {
        #expect(e.dataOffsets.lowerBound == next)
        #expect(e.dataOffsets.lowerBound % e.dtype.byteSize == 0)
        next = e.dataOffsets.upperBound
    }
    #expect(next == file.data.count)
    #expect(order.prefix(2).map(\.name) == ["stats.mean", "steps"])
    // Header JSON is plain, sorted, and padded with spaces.
    let header = String(decoding: bytes[8..<8 + headerLength], as: UTF8.self)
    #expect(header.hasPrefix("{\"__metadata__\":{\"epoch\":\"3\",\"model\":\"resnet20\""))
    #expect(header.hasSuffix("}") || header.hasSuffix(" "))
}

@Test func safeTensorsEncodeRejectsInconsistentTensors() throws {
    let bad = errorText {
        _ = try SafeTensorsFile.encode(tensors: [SafeTensor(name: "w", dtype: .f32, shape: [2, 3], bytes: [0, 0, 0, 0])],
                                       path: "out.safetensors")
    }
    #expect(bad.contains("out.safetensors") && bad.contains("\"w\"") && bad.contains("4 bytes") && bad.contains("24 bytes"))
    let twice = errorText {
        _ = try SafeTensorsFile.encode(tensors: [.uint8("a", shape: [1], [1]), .uint8("a", shape: [1], [2])])
    }
    #expect(twice.contains("\"a\" twice"))
}

@Test func safeTensorsTruncatedFilesNameFileAndNumbers() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let good = [UInt8](try SafeTensorsFile.encode(tensors: sampleTensors(), metadata: sampleMetadata))
    let headerLength = good[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
    let dataStart = 8 + headerLength
    let path = dir + "/cut.safetensors"

    for cut in [0, 3, 7] {
        try AtomicFile.write(Array(good[..<cut]), to: path)
        let m = errorText { _ = try SafeTensorsFile.read(path: path) }
        #expect(m.contains(path) && m.contains("at byte 0") && m.contains("only \(cut) bytes"), "\(m)")
    }
    for cut in [8, 9, dataStart / 2, dataStart - 1] {
        try AtomicFile.write(Array(good[..<cut]), to: path)
        let m = errorText { _ = try SafeTensorsFile.read(path: path) }
        #expect(m.contains(path) && m.contains("header length \(headerLength)")
            && m.contains("file size \(cut)"), "\(m)")
    }
    // Cut inside the data section: the last tensor now ends past it.
    for cut in [dataStart + 1, good.count - 1] {
        try AtomicFile.write(Array(good[..<cut]), to: path)
        let m = errorText { _ = try SafeTensorsFile.read(path: path) }
        #expect(m.contains(path) && m.contains("outside the data section of \(cut - dataStart) bytes"), "\(m)")
    }
    // Cutting exactly at the data start leaves a header that points past the end.
    try AtomicFile.write(Array(good[..<dataStart]), to: path)
    #expect(errorText { _ = try SafeTensorsFile.read(path: path) }.contains("outside the data section of 0 bytes"))
}

@Test func safeTensorsHeaderLengthAndJSONCorruption() throws {
    let good = [UInt8](try SafeTensorsFile.encode(tensors: sampleTensors(), metadata: sampleMetadata))
    var flipped = good
    flipped[5] ^= 0x40  // header length becomes 2^46 + n
    let n = flipped[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    let m1 = errorText { _ = try SafeTensorsFile.decode(flipped, path: "f.safetensors") }
    #expect(m1.contains("f.safetensors") && m1.contains("header length \(n)") && m1.contains("file size \(good.count)"), "\(m1)")

    var broken = good
    broken[8] = UInt8(ascii: "[")  // `["__metadata__":` breaks at the ':' (byte 8 + 15)
    let m2 = errorText { _ = try SafeTensorsFile.decode(broken, path: "j.safetensors") }
    #expect(m2.contains("j.safetensors: at byte 23") && m2.contains("not valid JSON") && m2.contains("found ':'"), "\(m2)")

    let m3 = errorText {
        _ = try SafeTensorsFile.decode(rawSafeTensors(header: #"{"a": {"dtype": "F32", "shape": [1] "data_offsets": [0, 4]}}"#,
                                                      data: [0, 0, 0, 0]), path: "k.safetensors")
    }
    // The missing comma: the parser stops at the quote of "data_offsets", header byte 36.
    #expect(m3.contains("k.safetensors: at byte 44") && m3.contains("expected ',' or '}'"), "\(m3)")

    var notUTF8 = rawSafeTensors(header: #"{"__metadata__": {"x": "ab"}}"#, data: [])
    notUTF8[8 + 24] = 0xFF
    let m4 = errorText { _ = try SafeTensorsFile.decode(notUTF8, path: "u.safetensors") }
    #expect(m4.contains("u.safetensors: at byte 32") && m4.contains("not valid UTF-8"), "\(m4)")

    let m5 = errorText {
        _ = try SafeTensorsFile.decode(rawSafeTensors(header: "[1, 2]", data: []), path: "v.safetensors")
    }
    #expect(m5.contains("expected the header to be a JSON object"), "\(m5)")
    let m6 = errorText {
        _ = try SafeTensorsFile.decode(rawSafeTensors(header: #"{"a": 1, "a": 2}"#, data: []), path: "d.safetensors")
    }
    #expect(m6.contains("duplicate key \"a\""), "\(m6)")
}

@Test func safeTensorsRejectsBadTensorEntries() throws {
    func message(_ header: String, _ dataCount: Int) -> String {
        errorText {
            _ = try SafeTensorsFile.decode(rawSafeTensors(header: header, data: .init(repeating: 0, count: dataCount)),
                                           path: "bad.safetensors")
        }
    }
    let overlap = message(#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#, 12)
    #expect(overlap.contains("bad.safetensors") && overlap.contains("\"b\" data_offsets [4, 12] overlap tensor \"a\" [0, 8]"), "\(overlap)")

    let outside = message(#"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}"#, 16)
    #expect(outside.contains("\"a\" data_offsets [8, 24] are outside the data section of 16 bytes"), "\(outside)")

    let reversed = message(#"{"a": {"dtype": "U8", "shape": [0], "data_offsets": [4, 2]}}"#, 16)
    #expect(reversed.contains("data_offsets [4, 2]"), "\(reversed)")

    let count = message(#"{"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}}"#, 20)
    #expect(count.contains("\"w\" has 20 bytes, but shape [2, 3] of F32 needs 6 × 4 = 24 bytes"), "\(count)")

    let dtype = message(#"{"w": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}"#, 2)
    #expect(dtype.contains("\"w\": unknown dtype \"BF16\"") && dtype.contains("F32, F64, I32, I64, U8"), "\(dtype)")

    let shape = message(#"{"w": {"dtype": "U8", "shape": [1.5], "data_offsets": [0, 1]}}"#, 1)
    #expect(shape.contains("non-negative integers"), "\(shape)")

    let meta = message(#"{"__metadata__": {"n": 3}}"#, 0)
    #expect(meta.contains("metadata value \"n\" to be a string"), "\(meta)")
}

@Test func safeTensorsLookupErrors() throws {
    let file = try SafeTensorsFile.decode([UInt8](try SafeTensorsFile.encode(tensors: sampleTensors())), path: "m.safetensors")
    let missing = errorText { _ = try file.floats("conv.bias") }
    #expect(missing.contains("m.safetensors") && missing.contains("no tensor named \"conv.bias\"")
        && missing.contains("7 tensors") && missing.contains("\"conv.weight\""), "\(missing)")
    let shape = errorText { _ = try file.floats("conv.weight", expectingShape: [2, 1, 3, 3]) }
    #expect(shape.contains("m.safetensors") && shape.contains("\"conv.weight\" has shape [2, 1, 2, 2], expected [2, 1, 3, 3]"), "\(shape)")
    let type = errorText { _ = try file.floats("labels") }
    #expect(type.contains("\"labels\" is I32, expected F32 or F64"), "\(type)")
    let wide = try SafeTensorsFile.decode([UInt8](try SafeTensorsFile.encode(tensors: [.int64("big", shape: [2], [1, 1 << 40])])), path: "w")
    #expect(errorText { _ = try wide.int32s("big") }.contains("element 1 = 1099511627776 does not fit in Int32"))
    let none = errorText { _ = try SafeTensorsFile.read(path: "/nonexistent/x.safetensors") }
    #expect(none.contains("/nonexistent/x.safetensors") && none.contains("no such file"), "\(none)")
}

@Test func atomicWriteLeavesNoTempFileAndKeepsOldContentOnFailure() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/c.safetensors"
    try SafeTensorsFile.write(tensors: sampleTensors(), metadata: ["v": "1"], to: path)
    try SafeTensorsFile.write(tensors: sampleTensors(), metadata: ["v": "2"], to: path)
    #expect(directoryListing(dir) == ["c.safetensors"])
    #expect(try SafeTensorsFile.read(path: path).metadata == ["v": "2"])
    let before = try Data(contentsOf: URL(fileURLWithPath: path))

    // A failed encode does not touch the old file.
    let m = errorText {
        try SafeTensorsFile.write(tensors: [SafeTensor(name: "x", dtype: .f64, shape: [3], bytes: [1])], to: path)
    }
    #expect(m.contains(path) && m.contains("needs 24 bytes"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    #expect(directoryListing(dir) == ["c.safetensors"])

    // A failed rename (target is a non-empty directory) removes the temporary file.
    try AtomicFile.createDirectory(dir + "/occupied/inner")
    let r = errorText { try AtomicFile.write([1, 2, 3], to: dir + "/occupied") }
    #expect(r.contains(dir + "/occupied") && r.contains("cannot rename"), "\(r)")
    #expect(directoryListing(dir) == ["c.safetensors", "occupied"])

    // A missing directory is reported with the path and the errno text.
    let d = errorText { try AtomicFile.write("x", to: dir + "/missing/f.txt") }
    #expect(d.contains(dir + "/missing/f.txt") && d.contains("No such file or directory"), "\(d)")

    // createDirectory is idempotent and refuses a path that is a file.
    try AtomicFile.createDirectory(dir + "/a/b/c")
    try AtomicFile.createDirectory(dir + "/a/b/c")
    #expect(errorText { try AtomicFile.createDirectory(path) }.contains("a file with that name exists"))
}

private let fixtureDirectory = SharedFiles.fixtures

@Test(.enabled(if: SharedFiles.available(fixtureDirectory + "/resnet20_ce_step.safetensors",
                                          fixtureDirectory + "/resnet20_stimulative_step.safetensors"),
               "needs the PyTorch fixtures in ../shared/fixtures"),
      arguments: ["resnet20_ce_step", "resnet20_stimulative_step"])
func readsPyTorchFixtures(name: String) throws {
    let path = "\(fixtureDirectory)/\(name).safetensors"
    let file = try SafeTensorsFile.read(path: path)
    #expect(try file.floats("conv1.weight", expectingShape: [16, 3, 3, 3]).values.count == 432)
    let input = try file.floats("input", expectingShape: [8, 3, 32, 32])
    #expect(input.values.allSatisfy { $0.isFinite })
    #expect(file.tensors["labels"]?.dtype == .i32)
    let labels = try file.int32s("labels", expectingShape: [8])
    #expect(labels.values.allSatisfy { (0..<10).contains($0) })
    #expect(file.metadata["computed_in"] == "float64")
    #expect(file.metadata["what"]?.contains("ResNet-20") == true)
    #expect(try file.floats("fc.weight", expectingShape: [10, 64]).values.count == 640)
    #expect(file.tensors.keys.contains { $0.hasPrefix("grad.") })
    // Our writer produces a file that reads back identically.
    let again = try SafeTensorsFile.decode([UInt8](try SafeTensorsFile.encode(tensors: file.allTensors, metadata: file.metadata)), path: "copy")
    #expect(again.metadata == file.metadata)
    #expect(try again.floats("input").values == input.values)
}
