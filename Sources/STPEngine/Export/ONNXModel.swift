// The small part of ONNX (onnx/onnx.proto, proto2) that an exported ResNet needs, as Swift values
// and their protobuf encoding. Field numbers, checked against onnx.proto of onnx 1.23:
//
//   ModelProto          ir_version=1 producer_name=2 producer_version=3 doc_string=6 graph=7
//                       opset_import=8 metadata_props=14
//   OperatorSetIdProto  domain=1 version=2
//   StringStringEntry   key=1 value=2
//   GraphProto          node=1 name=2 initializer=5 doc_string=10 input=11 output=12
//   NodeProto           input=1 output=2 name=3 op_type=4 attribute=5
//   AttributeProto      name=1 f=2 i=3 s=4 ints=8 type=20 (FLOAT=1 INT=2 STRING=3 INTS=7)
//   TensorProto         dims=1 data_type=2 (FLOAT=1 INT64=7) name=8 raw_data=9 doc_string=12
//   ValueInfoProto      name=1 type=2
//   TypeProto           tensor_type=1;  TypeProto.Tensor elem_type=1 shape=2
//   TensorShapeProto    dim=1;  Dimension dim_value=1 dim_param=2
//
// Fields go out in field-number order and the repeated scalars (dims, ints), which onnx.proto does
// not declare packed, one key per value, as protoc does: the bytes are exactly what onnx's own
// serializer writes for the same model (the onnxruntime test checks this).

public enum ONNXDataType: Int32, Sendable {
    case float = 1
    case int64 = 7
}

/// A constant tensor (an initializer): little-endian raw data.
public struct ONNXTensor: Sendable {
    public var name: String
    public var dataType: ONNXDataType
    public var dims: [Int]
    public var rawData: [UInt8]
    public var docString: String?

    public init(name: String, dataType: ONNXDataType, dims: [Int], rawData: [UInt8], docString: String? = nil) {
        self.name = name; self.dataType = dataType; self.dims = dims; self.rawData = rawData; self.docString = docString
    }

    public static func float32(_ name: String, dims: [Int], _ values: [Float], doc: String? = nil) -> ONNXTensor {
        precondition(dims.reduce(1, *) == values.count, "\(name): \(values.count) values for shape \(dims)")
        let raw = values.withUnsafeBufferPointer { ProtobufWriter.littleEndianBytes($0) }
        return ONNXTensor(name: name, dataType: .float, dims: dims, rawData: raw, docString: doc)
    }

    public static func int64(_ name: String, dims: [Int], _ values: [Int64]) -> ONNXTensor {
        precondition(dims.reduce(1, *) == values.count, "\(name): \(values.count) values for shape \(dims)")
        var raw = [UInt8]()
        raw.reserveCapacity(values.count * 8)
        for v in values { withUnsafeBytes(of: v.littleEndian) { raw.append(contentsOf: $0) } }
        return ONNXTensor(name: name, dataType: .int64, dims: dims, rawData: raw)
    }

    public var elementCount: Int { dims.reduce(1, *) }

    func encode(into w: inout ProtobufWriter) {
        w.writeRepeatedInt64(1, dims.map(Int64.init))
        w.writeInt32(2, dataType.rawValue)
        w.writeString(8, name)
        w.writeBytes(9, rawData)
        if let docString { w.writeString(12, docString) }
    }
}

public struct ONNXAttribute: Sendable {
    public enum Value: Sendable, Equatable {
        case float(Float)
        case int(Int64)
        case string(String)
        case ints([Int64])
    }
    public var name: String
    public var value: Value

    public init(_ name: String, _ value: Value) { self.name = name; self.value = value }
    public static func int(_ name: String, _ v: Int) -> ONNXAttribute { ONNXAttribute(name, .int(Int64(v))) }
    public static func ints(_ name: String, _ v: [Int]) -> ONNXAttribute { ONNXAttribute(name, .ints(v.map(Int64.init))) }
    public static func float(_ name: String, _ v: Float) -> ONNXAttribute { ONNXAttribute(name, .float(v)) }
    public static func string(_ name: String, _ v: String) -> ONNXAttribute { ONNXAttribute(name, .string(v)) }

    func encode(into w: inout ProtobufWriter) {
        w.writeString(1, name)
        switch value {
        case .float(let f):
            w.writeFloat(2, f)
            w.writeInt32(20, 1)
        case .int(let i):
            w.writeInt64(3, i)
            w.writeInt32(20, 2)
        case .string(let s):
            w.writeString(4, s)
            w.writeInt32(20, 3)
        case .ints(let list):
            w.writeRepeatedInt64(8, list)
            w.writeInt32(20, 7)
        }
    }
}

public struct ONNXNode: Sendable {
    public var name: String
    public var opType: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [ONNXAttribute]

    public init(name: String, opType: String, inputs: [String], outputs: [String], attributes: [ONNXAttribute] = []) {
        self.name = name; self.opType = opType; self.inputs = inputs; self.outputs = outputs; self.attributes = attributes
    }

    func encode(into w: inout ProtobufWriter) {
        for i in inputs { w.writeString(1, i) }
        for o in outputs { w.writeString(2, o) }
        w.writeString(3, name)
        w.writeString(4, opType)
        for a in attributes { w.writeMessage(5) { a.encode(into: &$0) } }
    }
}

/// A dimension of a graph input or output: fixed, or named and free (the batch).
public enum ONNXDimension: Sendable, Equatable {
    case value(Int)
    case parameter(String)
}

/// A graph input or output: a float tensor of a given shape.
public struct ONNXValueInfo: Sendable {
    public var name: String
    public var elementType: ONNXDataType
    public var shape: [ONNXDimension]

    public init(name: String, elementType: ONNXDataType = .float, shape: [ONNXDimension]) {
        self.name = name; self.elementType = elementType; self.shape = shape
    }

    func encode(into w: inout ProtobufWriter) {
        w.writeString(1, name)
        w.writeMessage(2) { type in                         // TypeProto
            type.writeMessage(1) { tensor in                // .tensor_type
                tensor.writeInt32(1, elementType.rawValue)  // elem_type
                tensor.writeMessage(2) { shapeProto in      // shape
                    for d in shape {
                        shapeProto.writeMessage(1) { dim in
                            switch d {
                            case .value(let v): dim.writeInt64(1, Int64(v))
                            case .parameter(let p): dim.writeString(2, p)
                            }
                        }
                    }
                }
            }
        }
    }
}

public struct ONNXGraph: Sendable {
    public var name: String
    public var docString: String?
    public var nodes: [ONNXNode] = []
    public var initializers: [ONNXTensor] = []
    public var inputs: [ONNXValueInfo] = []
    public var outputs: [ONNXValueInfo] = []

    public init(name: String, docString: String? = nil) { self.name = name; self.docString = docString }

    func encode(into w: inout ProtobufWriter) {
        for n in nodes { w.writeMessage(1) { n.encode(into: &$0) } }
        w.writeString(2, name)
        for t in initializers { w.writeMessage(5) { t.encode(into: &$0) } }
        if let docString { w.writeString(10, docString) }
        for i in inputs { w.writeMessage(11) { i.encode(into: &$0) } }
        for o in outputs { w.writeMessage(12) { o.encode(into: &$0) } }
    }
}

public struct ONNXModel: Sendable {
    public var irVersion: Int64 = 8
    /// Operator sets by domain ("" is the default ai.onnx domain).
    public var opsetImports: [(domain: String, version: Int64)] = [("", 13)]
    public var producerName = "stp"
    public var producerVersion: String?
    public var docString: String?
    public var metadata: [(key: String, value: String)] = []
    public var graph: ONNXGraph

    public init(graph: ONNXGraph) { self.graph = graph }

    /// The ModelProto bytes (what a .onnx file holds).
    public func serialized() -> [UInt8] {
        var w = ProtobufWriter()
        w.writeInt64(1, irVersion)
        w.writeString(2, producerName)
        if let producerVersion { w.writeString(3, producerVersion) }
        if let docString { w.writeString(6, docString) }
        w.writeMessage(7) { graph.encode(into: &$0) }
        for (domain, version) in opsetImports {
            w.writeMessage(8) { op in
                op.writeString(1, domain)
                op.writeInt64(2, version)
            }
        }
        for (key, value) in metadata {
            w.writeMessage(14) { entry in
                entry.writeString(1, key)
                entry.writeString(2, value)
            }
        }
        return w.bytes
    }
}
