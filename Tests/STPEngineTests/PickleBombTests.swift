import Foundation
import STPTestSupport
import Testing
import ZIPFoundation
@testable import STPEngine

// Pickle bombs: a 306 KB torch zip whose deflated data.pkl holds 300 MB of NONE opcodes once
// aborted `stp import` asking for 47 GB. Both bounds are shown small here: the inflated size of
// data.pkl against what a state dict of its storages can need (checked before inflating), and the
// unpickler's stack, MARKs and memo (for pickles that are not in a zip).

private func zip(_ entries: [(String, [UInt8])]) throws -> [UInt8] {
    let archive = try Archive(data: Data(), accessMode: .create)
    for (name, bytes) in entries {
        try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(bytes.count),
                             modificationDate: Date(timeIntervalSince1970: 1_700_000_000), compressionMethod: .deflate) { position, size in
            Data(bytes[Int(position)..<Int(position) + size])
        }
    }
    return [UInt8](try #require(archive.data))
}

@Test func aZippedPickleBombIsRefusedBeforeItInflates() throws {
    let bomb = [0x80, 0x02] + [UInt8](repeating: 0x4e, count: 1 << 20) + [0x2e]   // PROTO 2, 1 MiB of NONE, STOP
    let file = try zip([("archive/data.pkl", bomb), ("archive/data/0", [UInt8](repeating: 0, count: 16))])
    #expect(file.count < 8 * 1024, "a megabyte of NONE deflates to \(file.count) bytes")
    let message = errorText { _ = try PyTorchCheckpoint.decode(file, path: "bomb.pt") }
    let limit = PyTorchZipFormat.maximumPickleBytes(storages: 1)
    #expect(message.hasPrefix("bomb.pt: at byte "), "\(message)")
    #expect(message.contains("archive/data.pkl inflates to \(bomb.count) bytes, more than the \(limit)"), "\(message)")
}

@Test(arguments: [0x4e, 0x28] as [UInt8])   // NONE (the stack), MARK (the marks)
func aPickleThatFillsTheStackIsRefusedAtTheLimit(opcode: UInt8) throws {
    let count = RestrictedUnpickler.maximumStack + 10
    let bomb = [0x80, 0x02] + [UInt8](repeating: opcode, count: count) + [0x2e]
    var machine = RestrictedUnpickler(bytes: bomb, path: "data.pkl")
    let message = errorText { _ = try machine.load() }
    // The opcode that would pass the limit is named, at its byte.
    #expect(message.hasPrefix("data.pkl: at byte \(2 + RestrictedUnpickler.maximumStack): "), "\(message)")
    #expect(message.contains("\(RestrictedUnpickler.maximumStack)") && message.contains("the limit"), "\(message)")
}

@Test func aPickleThatFillsTheMemoIsRefusedAtTheLimit() throws {
    // NONE, then LONG_BINPUT i for i = 0, 1, ...: one stack value, ever more memo entries.
    var bomb: [UInt8] = [0x80, 0x02, 0x4e]
    for i in 0..<(RestrictedUnpickler.maximumMemo + 2) {
        bomb += [0x72] + TestPickleWriter.littleEndian(UInt64(i), 4)
    }
    bomb.append(0x2e)
    var machine = RestrictedUnpickler(bytes: bomb, path: "data.pkl")
    let message = errorText { _ = try machine.load() }
    #expect(message.contains("the memo holds \(RestrictedUnpickler.maximumMemo) values, the limit"), "\(message)")
}
