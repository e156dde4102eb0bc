import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

/// CIFAR records whose pixel bytes encode (record, channel, position) so the NHWC conversion
/// can be checked exactly.
private func cifarRecords(count: Int, labelBytes: Int, label: (Int) -> [UInt8]) -> [UInt8] {
    var out = [UInt8]()
    for r in 0..<count {
        out += label(r)
        for c in 0..<3 {
            for p in 0..<1024 { out.append(UInt8(truncatingIfNeeded: r * 7 + c * 50 + p)) }
        }
    }
    return out
}

@Suite struct DataCIFARTests {
    func writeCIFAR10(_ dir: DataTempDir, sub: String = "", perBatch: Int = 3) {
        let prefix = sub.isEmpty ? "" : sub + "/"
        for b in 1...5 {
            dir.write(prefix + "data_batch_\(b).bin", cifarRecords(count: perBatch, labelBytes: 1) { [UInt8(($0 + b) % 10)] })
        }
        dir.write(prefix + "test_batch.bin", cifarRecords(count: 2, labelBytes: 1) { [UInt8($0)] })
        dir.write(prefix + "batches.meta.txt", Array((CIFARLoader.cifar10ClassNames.joined(separator: "\n") + "\n\n").utf8))
    }

    @Test func loadsCIFAR10AndConvertsPlanarToNHWC() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeCIFAR10(dir)
        let splits = try CIFARLoader.load(.cifar10, directory: dir.path)
        #expect(splits.train.count == 15)
        #expect(splits.test.count == 2)
        #expect(splits.train.classNames == CIFARLoader.cifar10ClassNames)
        #expect((splits.train.height, splits.train.width, splits.train.channels) == (32, 32, 3))
        // Record 1 of batch 2 is train image 4: label (1 + 2) % 10.
        #expect(splits.train.labels[4] == 3)
        let img = 4, r = 1
        for p in [0, 1, 33, 1023] {
            for c in 0..<3 {
                #expect(splits.train.pixels[img * 3072 + p * 3 + c] == UInt8(truncatingIfNeeded: r * 7 + c * 50 + p))
            }
        }
    }

    @Test func acceptsTheOfficialArchiveFolder() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeCIFAR10(dir, sub: "cifar-10-batches-bin", perBatch: 1)
        let splits = try CIFARLoader.load(.cifar10, directory: dir.path)
        #expect(splits.train.count == 5)
    }

    @Test func loadsCIFAR100FineLabels() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        dir.write("cifar-100-binary/train.bin", cifarRecords(count: 4, labelBytes: 2) { [UInt8($0 % 20), UInt8(90 + $0)] })
        dir.write("cifar-100-binary/test.bin", cifarRecords(count: 1, labelBytes: 2) { _ in [19, 99] })
        let splits = try CIFARLoader.load(.cifar100, directory: dir.path)
        #expect(splits.train.labels == [90, 91, 92, 93])
        #expect(splits.test.labels == [99])
        #expect(splits.train.classNames.count == 100)
        #expect(splits.train.classNames[99] == "worm")
        #expect(splits.train.pixels[3 * 3072 + 5 * 3 + 2] == UInt8(truncatingIfNeeded: 3 * 7 + 100 + 5))
        // Names come from fine_label_names.txt when it is present.
        let names = (0..<100).map { "fine\($0)" }
        dir.write("cifar-100-binary/fine_label_names.txt", Array(names.joined(separator: "\n").utf8))
        #expect(try CIFARLoader.load(.cifar100, directory: dir.path).train.classNames == names)
    }

    @Test func builtInCIFAR100NamesAreTheSortedFineLabels() {
        let names = CIFARLoader.cifar100ClassNames
        #expect(names.count == 100)
        #expect(Set(names).count == 100)
        #expect(names == names.sorted())
    }

    @Test func truncatedFileNamesTheRecordStart() {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeCIFAR10(dir)
        let path = dir.file("data_batch_3.bin")
        dir.write("data_batch_3.bin", Array(cifarRecords(count: 3, labelBytes: 1) { _ in [0] }.dropLast(100)))
        let m = errorMessage { _ = try CIFARLoader.load(.cifar10, directory: dir.path) }
        #expect(m?.hasPrefix("\(path): at byte \(2 * 3073)") == true, "\(m ?? "no error")")
        #expect(m?.contains("3073-byte") == true)
    }

    @Test func badLabelNamesRecordAndOffset() {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeCIFAR10(dir)
        dir.write("test_batch.bin", cifarRecords(count: 3, labelBytes: 1) { $0 == 2 ? [10] : [1] })
        let m = errorMessage { _ = try CIFARLoader.load(.cifar10, directory: dir.path) }
        #expect(m == "\(dir.file("test_batch.bin")): at byte \(2 * 3073): record 2: label 10 is out of range; expected 0...9")
        dir.write("cifar-100-binary/train.bin", cifarRecords(count: 2, labelBytes: 2) { $0 == 1 ? [3, 100] : [3, 4] })
        dir.write("cifar-100-binary/test.bin", cifarRecords(count: 1, labelBytes: 2) { _ in [0, 0] })
        let m100 = errorMessage { _ = try CIFARLoader.load(.cifar100, directory: dir.path) }
        #expect(m100?.hasPrefix("\(dir.file("cifar-100-binary/train.bin")): at byte \(3074 + 1): record 1: label 100") == true)
    }

    @Test func missingFilesAreNamed() {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeCIFAR10(dir)
        try? FileManager.default.removeItem(atPath: dir.file("data_batch_4.bin"))
        let m = errorMessage { _ = try CIFARLoader.load(.cifar10, directory: dir.path) }
        #expect(m?.hasPrefix(dir.file("data_batch_4.bin")) == true)
        #expect(m?.contains("test_batch.bin") == true)
        let none = errorMessage { _ = try CIFARLoader.load(.cifar10, directory: dir.file("nope")) }
        #expect(none?.hasPrefix(dir.file("nope")) == true)
        #expect(none?.contains("data_batch_1.bin") == true)
        writeCIFAR10(dir)  // restores data_batch_4.bin; now break the class names
        dir.write("batches.meta.txt", Array("cat\ndog\n".utf8))
        let meta = errorMessage { _ = try CIFARLoader.load(.cifar10, directory: dir.path) }
        #expect(meta?.hasPrefix(dir.file("batches.meta.txt")) == true)
    }

    @Test(.enabled(if: SharedFiles.available(SharedFiles.cifar10 + "/test_batch.bin"), "needs the real CIFAR-10 in ../shared/data/cifar10"))
    func realCIFAR10WhenPresent() throws {
        let path = SharedFiles.cifar10
        let splits = try CIFARLoader.load(.cifar10, directory: path)
        #expect(splits.train.count == 50_000)
        #expect(splits.test.count == 10_000)
        #expect(splits.train.classNames == CIFARLoader.cifar10ClassNames)
        var perClass = [Int](repeating: 0, count: 10)
        for l in splits.train.labels { perClass[Int(l)] += 1 }
        #expect(perClass == [Int](repeating: 5_000, count: 10))
        var testPerClass = [Int](repeating: 0, count: 10)
        for l in splits.test.labels { testPerClass[Int(l)] += 1 }
        #expect(testPerClass == [Int](repeating: 1_000, count: 10))
    }
}

// MARK: - MNIST

private func idxImages(count: Int, rows: Int = 28, cols: Int = 28, magic: UInt32 = 2051) -> [UInt8] {
    func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
    var out = be(magic) + be(UInt32(count)) + be(UInt32(rows)) + be(UInt32(cols))
    for i in 0..<(count * rows * cols) { out.append(UInt8(truncatingIfNeeded: i * 3)) }
    return out
}

private func idxLabels(_ labels: [UInt8], magic: UInt32 = 2049, count: Int? = nil) -> [UInt8] {
    func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
    return be(magic) + be(UInt32(count ?? labels.count)) + labels
}

@Suite struct DataMNISTTests {
    func writeMNIST(_ dir: DataTempDir, gzip: Bool, sub: String = "") {
        let p = sub.isEmpty ? "" : sub + "/"
        let ext = gzip ? ".gz" : ""
        let files: [(String, [UInt8])] = [
            ("train-images-idx3-ubyte", idxImages(count: 5)),
            ("train-labels-idx1-ubyte", idxLabels([0, 1, 2, 3, 9])),
            ("t10k-images-idx3-ubyte", idxImages(count: 2)),
            ("t10k-labels-idx1-ubyte", idxLabels([7, 8])),
        ]
        for (name, bytes) in files { dir.write(p + name + ext, gzip ? Gzip.compress(bytes) : bytes) }
    }

    @Test func loadsRawAndGzippedFiles() throws {
        for gz in [false, true] {
            let dir = DataTempDir()
            defer { dir.cleanup() }
            writeMNIST(dir, gzip: gz)
            let splits = try MNISTLoader.load(.fashionMNIST, directory: dir.path)
            #expect(splits.train.count == 5)
            #expect(splits.train.labels == [0, 1, 2, 3, 9])
            #expect(splits.test.labels == [7, 8])
            #expect((splits.train.height, splits.train.width, splits.train.channels) == (28, 28, 1))
            #expect(splits.train.pixels[100] == UInt8(truncatingIfNeeded: 300))
            #expect(splits.train.classNames[9] == "Ankle boot")
        }
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeMNIST(dir, gzip: true, sub: "raw")
        #expect(try MNISTLoader.load(.mnist, directory: dir.path).train.classNames == (0...9).map(String.init))
    }

    func message(_ dir: DataTempDir) -> String {
        errorMessage { _ = try MNISTLoader.load(.mnist, directory: dir.path) } ?? "no error"
    }

    @Test func wrongMagicNamesFileAndOffset() {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeMNIST(dir, gzip: false)
        dir.write("train-images-idx3-ubyte", idxImages(count: 5, magic: 2049))
        let m = message(dir)
        #expect(m.hasPrefix(dir.file("train-images-idx3-ubyte") + ": at byte 0: magic number 2049"), "\(m)")
        #expect(m.contains("expected 2051"))
        writeMNIST(dir, gzip: false)
        dir.write("t10k-labels-idx1-ubyte", idxLabels([1, 2], magic: 0x0801_0000))
        #expect(message(dir).hasPrefix(dir.file("t10k-labels-idx1-ubyte") + ": at byte 0: magic"))
    }

    @Test func truncatedAndOversizedImageFiles() {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeMNIST(dir, gzip: false)
        dir.write("train-images-idx3-ubyte", Array(idxImages(count: 5).dropLast(10)))
        let m = message(dir)
        #expect(m.hasPrefix(dir.file("train-images-idx3-ubyte") + ": at byte \(16 + 5 * 784 - 10)"), "\(m)")
        #expect(m.contains("image 4 starting at byte \(16 + 4 * 784)"))
        dir.write("train-images-idx3-ubyte", idxImages(count: 5) + [1, 2, 3])
        #expect(message(dir).contains("3 unexpected bytes"))
        dir.write("train-images-idx3-ubyte", Array(idxImages(count: 5).prefix(10)))
        #expect(message(dir).hasPrefix(dir.file("train-images-idx3-ubyte") + ": at byte 10"))
        dir.write("train-images-idx3-ubyte", idxImages(count: 0, rows: 0, cols: 28))
        #expect(message(dir).hasPrefix(dir.file("train-images-idx3-ubyte") + ": at byte 8: image dimensions 0x28"))
    }

    @Test func labelProblems() {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeMNIST(dir, gzip: false)
        dir.write("train-labels-idx1-ubyte", idxLabels([0, 1, 12, 3, 4]))
        #expect(message(dir) == dir.file("train-labels-idx1-ubyte") + ": at byte 10: label 2 is 12; expected 0...9")
        dir.write("train-labels-idx1-ubyte", idxLabels([0, 1, 2, 3]))
        let m = message(dir)
        #expect(m.hasPrefix(dir.file("train-labels-idx1-ubyte") + ": at byte 4: header says 4 labels"), "\(m)")
        #expect(m.contains(dir.file("train-images-idx3-ubyte")))
        dir.write("train-labels-idx1-ubyte", idxLabels([0, 1, 2], count: 5))
        #expect(message(dir).hasPrefix(dir.file("train-labels-idx1-ubyte") + ": at byte 11"))
        // Gzipped label file with a bad label: offset is in the decompressed stream.
        try? FileManager.default.removeItem(atPath: dir.file("train-labels-idx1-ubyte"))
        dir.write("train-labels-idx1-ubyte.gz", Gzip.compress(idxLabels([0, 1, 2, 3, 200])))
        let gz = message(dir)
        #expect(gz.hasPrefix(dir.file("train-labels-idx1-ubyte.gz") + ": at byte 12"), "\(gz)")
        #expect(gz.contains("decompressed"))
    }

    @Test func corruptGzipNamesTheFile() {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeMNIST(dir, gzip: true)
        var gz = Gzip.compress(idxImages(count: 2))
        gz.removeLast(gz.count / 2)
        dir.write("t10k-images-idx3-ubyte.gz", gz)
        let m = message(dir)
        #expect(m.hasPrefix(dir.file("t10k-images-idx3-ubyte.gz") + ": at byte"), "\(m)")
        #expect(m.contains("gzip"))
    }

    @Test func missingFilesAreNamed() {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeMNIST(dir, gzip: false)
        try? FileManager.default.removeItem(atPath: dir.file("t10k-labels-idx1-ubyte"))
        let m = message(dir)
        #expect(m.hasPrefix(dir.file("t10k-labels-idx1-ubyte") + ": missing MNIST file"), "\(m)")
        #expect(m.contains("train-images-idx3-ubyte"))
    }
}
