import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

private final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [DownloadProgress] = []
    func record(_ p: DownloadProgress) { lock.lock(); events.append(p); lock.unlock() }
    var stages: [DownloadProgress.Stage] { lock.lock(); defer { lock.unlock() }; return events.map(\.stage) }
}

/// A small CIFAR-10 tree in the official archive layout, as a .tar.gz.
private func fakeCIFAR10Archive(extra: [(name: String, contents: [UInt8])] = []) -> [UInt8] {
    var files: [(name: String, contents: [UInt8])] = []
    for b in 1...5 {
        files.append(("cifar-10-batches-bin/data_batch_\(b).bin", (0..<2).flatMap { r in [UInt8(r + b)] + [UInt8](repeating: UInt8(b), count: 3072) }))
    }
    files.append(("cifar-10-batches-bin/test_batch.bin", [9] + [UInt8](repeating: 0, count: 3072)))
    files.append(("cifar-10-batches-bin/batches.meta.txt", Array(CIFARLoader.cifar10ClassNames.joined(separator: "\n").utf8)))
    files.append(("cifar-10-batches-bin/readme.html", Array("<html/>".utf8)))
    return Gzip.compress(Tar.archive(files + extra, directories: ["cifar-10-batches-bin"]))
}

@Suite struct DataDownloaderTests {
    @Test func cacheDirectoryFollowsSTPCache() {
        #expect(DataDownloader.cacheDirectory(for: .cifar10, environment: ["HOME": "/h"]) == "/h/.cache/stp/data/cifar10")
        #expect(DataDownloader.cacheDirectory(for: .fashionMNIST, environment: ["HOME": "/h", "STP_CACHE": "/c"]) == "/c/data/fashion-mnist")
    }

    @Test func publishedDigestsAreWellFormed() {
        for d in DownloadableDataset.allCases {
            for f in d.files {
                #expect(f.md5.count == 32 && f.md5.allSatisfy { $0.isHexDigit && !$0.isUppercase })
                #expect(!f.urls.isEmpty)
            }
        }
        #expect(DownloadableDataset.cifar10.files[0].md5 == "c32a1d4ab5d03f1284b67883e8d87530")
        #expect(DownloadableDataset.mnist.files.map(\.name) == MNISTLoader.fileStems.map { $0 + ".gz" })
    }

    @Test func sourceLocations() throws {
        let c10 = DownloadableDataset.cifar10.files[0]
        let mn = DownloadableDataset.mnist.files[1]
        #expect(try DataDownloader.location(of: c10, dataset: .cifar10, source: "https://m.org/c.tgz") == "https://m.org/c.tgz")
        #expect(try DataDownloader.location(of: c10, dataset: .cifar10, source: "https://m.org/d/") == "https://m.org/d/cifar-10-binary.tar.gz")
        #expect(try DataDownloader.location(of: mn, dataset: .mnist, source: "http://m.org/mnist") == "http://m.org/mnist/train-labels-idx1-ubyte.gz")
        #expect(try DataDownloader.location(of: c10, dataset: .cifar10, source: "file:///x/c.tgz") == "/x/c.tgz")
        #expect(try DataDownloader.location(of: c10, dataset: .cifar10, source: "/tmp") == "/tmp/cifar-10-binary.tar.gz")
    }

    @Test func unpacksAVerifiedLocalArchive() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        let archive = fakeCIFAR10Archive(extra: [("cifar-10-batches-bin/../../escape.bin", [1]), ("other/x.bin", [2])])
        dir.write("cifar-10-binary.tar.gz", archive)
        let spec = [RemoteFile(name: "cifar-10-binary.tar.gz", md5: MD5.hexDigest(archive), urls: [])]
        let log = ProgressLog()
        let cache = dir.file("cache/cifar10")
        let out = try DataDownloader.get(dataset: .cifar10, files: spec, from: dir.file("cifar-10-binary.tar.gz"),
                                         cacheDirectory: cache, verify: true, progress: log.record)
        #expect(out == cache)
        #expect(log.stages.contains(.verifying) && log.stages.contains(.unpacking) && log.stages.last == .done)
        let splits = try DataSource(parsing: "cifar10:" + out).load()
        #expect(splits.train.count == 10 && splits.test.count == 1)
        #expect(DataFile.exists(cache + "/readme.html"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("escape.bin")))
        #expect(!FileManager.default.fileExists(atPath: dir.file("cache/escape.bin")))
        #expect(!DataFile.exists(cache + "/x.bin"))
        // No temporary files are left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)
        // A second call with no source finds the unpacked files and fetches nothing.
        let again = ProgressLog()
        #expect(try DataDownloader.get(.cifar10, cacheDirectory: cache, progress: again.record) == cache)
        #expect(again.stages == [.done])
        // The directory given as --from works too.
        #expect(try DataDownloader.get(dataset: .cifar10, files: spec, from: dir.path, cacheDirectory: dir.file("c2"),
                                       verify: true, progress: { _ in }) == dir.file("c2"))
    }

    @Test func wrongDigestIsRejectedUnlessNoVerify() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        let archive = fakeCIFAR10Archive()
        dir.write("copy.tar.gz", archive)
        let cache = dir.file("cache")
        let m = errorMessage { _ = try DataDownloader.get(.cifar10, from: dir.file("copy.tar.gz"), cacheDirectory: cache) }
        #expect(m?.hasPrefix(dir.file("copy.tar.gz")) == true)
        #expect(m?.contains("expected c32a1d4ab5d03f1284b67883e8d87530, got \(MD5.hexDigest(archive))") == true)
        #expect(m?.contains("--no-verify") == true)
        #expect(!DataFile.exists(cache + "/data_batch_1.bin"))
        let out = try DataDownloader.get(.cifar10, from: dir.file("copy.tar.gz"), cacheDirectory: cache, verify: false)
        #expect(try CIFARLoader.load(.cifar10, directory: out).train.count == 10)
    }

    @Test func mnistFromALocalDirectory() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        let contents: [[UInt8]] = [
            be(2051) + be(3) + be(28) + be(28) + [UInt8](repeating: 5, count: 3 * 784),
            be(2049) + be(3) + [1, 2, 3],
            be(2051) + be(1) + be(28) + be(28) + [UInt8](repeating: 6, count: 784),
            be(2049) + be(1) + [4],
        ]
        var spec = [RemoteFile]()
        for (stem, bytes) in zip(MNISTLoader.fileStems, contents) {
            let gz = Gzip.compress(bytes)
            dir.write("src/" + stem + ".gz", gz)
            spec.append(RemoteFile(name: stem + ".gz", md5: MD5.hexDigest(gz), urls: []))
        }
        let out = try DataDownloader.get(dataset: .fashionMNIST, files: spec, from: dir.file("src"),
                                         cacheDirectory: dir.file("cache"), verify: true, progress: { _ in })
        let splits = try MNISTLoader.load(.fashionMNIST, directory: out)
        #expect(splits.train.labels == [1, 2, 3] && splits.test.labels == [4])
        // A file (not a directory) is not a valid source for the four MNIST files.
        let m = errorMessage { _ = try DataDownloader.get(.mnist, from: dir.file("src/" + MNISTLoader.fileStems[0] + ".gz"),
                                                              cacheDirectory: dir.file("c3")) }
        #expect(m?.contains("expected a directory holding") == true)
        // The official digests reject these stand-in files, naming the file.
        let bad = errorMessage { _ = try DataDownloader.get(.mnist, from: dir.file("src"), cacheDirectory: dir.file("c4")) }
        #expect(bad?.contains("expected f68b3c2dcbeaaa9fbdd348bbdeb94873") == true)
    }

    // Needs python3 for a throwaway HTTP server.
    static let python3 = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        ?? ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map({ $0 + "/python3" })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) })

    @Test(.enabled(if: python3 != nil, "needs python3 (for a local HTTP server)"))
    func downloadsOverHTTPFromALocalServer() throws {
        let python = try #require(Self.python3)
        let dir = DataTempDir()
        defer { dir.cleanup() }
        let archive = fakeCIFAR10Archive()
        dir.write("www/cifar-10-binary.tar.gz", archive)
        dir.write("www/ready", [1])
        let port = Int.random(in: 20_000..<60_000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: python)
        server.arguments = ["-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", dir.file("www")]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        // SIGKILL: the test runner may leave SIGTERM ignored, and ignored signals are inherited.
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        let base = "http://127.0.0.1:\(port)/"
        var up = false
        for _ in 0..<100 where !up {
            if (try? DataDownloader.download(base + "ready", into: dir.path, name: "ready", progress: { _ in })) != nil {
                up = true
            } else {
                usleep(50_000)
            }
        }
        guard up else { return }  // the server could not start (port taken): nothing to test
        let spec = [RemoteFile(name: "cifar-10-binary.tar.gz", md5: MD5.hexDigest(archive), urls: [base + "cifar-10-binary.tar.gz"])]
        let log = ProgressLog()
        let out = try DataDownloader.get(dataset: .cifar10, files: spec, from: nil, cacheDirectory: dir.file("cache"),
                                         verify: true, progress: log.record)
        #expect(log.stages.contains(.downloading))
        #expect(try CIFARLoader.load(.cifar10, directory: out).train.count == 10)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".") }.isEmpty)
        // --from a base URL; a missing file gives the HTTP status.
        let m = errorMessage { _ = try DataDownloader.get(.cifar10, from: base + "missing/", cacheDirectory: dir.file("c2")) }
        #expect(m?.contains("HTTP 404") == true)
    }
}
