import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

@Suite struct DataMD5Tests {
    @Test func rfc1321Vectors() {
        let vectors: [(String, String)] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            ("12345678901234567890123456789012345678901234567890123456789012345678901234567890",
             "57edf4a22be3c955ac49da2e2107b67a"),
        ]
        for (input, expected) in vectors {
            #expect(MD5.hexDigest(Array(input.utf8)) == expected, "MD5(\"\(input)\")")
        }
    }

    @Test func streamingMatchesOneShot() {
        var rng = SeededRandom(seed: 5)
        let bytes = (0..<1000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for split in [0, 1, 55, 56, 63, 64, 65, 128, 999] {
            var h = MD5()
            h.update(bytes[0..<split])
            h.update(bytes[split...])
            #expect(MD5.hex(h.finalize()) == MD5.hexDigest(bytes), "split at \(split)")
        }
    }
}

@Suite struct DataGzipTests {
    @Test func roundTripAndConcatenatedMembers() throws {
        let a = Array("hello, gzip ".utf8) + [UInt8](repeating: 7, count: 5000)
        let b = Array("second member".utf8)
        #expect(try Gzip.decompress(Gzip.compress(a), path: "x.gz") == a)
        #expect(try Gzip.decompress(Gzip.compress(a) + Gzip.compress(b), path: "x.gz") == a + b)
        #expect(try Gzip.decompress(Gzip.compress([]), path: "x.gz") == [])
        #expect(Gzip.isGzip(Gzip.compress(a)))
    }

    /// A gzip bomb: a few KB that inflate past the limit are refused at the limit, not after
    /// filling memory (shown with a 1 MB limit; the default is 1 GiB).
    @Test func inflatingPastTheLimitIsRefused() throws {
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 3 << 20))
        #expect(bomb.count < 16_384)
        let message = errorText { _ = try Gzip.decompress(bomb, path: "/d/bomb.gz", limit: 1 << 20) }
        #expect(message.hasPrefix("/d/bomb.gz: at byte ") && message.contains("inflates to more than 1048576 bytes"), "\(message)")
        #expect(try Gzip.decompress(bomb, path: "/d/bomb.gz").count == 3 << 20)
    }

    @Test func corruptAndTruncatedDataNameTheFileAndOffset() {
        var rng = SeededRandom(seed: 9)
        let data = (0..<20000).map { _ in UInt8(truncatingIfNeeded: rng.next() & 0x0F) }
        let gz = Gzip.compress(data)
        let truncated = Array(gz.prefix(gz.count / 2))
        let m1 = errorMessage { _ = try Gzip.decompress(truncated, path: "/d/t.gz") }
        #expect(m1?.hasPrefix("/d/t.gz: at byte ") == true)
        #expect(m1?.contains("truncated") == true)
        var corrupt = gz
        for i in 20..<60 { corrupt[i] ^= 0xA5 }
        let m2 = errorMessage { _ = try Gzip.decompress(corrupt, path: "/d/c.gz") }
        #expect(m2?.hasPrefix("/d/c.gz: at byte ") == true)
        #expect(m2?.contains("gzip") == true)
        let m3 = errorMessage { _ = try Gzip.decompress(Array("not gzip at all".utf8), path: "/d/n.gz") }
        #expect(m3?.hasPrefix("/d/n.gz: at byte 0") == true)
        // A good stream with a flipped CRC byte fails the trailer check.
        var badCRC = Gzip.compress(data)
        badCRC[badCRC.count - 6] ^= 1
        #expect(errorMessage { _ = try Gzip.decompress(badCRC, path: "/d/crc.gz") }?.contains("/d/crc.gz") == true)
    }
}

@Suite struct DataTarTests {
    @Test func roundTripWithLongNamesAndDirectories() throws {
        let long = String(repeating: "d", count: 120) + "/file.bin"
        let files: [(name: String, contents: [UInt8])] = [
            ("top/a.txt", Array("alpha\n".utf8)),
            ("top/empty", []),
            ("top/block", [UInt8](repeating: 3, count: 512)),
            (long, [1, 2, 3]),
        ]
        let bytes = Tar.archive(files, directories: ["top"])
        #expect(bytes.count % 512 == 0)
        let entries = try Tar.entries(in: bytes, path: "t.tar")
        #expect(entries.map(\.name) == ["top/", "top/a.txt", "top/empty", "top/block", long])
        #expect(entries[0].kind == .directory)
        for (f, e) in zip(files, entries.dropFirst()) {
            #expect(e.kind == .file)
            #expect(Array(bytes[e.dataRange]) == f.contents)
            #expect(e.mode == 0o644)
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tar"), "needs /usr/bin/tar"))
    func readsArchiveWrittenBySystemTar() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        dir.write("src/cifar-10-batches-bin/batches.meta.txt", Array("cat\ndog\n".utf8))
        let longName = String(repeating: "n", count: 130)
        dir.write("src/" + longName, [9, 9])
        for format in ["gnu", "posix"] {  // ustar cannot hold a 130-byte name without a slash
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
            p.arguments = ["--format=\(format)", "-C", dir.file("src"), "-czf", dir.file("a-\(format).tgz"),
                           "cifar-10-batches-bin", longName]
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            let gz = [UInt8](FileManager.default.contents(atPath: dir.file("a-\(format).tgz"))!)
            let tar = try Gzip.decompress(gz, path: "a.tgz")
            let entries = try Tar.entries(in: tar, path: "a.tgz")
            let meta = entries.first { $0.name == "cifar-10-batches-bin/batches.meta.txt" }
            #expect(meta.map { Array(tar[$0.dataRange]) } == Array("cat\ndog\n".utf8), "format \(format)")
            let long = entries.first { $0.name == longName }
            #expect(long.map { Array(tar[$0.dataRange]) } == [9, 9], "format \(format)")
            #expect(entries.contains { $0.name.hasPrefix("cifar-10-batches-bin") && $0.kind == .directory })
        }
    }

    @Test func badChecksumAndTruncationAreReported() {
        var bytes = Tar.archive([("a.bin", [UInt8](repeating: 1, count: 1000)), ("b.bin", [2])])
        let m0 = errorMessage { _ = try Tar.entries(in: Array(bytes.prefix(700)), path: "x.tar") }
        #expect(m0?.hasPrefix("x.tar: at byte 0") == true)
        #expect(m0?.contains("truncated") == true)
        bytes[1536 + 10] ^= 0x40  // second header starts after 512 + 1024 bytes
        let m1 = errorMessage { _ = try Tar.entries(in: bytes, path: "x.tar") }
        #expect(m1?.hasPrefix("x.tar: at byte 1536") == true)
        #expect(m1?.contains("checksum") == true)
        let m2 = errorMessage { _ = try Tar.entries(in: [UInt8](repeating: 0x41, count: 1024), path: "y.tar") }
        #expect(m2?.hasPrefix("y.tar: at byte 148") == true)
    }
}
