import Foundation
import STPTestSupport
import Testing
import ZIPFoundation
@testable import STPEngine

// Seeded, bounded fuzzing of the checkpoint parsers: the safetensors header and data, the PyTorch
// reader (legacy torch.save pickles, zip archives and safetensors through PyTorchCheckpoint), the
// run record and the training configuration it holds. Every mutated input must parse or throw an
// STPError whose message names the file; nothing may trap. FuzzMutator.swift has the mutations.

@Suite struct CheckpointFuzzTests {
    private static func safeTensorsSeeds() throws -> [[UInt8]] {
        [
            [UInt8](try SafeTensorsFile.encode(tensors: [
                .float32("conv.weight", shape: [2, 1, 2, 2], (0..<8).map { Float($0) - 3.5 }),
                .int64("bn.num_batches_tracked", shape: [], [391]),
            ], metadata: ["format": "pt", "stp": "1"])),
            [UInt8](try SafeTensorsFile.encode(tensors: [
                .float64("a", shape: [3], [1, -2, .pi]), .int32("b", shape: [2, 2], [1, 2, 3, Int32.max]),
                .uint8("c", shape: [0], []), .float32("d", shape: [1, 1], [.nan]),
            ])),
            rawSafeTensors(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"k":"\u00e9\n"}}"#,
                           data: [0, 0, 128, 63]),
            rawSafeTensors(header: "{}", data: []),
        ]
    }

    /// Reads every tensor the way stp does, so a header that parses but lies is caught too.
    private static func readAll(_ file: SafeTensorsFile) throws {
        _ = file.allTensors
        for name in file.names {
            switch file.tensors[name]!.dtype {
            case .f32: _ = try file.floats(name)
            case .f64: _ = try file.doubles(name)
            case .i32: _ = try file.int32s(name)
            case .i64: _ = try file.int64s(name)
            case .u8: _ = try file.uint8s(name)
            }
        }
    }

    @Test func safeTensorsFuzz() throws {
        let seeds = try Self.safeTensorsSeeds()
        let tokens = FuzzMutator.textTokens.map { Array($0.utf8) }
            + ["\"dtype\"", "\"F16\"", "\"BF16\"", "\"I64\"", "\"U8\"", "\"BOOL\"", "\"shape\"", "\"data_offsets\"",
               "[0,0]", "[1,0]", "[-1]", "[4294967296,4294967296]", "[9223372036854775807]", "\"__metadata__\""]
                .map { Array($0.utf8) }
        var fuzz = FuzzMutator(seed: 0x5afe)
        var tally = FuzzTally()
        for i in 0..<FuzzMutator.cases(8000) {
            let seed = seeds[(i / 2) % seeds.count]
            var input: [UInt8]
            if i % 2 == 0 {
                input = fuzz.mutate(seed, tokens: tokens, donors: seeds)
            } else {
                // Mutate the JSON header alone and keep its length prefix right, so the mutations
                // reach the header's fields instead of the length check.
                let length = seed[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
                let header = fuzz.mutate(Array(seed[8..<8 + length]), tokens: tokens, donors: seeds)
                input = TestPickleWriter.littleEndian(UInt64(header.count), 8) + header + seed[(8 + length)...]
            }
            FuzzMutator.trace("safetensors", input)
            tally.run(i, input: fuzzHex(input), names: { $0.hasPrefix("fuzz.safetensors") }) {
                try Self.readAll(try SafeTensorsFile.decode(input, path: "fuzz.safetensors"))
            }
        }
        #expect(tally.bad.count == 0, "\(tally)\n\(tally.report)")
        #expect(tally.rejected > 3000 && tally.parsed > 10, "\(tally)")
    }

    // MARK: PyTorch checkpoints


    private static var storages: [TestPickleStorage] { [
        .float32("0", (0..<8).map { Float($0) * 0.5 - 2 }),
        .float32("1", [1, 2, 3]),
        TestPickleStorage(type: "LongStorage", key: "2", count: 1, bytes: TestPickleWriter.littleEndian(391, 8)),
    ] }

    private static var stateDicts: [TestPickleObject] { [
        .orderedDict([
            ("conv1.weight", .tensor(TestPickleTensor(storages[0], shape: [2, 1, 2, 2]))),
            ("bn1.weight", .tensor(TestPickleTensor(storages[1], shape: [3]))),
            ("bn1.num_batches_tracked", .tensor(TestPickleTensor(storages[2], shape: []))),
        ], metadata: true),
        .dict([
            ("epoch", .int(3)), ("lr", .float(0.1)), ("arch", .string("resnet20")),
            ("state_dict", .orderedDict([
                ("module.fc.weight", .tensor(TestPickleTensor(storages[0], shape: [2, 2], strides: [1, 2], offset: 4))),
                ("module.fc.bias", .tensor(TestPickleTensor(storages[1], shape: [2], offset: 1))),
            ], metadata: false)),
            ("extra", .list([.none, .bool(false), .tuple([.int(-1), .int(1 << 40)])])),
        ]),
    ] }

    /// Tensors whose geometry (size, stride, storage offset, declared storage length, element
    /// type) is drawn from extreme values, written as well-formed checkpoints: what byte mutations
    /// rarely reach, the strided view arithmetic, gets every combination.
    @Test func pyTorchTensorGeometryFuzz() {
        let extremes = [0, 1, 2, 3, 7, 8, 255, 65536, Int(Int32.max), 1 << 32, 1 << 40, Int.max / 2, Int.max, -1, Int.min]
        let types = ["FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage",
                     "ByteStorage", "BoolStorage", "UntypedStorage", "ComplexFloatStorage"]
        var fuzz = FuzzMutator(seed: 0x6e0)
        var tally = FuzzTally()
        func pick() -> Int { fuzz.below(3) == 0 ? extremes[fuzz.below(extremes.count)] : fuzz.below(10) }
        for i in 0..<FuzzMutator.cases(1500) {
            let bytes = (0..<fuzz.below(33)).map { UInt8(truncatingIfNeeded: $0 &* 37) }
            let storage = TestPickleStorage(type: types[fuzz.below(types.count)], key: "0",
                                            count: fuzz.below(2) == 0 ? bytes.count / 4 : pick(), bytes: bytes)
            let rank = fuzz.below(4)
            let shape = (0..<rank).map { _ in pick() }
            var strides = (0..<(fuzz.below(5) == 0 ? fuzz.below(4) : rank)).map { _ in pick() }
            if fuzz.below(2) == 0 {
                // Row-major, wrapping as a writer with no checks would.
                strides = [Int](repeating: 1, count: rank)
                for d in stride(from: rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] &* shape[d + 1] }
            }
            let dtype: String? = fuzz.below(4) == 0 ? ["float32", "float16", "int64", "uint8", "bool", "qint8"][fuzz.below(6)] : nil
            let tensor = TestPickleTensor(storage, shape: shape, strides: strides, offset: pick(), v3DType: dtype)
            let input = legacyCheckpoint(.orderedDict([("w", .tensor(tensor))], metadata: false), storages: [storage])
            FuzzMutator.trace("pytorch-geometry", input)
            tally.run(i, input: "storage \(storage.type) count \(storage.count) bytes \(bytes.count), size \(shape) stride \(strides) offset \(tensor.offset) dtype \(dtype ?? "-")",
                      names: { $0.hasPrefix("model.pt") }) {
                _ = try PyTorchCheckpoint.decode(input, path: "model.pt")
            }
        }
        #expect(tally.bad.count == 0, "\(tally)\n\(tally.report)")
        #expect(tally.rejected > 300 && tally.parsed > 50, "\(tally)")
    }

    /// The pickle stream alone, as the restricted unpickler reads it.
    private static func pickle(_ object: TestPickleObject, protocolVersion: UInt8) -> [UInt8] {
        var p = TestPickleWriter(protocolVersion: protocolVersion)
        p.object(object)
        p.stop()
        return p.bytes
    }

    @Test func pyTorchLegacyAndSafeTensorsCheckpointFuzz() throws {
        let seeds = Self.stateDicts.map { legacyCheckpoint($0, storages: Self.storages) }
            + [try Self.safeTensorsSeeds()[0]]
        let tokens: [[UInt8]] = [[0x8a, 0x0a] + PyTorchLegacyFormat.magicNumber, [0x80, 0x02], [0x80, 0x05],
                                 [0x2e], [0x28], [0x74], [0x52], [0x51], [0x75], [0x4e], [0x94], [0x68, 0],
                                 [0x6a, 0xff, 0xff, 0xff, 0x7f], [0x8c, 0xff], [0x8d] + [UInt8](repeating: 0xff, count: 8),
                                 [0x8a, 0xff], [0x8b, 0xff, 0xff, 0xff, 0x7f], [0x4a, 0xff, 0xff, 0xff, 0xff],
                                 Array("ctorch\nFloatStorage\n".utf8), Array("cos\nsystem\n".utf8)]
        var fuzz = FuzzMutator(seed: 0x70c4)
        var tally = FuzzTally()
        for i in 0..<FuzzMutator.cases(3000) {
            let input = fuzz.mutate(seeds[i % seeds.count], tokens: tokens, donors: seeds)
            FuzzMutator.trace("pytorch-legacy", input)
            tally.run(i, input: fuzzHex(input), names: { $0.hasPrefix("model.pt") }) {
                _ = try PyTorchCheckpoint.decode(input, path: "model.pt")
            }
        }
        #expect(tally.bad.count == 0, "\(tally)\n\(tally.report)")
        #expect(tally.rejected > 1000, "\(tally)")
    }

    @Test func pickleStreamFuzz() throws {
        let seeds = Self.stateDicts.flatMap { o in [UInt8(2), 4, 5].map { Self.pickle(o, protocolVersion: $0) } }
        let tokens: [[UInt8]] = [[0x2e], [0x28], [0x29], [0x5d], [0x7d], [0x74], [0x85], [0x86], [0x87], [0x52],
                                 [0x51], [0x62], [0x75], [0x65], [0x61], [0x4e], [0x88], [0x89], [0x94], [0x30],
                                 [0x31], [0x32], [0x68, 0xff], [0x6a, 0xff, 0xff, 0xff, 0x7f], [0x71, 0xff],
                                 [0x95] + [UInt8](repeating: 0xff, count: 8), [0x8c, 0xff], [0x58, 0xff, 0xff, 0xff, 0x7f],
                                 [0x8a, 0xff], [0x8b, 0xff, 0xff, 0xff, 0x7f], [0x8b, 0, 0, 0, 0x80],
                                 [0x47, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0], Array("ctorch._utils\n_rebuild_tensor_v2\n".utf8),
                                 Array("ccollections\nOrderedDict\n".utf8), Array("cbuiltins\neval\n".utf8)]
        var fuzz = FuzzMutator(seed: 0x9c1e)
        var tally = FuzzTally()
        for i in 0..<FuzzMutator.cases(4000) {
            let input = fuzz.mutate(seeds[i % seeds.count], tokens: tokens, donors: seeds)
            FuzzMutator.trace("pickle", input)
            tally.run(i, input: fuzzHex(input), names: { $0.hasPrefix("data.pkl") }) {
                var machine = RestrictedUnpickler(bytes: input, path: "data.pkl", persistentIDs: .refused)
                _ = try machine.load()
            }
        }
        #expect(tally.bad.count == 0, "\(tally)\n\(tally.report)")
        #expect(tally.rejected > 1000, "\(tally)")
    }


    @Test func pyTorchZipCheckpointFuzz() throws {
        let seeds = try Self.stateDicts.flatMap { o in
            try [CompressionMethod.none, .deflate].map { try zipCheckpoint(o, storages: Self.storages, compression: $0) }
        }
        let tokens: [[UInt8]] = [Array("PK\u{03}\u{04}".utf8), Array("PK\u{01}\u{02}".utf8), Array("PK\u{05}\u{06}".utf8),
                                 [0xff, 0xff, 0xff, 0xff], [0xff, 0xff], Array("archive/data/0".utf8), Array("../".utf8)]
        var fuzz = FuzzMutator(seed: 0x21b)
        var tally = FuzzTally()
        for i in 0..<FuzzMutator.cases(1000) {
            let input = fuzz.mutate(seeds[i % seeds.count], tokens: tokens, donors: seeds)
            FuzzMutator.trace("pytorch-zip", input)
            tally.run(i, input: fuzzHex(input), names: { $0.hasPrefix("model.pt") }) {
                _ = try PyTorchCheckpoint.decode(input, path: "model.pt")
            }
        }
        #expect(tally.bad.count == 0, "\(tally)\n\(tally.report)")
        #expect(tally.rejected > 300, "\(tally)")
    }

    // MARK: Run records

    @Test func runRecordFuzz() throws {
        var second = sampleRunRecord()
        second.history = []
        second.configuration = [:]
        let seeds = [[UInt8](try sampleRunRecord().encoded()), [UInt8](try second.encoded())]
        let tokens = (FuzzMutator.textTokens + ["\"formatVersion\"", "\"nan\"", "\"-inf\"", "\"history\"",
                                                "\"rng\"", "{\"state\":[1]}", "[1,2,3,4]", "-1.5"]).map { Array($0.utf8) }
        var fuzz = FuzzMutator(seed: 0x7a11)
        var tally = FuzzTally()
        for i in 0..<FuzzMutator.cases(2000) {
            let input = fuzz.mutate(seeds[i % seeds.count], tokens: tokens, donors: seeds)
            FuzzMutator.trace("run.json", input)
            tally.run(i, input: String(decoding: input, as: UTF8.self).debugDescription,
                      names: { $0.hasPrefix("runs/x/run.json") }) {
                _ = try RunRecord.decode(Data(input), path: "runs/x/run.json")
            }
        }
        #expect(tally.bad.count == 0, "\(tally)\n\(tally.report)")
        #expect(tally.rejected > 500 && tally.parsed > 10, "\(tally)")
    }

    @Test func trainingConfigFuzz() throws {
        var config = TrainingConfig()
        config.epochs = 7
        let seeds = [try TrainingConfig().jsonString(), try config.jsonString()]
        var fuzz = FuzzMutator(seed: 0xc0f1)
        var tally = FuzzTally()
        for i in 0..<FuzzMutator.cases(2000) {
            let input = fuzz.mutate(seeds[i % seeds.count], extraTokens: ["\"nan\"", "\"inf\"", "-0.0", "1e400"],
                                    donors: seeds)
            FuzzMutator.trace("config", Array(input.utf8))
            tally.run(i, input: input.debugDescription, names: { $0.hasPrefix("runs/x/run.json") }) {
                _ = try TrainingConfig.fromJSON(input, source: "runs/x/run.json")
            }
        }
        #expect(tally.bad.count == 0, "\(tally)\n\(tally.report)")
        #expect(tally.rejected > 500 && tally.parsed > 10, "\(tally)")
    }
}

// MARK: Regressions: inputs that trapped before their fix

@Suite struct CheckpointFuzzRegressionTests {
    /// data_offsets near Int.max: computing the error's byte offset (data start + begin) overflowed.
    @Test(arguments: ["[9223372036854775807,0]", "[9223372036854775800,9223372036854775807]",
                      "[0,9223372036854775807]"])
    func safeTensorsHugeDataOffsetsAreRejected(offsets: String) {
        let bytes = rawSafeTensors(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":"# + offsets + "}}",
                                   data: [0, 0, 128, 63])
        let m = errorText { _ = try SafeTensorsFile.decode(bytes, path: "big.safetensors") }
        #expect(m.hasPrefix("big.safetensors: at byte "), "\(m)")
        #expect(m.contains("outside the data section"), "\(m)")
    }

    /// The exact input safeTensorsFuzz trapped on before the fix: the first seed with
    /// "bn.num_batches_tracked" data_offsets [9223372036854775807, 8] (the offset is clamped to
    /// the end of the file, byte 258).
    @Test func safeTensorsFuzzFoundInput() {
        let hex = [
        "d2000000000000007b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074222c22737470223a223122",
        "7d2c22626e2e6e756d5f626174636865735f747261636b6564223a7b226474797065223a22493634222c227368617065",
        "223a5b5d2c22646174615f6f666673657473223a5b393232333337323033363835343737353830372c385d7d2c22636f",
        "6e762e776569676874223a7b226474797065223a22463332222c227368617065223a5b322c312c322c325d2c22646174",
        "615f6f666673657473223a5b382c34305d7d7d202020202020208701000000000000000060c0000020c00000c0bf0000",
        "00bf0000003f0000c03f0000204000006040",
        ].joined()
        let bytes = stride(from: 0, to: hex.count, by: 2).map { i -> UInt8 in
            let start = hex.index(hex.startIndex, offsetBy: i)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
        }
        let m = errorText { _ = try SafeTensorsFile.decode(bytes, path: "fuzz.safetensors") }
        #expect(m.hasPrefix("fuzz.safetensors: at byte 258: tensor \"bn.num_batches_tracked\" data_offsets [9223372036854775807, 8]"), "\(m)")
    }
}
