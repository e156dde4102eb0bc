import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

// Seeded, bounded fuzzing of the data parsers: MNIST's IDX files (raw and gzipped), the gzip
// reader itself, CIFAR-10/100 binary records and class-name files, and `--data` specs. Every
// mutated input must load or throw an STPError whose message names the file or the spec. The
// file-based cases write each input to a temporary directory, so they run a few hundred cases.

@Suite struct DataFuzzTests {
    /// An IDX image file of `count` images of rows x cols, and its label file.
    private static func idx(count: Int, rows: Int, cols: Int) -> (images: [UInt8], labels: [UInt8]) {
        func be(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
        let images = be(2051) + be(count) + be(rows) + be(cols) + (0..<count * rows * cols).map { UInt8($0 % 251) }
        let labels = be(2049) + be(count) + (0..<count).map { UInt8($0 % 10) }
        return (images, labels)
    }

    @Test func idxFuzz() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        let seeds = [Self.idx(count: 3, rows: 4, cols: 4), Self.idx(count: 1, rows: 2, cols: 3), Self.idx(count: 0, rows: 1, cols: 1)]
        let donors = seeds.flatMap { [$0.images, $0.labels] }
        var fuzz = FuzzMutator(seed: 0x1d8)
        var tally = FuzzTally()
        for i in 0..<FuzzMutator.cases(300) {
            var (images, labels) = seeds[i % seeds.count]
            switch fuzz.below(3) {
            case 0: images = fuzz.mutate(images, donors: donors)
            case 1: labels = fuzz.mutate(labels, donors: donors)
            default:
                images = fuzz.mutate(images, donors: donors)
                labels = fuzz.mutate(labels, donors: donors)
            }
            // Gzipped now and then: the loader gunzips whatever starts with the gzip magic.
            let gzip = fuzz.below(4) == 0
            if gzip { images = Gzip.compress(images) }
            let imagesName = gzip ? "train-images-idx3-ubyte.gz" : "train-images-idx3-ubyte"
            dir.write(imagesName, images)
            dir.write("train-labels-idx1-ubyte", labels)
            tally.run(i, input: "images \(fuzzHex(images)) labels \(fuzzHex(labels))", names: { $0.hasPrefix(dir.path) }) {
                _ = try MNISTLoader.loadPair(images: dir.file(imagesName), labels: dir.file("train-labels-idx1-ubyte"),
                                             variant: .mnist, name: "fuzz")
            }
        }
        #expect(tally.bad.count == 0, "\(tally)\n\(tally.report)")
        #expect(tally.rejected > 150 && tally.parsed > 5, "\(tally)")
    }

    @Test func gzipFuzz() throws {
        let plain: [[UInt8]] = [Self.idx(count: 3, rows: 4, cols: 4).images, Array("hello, hello, hello".utf8), []]
        let seeds = plain.map { Gzip.compress($0) } + [Gzip.compress(plain[0], level: 0), Gzip.compress(plain[0], level: 9)]
        var fuzz = FuzzMutator(seed: 0x6219)
        var tally = FuzzTally()
        for i in 0..<FuzzMutator.cases(3000) {
            let input = fuzz.mutate(seeds[i % seeds.count], donors: seeds)
            FuzzMutator.trace("gzip", input)
            tally.run(i, input: fuzzHex(input), names: { $0.hasPrefix("data/x.gz") }) {
                _ = try Gzip.decompress(input, path: "data/x.gz")
            }
        }
        #expect(tally.bad.count == 0, "\(tally)\n\(tally.report)")
        #expect(tally.rejected > 1000, "\(tally)")
    }

    @Test func cifarFuzz() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        var fuzz = FuzzMutator(seed: 0xc1fa)
        var tally = FuzzTally()
        for i in 0..<FuzzMutator.cases(300) {
            let variant: CIFARLoader.Variant = i % 2 == 0 ? .cifar10 : .cifar100
            let records = 1 + i % 3
            var bytes = [UInt8]()
            for r in 0..<records {
                bytes += variant == .cifar10 ? [UInt8(r % 10)] : [UInt8(r % 20), UInt8(r % 100)]
                bytes += (0..<3072).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ r) }
            }
            if fuzz.below(2) == 0 {
                bytes = fuzz.mutate(bytes)
            } else {
                // Keep the length and change a label byte, so the label checks see the bad values.
                let at = fuzz.below(records) * variant.recordBytes + fuzz.below(variant.labelBytes)
                bytes[at] = [0, 9, 10, 19, 20, 99, 100, 0x7f, 0x80, 0xff][fuzz.below(10)]
            }
            dir.write("batch.bin", bytes)
            let names = variant == .cifar10 ? CIFARLoader.cifar10ClassNames : CIFARLoader.cifar100ClassNames
            tally.run(i, input: fuzzHex(bytes), names: { $0.hasPrefix(dir.path) }) {
                _ = try CIFARLoader.loadFiles([dir.file("batch.bin")], variant: variant, names: names, name: "fuzz")
            }
        }
        #expect(tally.bad.count == 0, "\(tally)\n\(tally.report)")
        #expect(tally.rejected > 100 && tally.parsed > 20, "\(tally)")
    }

    @Test func cifarClassNamesFuzz() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        let seeds = [CIFARLoader.cifar10ClassNames.joined(separator: "\n") + "\n",
                     CIFARLoader.cifar10ClassNames.joined(separator: "\r\n") + "\n\n  \n"]
        var fuzz = FuzzMutator(seed: 0x4a3e)
        var tally = FuzzTally()
        for i in 0..<FuzzMutator.cases(200) {
            let text = fuzz.mutate(seeds[i % seeds.count], donors: seeds)
            dir.write("batches.meta.txt", Array(text.utf8))
            tally.run(i, input: text.debugDescription, names: { $0.hasPrefix(dir.path) }) {
                _ = try CIFARLoader.classNames(.cifar10, directory: dir.path)
            }
        }
        #expect(tally.bad.count == 0, "\(tally)\n\(tally.report)")
        #expect(tally.rejected > 50 && tally.parsed > 20, "\(tally)")
    }

    @Test func dataSpecFuzz() throws {
        let seeds = ["builtin", "builtin:seed=1,train=4000,test=1000", "builtin:train=10_000", "cifar10:/data/c10",
                     "cifar100", "mnist:~/mnist", "fashion-mnist:", "folder:/images",
                     "folder[size=64,val=0.1,seed=3,skip-bad]:/data/imgs", "FOLDER[val=0]:~/x"]
        let environment = ["HOME": "/home/fuzz", "STP_CACHE": "/cache"]
        var fuzz = FuzzMutator(seed: 0xda7a)
        var tally = FuzzTally()
        for i in 0..<FuzzMutator.cases(4000) {
            let spec = fuzz.mutate(seeds[i % seeds.count],
                                   extraTokens: ["builtin", "folder", "folder[", "size=", "val=", "seed=", "train=",
                                                 "skip-bad", "~", "/", "cifar10"],
                                   donors: seeds)
            tally.run(i, input: spec.debugDescription, names: { $0.hasPrefix("--data \(spec):") }) {
                _ = try DataSource(parsing: spec, environment: environment)
            }
        }
        #expect(tally.bad.count == 0, "\(tally)\n\(tally.report)")
        #expect(tally.rejected > 1000 && tally.parsed > 100, "\(tally)")
    }
}
