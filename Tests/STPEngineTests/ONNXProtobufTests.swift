import Foundation
import Testing
@testable import STPEngine

// The protobuf wire format byte for byte: the examples of the protobuf encoding guide, and ONNX
// messages whose expected bytes were produced by onnx 1.23's own serializer (onnx.helper).

private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02X", $0) }.joined(separator: " ") }
private func bytes(_ hexText: String) -> [UInt8] { hexText.split(separator: " ").map { UInt8($0, radix: 16)! } }
private func encoded(_ body: (inout ProtobufWriter) -> Void) -> String {
    var w = ProtobufWriter()
    body(&w)
    return hex(w.bytes)
}

@Test func varintsAndScalarFields() {
    #expect(encoded { $0.appendVarint(0) } == "00")
    #expect(encoded { $0.appendVarint(1) } == "01")
    #expect(encoded { $0.appendVarint(127) } == "7F")
    #expect(encoded { $0.appendVarint(128) } == "80 01")
    #expect(encoded { $0.appendVarint(300) } == "AC 02")
    #expect(encoded { $0.appendVarint(UInt64.max) } == "FF FF FF FF FF FF FF FF FF 01")
    // The encoding guide's Test1 { int32 a = 1; } with a = 150.
    #expect(encoded { $0.writeInt32(1, 150) } == "08 96 01")
    // Negative int32 and int64 are sign-extended to ten bytes.
    #expect(encoded { $0.writeInt32(1, -1) } == "08 FF FF FF FF FF FF FF FF FF 01")
    #expect(encoded { $0.writeInt64(1, -2) } == "08 FE FF FF FF FF FF FF FF FF 01")
    #expect(encoded { $0.writeBool(3, true) } == "18 01")
    // Field 20 needs a two-byte key.
    #expect(encoded { $0.writeUInt64(20, 7) } == "A0 01 07")
    #expect(encoded { $0.writeFloat(1, 1) } == "0D 00 00 80 3F")
    #expect(encoded { $0.writeFloat(2, 1e-5) } == "15 AC C5 27 37")
    #expect(encoded { $0.writeDouble(1, -2) } == "09 00 00 00 00 00 00 00 C0")
}

@Test func lengthDelimitedAndNestedFields() {
    // Test2 { string b = 2; } with b = "testing"; Test3 { Test1 c = 3; } with c.a = 150.
    #expect(encoded { $0.writeString(2, "testing") } == "12 07 74 65 73 74 69 6E 67")
    #expect(encoded { $0.writeMessage(3) { $0.writeInt32(1, 150) } } == "1A 03 08 96 01")
    #expect(encoded { $0.writeString(1, "") } == "0A 00")
    #expect(encoded { $0.writeMessage(1) { _ in } } == "0A 00")
    // A nested message longer than 127 bytes has a two-byte length.
    let long = encoded { $0.writeMessage(2) { $0.writeBytes(1, [UInt8](repeating: 0xAB, count: 200)) } }
    #expect(long.hasPrefix("12 CB 01 0A C8 01 AB AB"))
    var w = ProtobufWriter()
    w.writeMessage(2) { $0.writeBytes(1, [UInt8](repeating: 0xAB, count: 200)) }
    #expect(w.count == 3 + 3 + 200)
}

@Test func packedAndUnpackedRepeatedFields() {
    // The encoding guide's Test4 { repeated int32 d = 4 [packed = true]; } with 3, 270, 86942.
    #expect(encoded { $0.writePackedInt64(4, [3, 270, 86942]) } == "22 06 03 8E 02 9E A7 05")
    #expect(encoded { $0.writePackedInt64(4, []) } == "")
    #expect(encoded { $0.writePackedFloat(4, [1, -2]) } == "22 08 00 00 80 3F 00 00 00 C0")
    #expect(encoded { $0.writeRepeatedInt64(8, [3, -1]) } == "40 03 40 FF FF FF FF FF FF FF FF FF 01")
    let floats: [Float] = [0.5, -0.25]
    #expect(encoded { w in floats.withUnsafeBufferPointer { w.writeFloatsAsBytes(9, $0) } } == "4A 08 00 00 00 3F 00 00 80 BE")
}

@Test func onnxMessagesMatchOnnxsOwnSerializer() {
    // helper.make_node("Conv", ["x", "w"], ["y"], name="c", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    let node = ONNXNode(name: "c", opType: "Conv", inputs: ["x", "w"], outputs: ["y"],
                        attributes: [.ints("kernel_shape", [3, 3]), .ints("pads", [1, 1, 1, 1])])
    #expect(encoded { node.encode(into: &$0) } == "0A 01 78 0A 01 77 12 01 79 1A 01 63 22 04 43 6F 6E 76 2A 15 0A 0C 6B 65 72 6E 65 6C 5F 73 68 61 70 65 40 03 40 03 A0 01 07 2A 11 0A 04 70 61 64 73 40 01 40 01 40 01 40 01 A0 01 07")
    #expect(encoded { ONNXAttribute.float("epsilon", 1e-5).encode(into: &$0) } == "0A 07 65 70 73 69 6C 6F 6E 15 AC C5 27 37 A0 01 01")
    #expect(encoded { ONNXAttribute.string("mode", "constant").encode(into: &$0) } == "0A 04 6D 6F 64 65 22 08 63 6F 6E 73 74 61 6E 74 A0 01 03")
    #expect(encoded { ONNXAttribute.int("axis", 1).encode(into: &$0) } == "0A 04 61 78 69 73 18 01 A0 01 02")
    // TensorProto dims=[2] INT64 name "s" raw_data [0, 2]
    #expect(encoded { ONNXTensor.int64("s", dims: [2], [0, 2]).encode(into: &$0) } == "08 02 10 07 42 01 73 4A 10 00 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00")
    // helper.make_tensor_value_info("input", FLOAT, ["N", 3])
    let info = ONNXValueInfo(name: "input", shape: [.parameter("N"), .value(3)])
    #expect(encoded { info.encode(into: &$0) } == "0A 05 69 6E 70 75 74 12 0F 0A 0D 08 01 12 09 0A 03 12 01 4E 0A 02 08 03")
    // helper.make_operatorsetid("", 13) inside a ModelProto with ir_version 8, producer "stp" and an empty graph.
    var model = ONNXModel(graph: ONNXGraph(name: "g"))
    model.docString = nil
    #expect(hex(model.serialized()) == "08 08 12 03 73 74 70 3A 03 12 01 67 42 04 0A 00 10 0D")
    #expect(bytes("0A 00 10 0D") == Array(model.serialized().suffix(4)))
    let tensor = ONNXTensor.float32("w", dims: [1, 2], [1, -2])
    #expect(tensor.rawData == bytes("00 00 80 3F 00 00 00 C0"))
}

@Test func numpyFilesRoundTrip() throws {
    let values: [Float] = (0..<24).map { Float($0) * 0.5 - 3 }
    let file = NumpyFile.encodeFloat32(values, shape: [2, 3, 4])
    #expect(Array(file[0..<8]) == [0x93] + Array("NUMPY".utf8) + [1, 0])
    let headerLength = Int(file[8]) | Int(file[9]) << 8
    #expect((10 + headerLength) % 64 == 0)
    let header = String(decoding: file[10..<10 + headerLength], as: UTF8.self)
    #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }"))
    #expect(header.hasSuffix("\n"))
    #expect(file.count == 10 + headerLength + 24 * 4)
    let decoded = try NumpyFile.decodeFloat32(file, path: "x.npy")
    #expect(decoded.shape == [2, 3, 4])
    #expect(decoded.values == values)
    let vector = try NumpyFile.decodeFloat32(NumpyFile.encodeFloat32([7], shape: [1]), path: "v.npy")
    #expect(vector.shape == [1] && vector.values == [7])
    #expect(throws: STPError.self) { try NumpyFile.decodeFloat32(Array(file.dropLast()), path: "short.npy") }
}
