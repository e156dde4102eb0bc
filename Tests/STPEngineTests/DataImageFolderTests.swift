import CJPEG
import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

// Image folders (`--data folder:PATH`): decoding, resizing, the folder layout and its errors,
// the held-out split, the decode cache, the cropping batch pipeline and the spec. Every fixture
// is written by the test itself: PNGs by hand (stored deflate blocks, so any colour type and
// bit depth), JPEGs through libjpeg's encoder in the CJPEG shim.

/// A PNG file: `rows` holds the raw samples of each row (no filter byte), big-endian for 16 bits.
private func pngFile(width: Int, height: Int, colorType: UInt8, bitDepth: UInt8 = 8, rows: [UInt8],
                     palette: [UInt8]? = nil, transparency: [UInt8]? = nil) -> [UInt8] {
    func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
    func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc & 1) == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
    func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return be32(UInt32(data.count)) + body + be32(crc32(body))
    }
    let rowBytes = rows.count / height
    var raw = [UInt8]()
    for y in 0..<height { raw += [0] + rows[(y * rowBytes)..<((y + 1) * rowBytes)] }
    // A zlib stream of stored (uncompressed) deflate blocks.
    var zlib: [UInt8] = [0x78, 0x01]
    var offset = 0
    repeat {
        let n = min(65535, raw.count - offset)
        let final: UInt8 = offset + n == raw.count ? 1 : 0
        zlib += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
        zlib += raw[offset..<(offset + n)]
        offset += n
    } while offset < raw.count
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
    zlib += be32(b << 16 | a)
    let header = be32(UInt32(width)) + be32(UInt32(height)) + [bitDepth, colorType, 0, 0, 0]
    var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header)
    if let palette { file += chunk("PLTE", palette) }
    if let transparency { file += chunk("tRNS", transparency) }
    return file + chunk("IDAT", zlib) + chunk("IEND", [])
}

/// A solid-colour 8-bit RGB PNG.
private func solidPNG(_ width: Int, _ height: Int, _ rgb: [UInt8]) -> [UInt8] {
    pngFile(width: width, height: height, colorType: 2, rows: Array([[UInt8]](repeating: rgb, count: width * height).joined()))
}

/// A JPEG of `components` channels (1 gray, 3 RGB, 4 CMYK) through libjpeg.
private func jpegFile(width: Int, height: Int, components: Int, pixels: [UInt8], quality: Int = 95) -> [UInt8] {
    var out: UnsafeMutablePointer<UInt8>?
    var size: UInt = 0
    var message = [CChar](repeating: 0, count: 256)
    let status = pixels.withUnsafeBufferPointer { p in
        stp_jpeg_encode(p.baseAddress, Int32(width), Int32(height), Int32(components), Int32(quality), &out, &size, &message, 256)
    }
    precondition(status == 0 && out != nil, "the test's JPEG encoder failed")
    defer { free(out) }
    return Array(UnsafeBufferPointer(start: out, count: Int(size)))
}

private func solidJPEG(_ width: Int, _ height: Int, _ rgb: [UInt8]) -> [UInt8] {
    jpegFile(width: width, height: height, components: 3, pixels: Array([[UInt8]](repeating: rgb, count: width * height).joined()))
}

private func decode(_ bytes: [UInt8], shorter: Int = 0) throws -> RGBImage {
    try ImageDecoder.decode(bytes, path: "/t/image", minimumShorterSide: shorter)
}

private func near(_ a: ArraySlice<UInt8>, _ b: [UInt8], within tolerance: Int) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs(Int($0) - Int($1)) <= tolerance }
}

/// Loads quietly, returning the load and the log lines.
private func load(_ dir: DataTempDir, _ options: ImageFolderOptions = ImageFolderOptions(inputSize: 8)) throws -> (ImageFolderLoad, [String]) {
    var lines = [String]()
    let result = try ImageFolderLoader.load(path: dir.path, options: options, environment: ["HOME": dir.path + "/home"],
                                            progress: nil, log: { lines.append($0) })
    return (result, lines)
}

/// The colour of class c, image i: red encodes the class, green the image.
private func colour(_ c: Int, _ i: Int) -> [UInt8] { [UInt8(40 + c * 80), UInt8(10 + i * 20), 200] }

/// train/{a,b,c}/ with `perClass` solid 8x8 PNGs each, coloured by colour(c, i).
private func writeSolidFolder(_ dir: DataTempDir, perClass: Int, split: String = "train") {
    for (c, name) in ["a", "b", "c"].enumerated() {
        for i in 0..<perClass { dir.write("\(split)/\(name)/\(i).png", solidPNG(8, 8, colour(c, i))) }
    }
}

/// The (red, green) of the centre pixel of each image of `data`.
private func centreColours(_ data: ImageDataset) -> [[UInt8]] {
    (0..<data.count).map { n in
        let p = n * data.imageSize + ((data.height / 2) * data.width + data.width / 2) * 3
        return [data.pixels[p], data.pixels[p + 1]]
    }
}

@Suite struct DataImageFolderTests {
    // MARK: decoding

    @Test func decodesEveryPNGFlavourToRGB() throws {
        let rgb = try decode(pngFile(width: 2, height: 1, colorType: 2, rows: [10, 20, 30, 40, 50, 60]))
        #expect((rgb.width, rgb.height) == (2, 1) && rgb.bytes == [10, 20, 30, 40, 50, 60])
        let gray = try decode(pngFile(width: 2, height: 1, colorType: 0, rows: [7, 200]))
        #expect(gray.bytes == [7, 7, 7, 200, 200, 200])
        let palette = try decode(pngFile(width: 2, height: 1, colorType: 3, rows: [1, 0], palette: [1, 2, 3, 250, 100, 50]))
        #expect(palette.bytes == [250, 100, 50, 1, 2, 3])
        // 16 bits become 8 by scaling (taken as sRGB-encoded): 0x8080 -> 0x80.
        let deep = try decode(pngFile(width: 1, height: 1, colorType: 0, bitDepth: 16, rows: [0x80, 0x80]))
        #expect(deep.bytes == [128, 128, 128])
        // Alpha is composited onto white: opaque pixels keep their colour, transparent ones are white.
        let rgba = try decode(pngFile(width: 2, height: 1, colorType: 6, rows: [10, 20, 30, 255, 10, 20, 30, 0]))
        #expect(rgba.bytes == [10, 20, 30, 255, 255, 255])
        let grayAlpha = try decode(pngFile(width: 1, height: 1, colorType: 4, rows: [90, 255]))
        #expect(grayAlpha.bytes == [90, 90, 90])
    }

    @Test func decodesRGBGrayscaleAndCMYKJPEGs() throws {
        let rgb = try decode(solidJPEG(16, 8, [200, 40, 90]))
        #expect((rgb.width, rgb.height) == (16, 8))
        #expect(near(rgb.bytes[0..<3], [200, 40, 90], within: 3))
        let gray = try decode(jpegFile(width: 8, height: 8, components: 1, pixels: [UInt8](repeating: 77, count: 64)))
        #expect(gray.bytes.allSatisfy { abs(Int($0) - 77) <= 1 })
        // libjpeg writes CMYK with an Adobe marker, which (as Photoshop does) means inverted ink.
        let ink: [UInt8] = [255, 128, 0, 255]   // inverted C, M, Y, K: no cyan, half magenta, full yellow, no black
        let cmyk = try decode(jpegFile(width: 8, height: 8, components: 4, pixels: Array([[UInt8]](repeating: ink, count: 64).joined())))
        #expect(near(cmyk.bytes[0..<3], [255, 128, 0], within: 3))
        // A large JPEG is decoded at a reduced scale that keeps the shorter side long enough.
        let big = try decode(solidJPEG(160, 96, [1, 2, 3]), shorter: 20)
        #expect((big.width, big.height) == (40, 24))
    }

    @Test func unreadableBytesNameWhatTheyAre() {
        #expect(errorMessage { _ = try decode([]) } == "/t/image: is empty; expected a JPEG or PNG image")
        #expect(errorMessage { _ = try decode(Array("hello, world\n".utf8)) }?.contains("is text, not an image") == true)
        #expect(errorMessage { _ = try decode(Array("GIF89a....".utf8)) }?.contains("a GIF image") == true)
        #expect(errorMessage { _ = try decode([0, 1, 2, 0xFE]) }?.contains("starts with bytes 00 01 02 fe") == true)
        let jpeg = solidJPEG(32, 32, [9, 9, 9])
        let cut = errorMessage { _ = try decode(Array(jpeg.prefix(jpeg.count * 2 / 3))) }
        #expect(cut?.contains("/t/image: is not a readable JPEG image (Premature end of JPEG file)") == true)
        let png = solidPNG(32, 32, [9, 9, 9])
        #expect(errorMessage { _ = try decode(Array(png.prefix(png.count / 2))) }?.contains("is not a readable PNG image") == true)
    }

    // MARK: resizing

    @Test func resizeKeepsSolidColoursAndCropsTheCentre() {
        var out = [UInt8](repeating: 0, count: 5 * 5 * 3)
        let solid = RGBImage(width: 13, height: 7, bytes: Array([[UInt8]](repeating: [12, 250, 99], count: 91).joined()))
        ImageResize.shorterSideThenCentreSquare(solid, side: 5, into: &out)
        #expect(out == Array([[UInt8]](repeating: [12, 250, 99], count: 25).joined()))
        #expect(ImageResize.resizedSize(width: 13, height: 7, shorterSide: 5) == (9, 5))
        #expect(ImageResize.resizedSize(width: 4, height: 10, shorterSide: 8) == (8, 20))

        // 30x10, red at both ends, green in columns 9..<21: resized to 12x4, the centred 4x4 is
        // all green (its filter taps reach source columns 9...20 only).
        var bands = [UInt8]()
        for _ in 0..<10 { for x in 0..<30 { bands += (9..<21).contains(x) ? [0, 255, 0] : [255, 0, 0] } }
        var centre = [UInt8](repeating: 0, count: 4 * 4 * 3)
        ImageResize.shorterSideThenCentreSquare(RGBImage(width: 30, height: 10, bytes: bands), side: 4, into: &centre)
        #expect(centre == Array([[UInt8]](repeating: [0, 255, 0], count: 16).joined()))

        // Shrinking averages every source pixel: a one-pixel checkerboard becomes mid-grey.
        var checker = [UInt8]()
        for y in 0..<64 { for x in 0..<64 { checker += [UInt8]( repeating: (x + y) % 2 == 0 ? 0 : 255, count: 3) } }
        var small = [UInt8](repeating: 0, count: 8 * 8 * 3)
        ImageResize.shorterSideThenCentreSquare(RGBImage(width: 64, height: 64, bytes: checker), side: 8, into: &small)
        #expect(small.allSatisfy { (126...129).contains($0) })
    }

    // MARK: loading a folder

    @Test func loadsClassesLabelsAndSizesFromTrainAndValFolders() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        let colours: [[UInt8]] = [[200, 30, 30], [30, 200, 30], [30, 30, 200]]
        for (c, name) in ["cat", "dog", "emu"].enumerated() {
            let rgb = colours[c]
            dir.write("train/\(name)/a.png", solidPNG(40, 30, rgb))
            dir.write("train/\(name)/b.JPG", solidJPEG(20, 50, rgb))
            dir.write("train/\(name)/sub/c.jpeg", solidJPEG(64, 64, rgb))
            dir.write("val/\(name)/v.png", solidPNG(17, 19, rgb))
        }
        // Grayscale and RGBA files, a PNG named .jpg, and files that are not part of any class.
        dir.write("train/cat/gray.png", pngFile(width: 9, height: 9, colorType: 0, rows: [UInt8](repeating: 200, count: 81)))
        dir.write("train/dog/alpha.png", pngFile(width: 9, height: 9, colorType: 6, rows: Array([[UInt8]](repeating: [30, 200, 30, 255], count: 81).joined())))
        dir.write("train/emu/misnamed.jpg", solidPNG(12, 12, colours[2]))
        dir.write("train/.DS_Store", [0, 1, 2])
        dir.write("train/cat/.hidden.png", [0, 1, 2])
        dir.write("train/README.txt", Array("loose files belong to no class".utf8))

        let (result, _) = try load(dir, ImageFolderOptions(inputSize: 16))
        let train = result.splits.train, test = result.splits.test
        #expect(train.classNames == ["cat", "dog", "emu"])
        #expect(train.count == 12 && test.count == 3)
        #expect((train.height, train.width, train.channels, train.cropSize) == (18, 18, 3, 16))
        #expect((train.inputHeight, train.inputWidth, train.inputImageSize) == (16, 16, 16 * 16 * 3))
        #expect((test.height, test.cropSize) == (18, 16))
        #expect(test.labels == [0, 1, 2])
        #expect(train.labels.sorted() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
        // Every image shows its class's colour (the gray one is gray).
        for (n, pixel) in centreColours(train).enumerated() {
            let expected = Array(colours[Int(train.labels[n])].prefix(2))
            #expect(near(pixel[...], expected, within: 4) || pixel == [200, 200])
        }
        for (n, pixel) in centreColours(test).enumerated() { #expect(pixel == Array(colours[n].prefix(2))) }
        // The network is built for the crop, not the stored size.
        let spec = try TrainingConfig().modelSpec(for: train)
        #expect((spec.inputHeight, spec.inputWidth, spec.classes) == (16, 16, 3))
    }

    @Test func heldOutSplitIsStratifiedSeededAndDisjoint() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeSolidFolder(dir, perClass: 10)
        let (first, _) = try load(dir, ImageFolderOptions(inputSize: 8, valFraction: 0.2, splitSeed: 5))
        let train = first.splits.train, test = first.splits.test
        #expect(train.count == 24 && test.count == 6)
        #expect(test.labels == [0, 0, 1, 1, 2, 2])
        let trainColours = Set(centreColours(train)), testColours = Set(centreColours(test))
        #expect(trainColours.count == 24 && testColours.count == 6 && trainColours.isDisjoint(with: testColours))
        // Training images come in a seeded random order, not class by class.
        #expect(train.labels != train.labels.sorted())
        // The same seed gives the same split (from the cache this time); another seed another one.
        let (again, _) = try load(dir, ImageFolderOptions(inputSize: 8, valFraction: 0.2, splitSeed: 5))
        #expect(again.decodedImages == 0)
        #expect(again.splits.train.pixels == train.pixels && again.splits.test.pixels == test.pixels)
        let (other, _) = try load(dir, ImageFolderOptions(inputSize: 8, valFraction: 0.2, splitSeed: 6))
        #expect(Set(centreColours(other.splits.test)) != testColours)
        // Rounding per class: 0.01 of 10 still holds one out of each class.
        #expect(try load(dir, ImageFolderOptions(inputSize: 8, valFraction: 0.01)).0.splits.test.count == 3)
    }

    @Test func trainingTakesRandomFlippedWindowsAndEvaluationTheCentre() {
        // Stored 6x6 one-channel images with pixel value y * 6 + x (+ 100 for the second), crop 4.
        let pixels = (0..<2).flatMap { n in (0..<36).map { UInt8($0 + n * 100) } }
        let data = ImageDataset(name: "w", height: 6, width: 6, channels: 1, classNames: ["x", "y"],
                                pixels: pixels, labels: [0, 1], cropSize: 4)
        let identity = Normalization(mean: [0], std: [1.0 / 255])
        func window(_ buffer: [Float], _ k: Int) -> [Int] { buffer[(k * 16)..<((k + 1) * 16)].map { Int($0.rounded()) } }
        func expected(_ n: Int, x0: Int, y0: Int, flip: Bool) -> [Int] {
            (0..<4).flatMap { y in (0..<4).map { x in (y0 + y) * 6 + x0 + (flip ? 3 - x : x) + n * 100 } }
        }

        let evaluation = BatchLoader.evaluation(dataset: data, batchSize: 2, normalization: identity)
        #expect(evaluation.batchElementCount == 2 * 16)
        var buffer = [Float](repeating: .nan, count: 32)
        var labels = [Int32]()
        _ = buffer.withUnsafeMutableBufferPointer { evaluation.fillEvaluationBatch(batch: 0, pixels: $0.baseAddress!, labels: &labels) }
        #expect(window(buffer, 0) == expected(0, x0: 1, y0: 1, flip: false))
        #expect(window(buffer, 1) == expected(1, x0: 1, y0: 1, flip: false))

        let training = BatchLoader(dataset: data, batchSize: 2, normalization: identity, seed: 3)
        var seen = Set<[Int]>()
        for epoch in 0..<40 {
            _ = buffer.withUnsafeMutableBufferPointer { training.fillTrainingBatch(epoch: epoch, batch: 0, pixels: $0.baseAddress!, labels: &labels) }
            for k in 0..<2 {
                let n = Int(labels[k])
                let match = (0...2).flatMap { y0 in (0...2).flatMap { x0 in [false, true].map { (x0, y0, $0) } } }
                    .first { window(buffer, k) == expected(n, x0: $0.0, y0: $0.1, flip: $0.2) }
                #expect(match != nil)
                if let match { seen.insert([match.0, match.1, match.2 ? 1 : 0]) }
            }
        }
        // Windows move over the whole margin and are flipped about half the time.
        #expect(Set(seen.map { $0[0] }) == [0, 1, 2] && Set(seen.map { $0[1] }) == [0, 1, 2])
        #expect(Set(seen.map { $0[2] }) == [0, 1])

        // Cropping off: training takes the centre too.
        let centred = BatchLoader(dataset: data, batchSize: 2, normalization: identity, augmentation: .none, seed: 3, shuffle: false)
        _ = buffer.withUnsafeMutableBufferPointer { centred.fillTrainingBatch(epoch: 0, batch: 0, pixels: $0.baseAddress!, labels: &labels) }
        #expect(window(buffer, 0) == expected(0, x0: 1, y0: 1, flip: false))
        // subset keeps the crop (held-out and calibration sets are subsets).
        #expect(data.subset([1]).cropSize == 4)
    }

    // MARK: the decode cache

    @Test func cacheIsReadWhileTheFolderIsUnchangedAndRebuiltWhenItChanges() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeSolidFolder(dir, perClass: 3)
        let (first, firstLog) = try load(dir)
        #expect(first.decodedImages == 9)
        #expect(first.cachePath == dir.path + "/.stp-cache/decoded-9px.stpcache")
        #expect(firstLog.contains { $0.contains("decoded 9 images") })
        let (second, secondLog) = try load(dir)
        #expect(second.decodedImages == 0 && second.cachePath == first.cachePath)
        #expect(secondLog.contains { $0.contains("read 9 decoded images") })
        #expect(second.splits.train.pixels == first.splits.train.pixels && second.splits.test.labels == first.splits.test.labels)
        // Another input size is another cache file; the first stays valid.
        #expect(try load(dir, ImageFolderOptions(inputSize: 16)).0.decodedImages == 9)
        #expect(try load(dir).0.decodedImages == 0)

        dir.write("train/b/new.png", solidPNG(8, 8, [1, 2, 3]))                // added
        #expect(try load(dir).0.decodedImages == 10)
        #expect(try load(dir).0.decodedImages == 0)
        dir.write("train/a/0.png", solidPNG(9, 9, [4, 5, 6]))                  // modified
        let (modified, modifiedLog) = try load(dir)
        #expect(modified.decodedImages == 10)
        #expect(modifiedLog.contains { $0.contains("changed since") })
        try FileManager.default.removeItem(atPath: dir.file("train/c/2.png"))  // removed
        #expect(try load(dir).0.decodedImages == 9)
    }

    @Test func corruptOrTruncatedCacheIsIgnoredAndRebuilt() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeSolidFolder(dir, perClass: 2)
        let (first, _) = try load(dir)
        let cache = try #require(first.cachePath)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: cache)))
        bytes[bytes.count / 2] ^= 0xFF
        dir.write(".stp-cache/decoded-9px.stpcache", bytes)
        let (flipped, flippedLog) = try load(dir)
        #expect(flipped.decodedImages == 6)
        #expect(flippedLog.contains { $0.contains("ignoring the cache \(cache): checksum mismatch") })
        #expect(flipped.splits.train.pixels == first.splits.train.pixels)
        #expect(try load(dir).0.decodedImages == 0)

        dir.write(".stp-cache/decoded-9px.stpcache", Array(bytes.prefix(30)))
        let (truncated, truncatedLog) = try load(dir)
        #expect(truncated.decodedImages == 6 && truncatedLog.contains { $0.contains("ignoring the cache") })
        dir.write(".stp-cache/decoded-9px.stpcache", [])
        #expect(try load(dir).0.decodedImages == 6)
    }

    @Test func cacheFallsBackToTheUserCacheWhenTheFolderIsNotWritable() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeSolidFolder(dir, perClass: 2)
        dir.write(".stp-cache", [1])   // a file where the cache folder would go: it cannot be created
        let (first, _) = try load(dir)
        let fallback = ImageFolderCache.fallbackDirectory(root: dir.path, environment: ["HOME": dir.path + "/home"])
        #expect(fallback.hasPrefix(dir.path + "/home/.cache/stp/folders/"))
        #expect(first.cachePath == fallback + "/decoded-9px.stpcache")
        #expect(try load(dir).0.decodedImages == 0)
        #expect(ImageFolderCache.fallbackDirectory(root: dir.path, environment: ["STP_CACHE": "/c", "HOME": "/h"]).hasPrefix("/c/folders/"))
    }

    // MARK: bad input

    @Test func badFolderLayoutsNameTheFolder() {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        #expect(errorMessage { _ = try load(dir) }?.hasPrefix(dir.path + "/train: not found; expected the training images in class folders") == true)
        dir.write("train/only.png", solidPNG(4, 4, [1, 1, 1]))
        #expect(errorMessage { _ = try load(dir) }?.contains("has no class folders (only 1 loose files)") == true)
        writeSolidFolder(dir, perClass: 1)
        try? FileManager.default.createDirectory(atPath: dir.file("train/d"), withIntermediateDirectories: true)
        #expect(errorMessage { _ = try load(dir) } == dir.path + "/train/d: is an empty class folder; expected at least one .jpg, .jpeg or .png image of class d")
        try? FileManager.default.removeItem(atPath: dir.file("train/d"))
        writeSolidFolder(dir, perClass: 1, split: "val")
        dir.write("val/z/1.png", solidPNG(4, 4, [1, 1, 1]))
        try? FileManager.default.removeItem(atPath: dir.file("val/b"))
        #expect(errorMessage { _ = try load(dir) } == dir.path + "/val: lacks b and has z that train lacks; expected the same class folders as \(dir.path)/train")
        let missing = errorMessage {
            _ = try ImageFolderLoader.load(path: dir.path + "/missing", options: ImageFolderOptions(), progress: nil, log: { _ in })
        }
        #expect(missing == dir.path + "/missing: not found or not a folder; expected a folder holding train/CLASS/ image folders")
    }

    @Test func unreadableFilesStopTheLoadOrAreSkippedAndCounted() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeSolidFolder(dir, perClass: 3)
        let jpeg = solidJPEG(24, 24, [50, 60, 70]), png = solidPNG(24, 24, [50, 60, 70])
        dir.write("train/a/notes.txt", Array("not a picture".utf8))
        dir.write("train/b/cut.jpg", Array(jpeg.prefix(jpeg.count / 2)))
        dir.write("train/c/cut.png", Array(png.prefix(png.count / 2)))

        let stopped = errorMessage { _ = try load(dir) }
        #expect(stopped?.hasPrefix(dir.path + "/train/a/notes.txt: is text, not an image; expected a JPEG or PNG image (and 2 more unreadable files)") == true)
        #expect(stopped?.contains("skip-bad") == true)
        // The failed load still cached what it decoded: skipping now decodes nothing.
        var options = ImageFolderOptions(inputSize: 8)
        options.skipBadImages = true
        let (skipping, log) = try load(dir, options)
        #expect(skipping.decodedImages == 0)
        #expect(skipping.splits.train.count + skipping.splits.test.count == 9)
        #expect(skipping.skippedImages == ["a/notes.txt", "b/cut.jpg", "c/cut.png"].map { dir.path + "/train/" + $0 })
        let line = log.first { $0.contains("skipped") }
        #expect(line?.contains("skipped 3 unreadable images of \(dir.path): first ones train/a/notes.txt (is text, not an image") == true)
        #expect(line?.contains("train/b/cut.jpg (is not a readable JPEG image (Premature end of JPEG file)") == true)
        #expect(line?.contains("train/c/cut.png (is not a readable PNG image") == true)
        // Without skipping, the first bad file is named, whichever it is.
        try FileManager.default.removeItem(atPath: dir.file("train/a/notes.txt"))
        #expect(errorMessage { _ = try load(dir) }?.hasPrefix(dir.path + "/train/b/cut.jpg: is not a readable JPEG image (Premature end of JPEG file)") == true)
        try FileManager.default.removeItem(atPath: dir.file("train/b/cut.jpg"))
        #expect(errorMessage { _ = try load(dir) }?.hasPrefix(dir.path + "/train/c/cut.png: is not a readable PNG image") == true)
        // A class whose every file is unreadable is an error even when skipping.
        for i in 0..<3 { try FileManager.default.removeItem(atPath: dir.file("train/c/\(i).png")) }
        #expect(errorMessage { _ = try load(dir, options) } == dir.path + "/train/c: has no readable images (all were skipped as unreadable); expected at least one per class")
    }

    // MARK: the --data spec

    @Test func folderSpecsParseAndRoundTrip() throws {
        let env = ["HOME": "/home/u"]
        let plain = try DataSource(parsing: "folder:/data/pets", environment: env)
        #expect(plain == .folder(path: "/data/pets", options: ImageFolderOptions()))
        #expect(plain.spec == "folder[size=32,val=0.1,seed=0]:/data/pets")
        let full = try DataSource(parsing: "folder[size=64,val=0.25,seed=7,skip-bad]:/a,b:c/d e", environment: env)
        #expect(full == .folder(path: "/a,b:c/d e", options: ImageFolderOptions(inputSize: 64, valFraction: 0.25, splitSeed: 7, skipBadImages: true)))
        for source in [plain, full, .folder(path: "rel/dir", options: ImageFolderOptions(inputSize: 224, valFraction: 1e-3))] {
            #expect(try DataSource(parsing: source.spec, environment: env) == source)
        }
        #expect(try DataSource(parsing: "folder:~/pics", environment: env).spec.hasSuffix("/pics"))
        #expect(plain.description == "image folder /data/pets (32x32 input, val 0.1, seed 0)")
        #expect(DataSource.validKinds.contains("folder"))

        func message(_ spec: String) -> String? { errorMessage { _ = try DataSource(parsing: spec, environment: env) } }
        #expect(message("folder")?.contains("needs its PATH") == true)
        #expect(message("folder[size=8]:")?.contains("needs its PATH") == true)
        #expect(message("folder[size=8:/x")?.contains("closing ']'") == true)
        #expect(message("folder[size=0]:/x")?.contains("input size 0 is outside 4...2048") == true)
        #expect(message("folder[val=1]:/x")?.contains("val fraction 1.0 is not between 0 and 1") == true)
        #expect(message("folder[val=x]:/x")?.contains("val 'x' is not a fraction") == true)
        #expect(message("folder[colour=red]:/x")?.contains("unknown folder option 'colour'") == true)
        #expect(message("folder[size]:/x")?.contains("not KEY=VALUE") == true)
    }

    @Test func commandLineFolderOptionsApplyOnlyToFolders() throws {
        let source = DataSource.folder(path: "/p", options: ImageFolderOptions(skipBadImages: true))
        let changed = try source.withFolderOptions(inputSize: 96, valFraction: 0.3, skipBadImages: false)
        #expect(changed == .folder(path: "/p", options: ImageFolderOptions(inputSize: 96, valFraction: 0.3, skipBadImages: true)))
        #expect(try source.withFolderOptions(inputSize: nil, valFraction: nil, skipBadImages: false) == source)
        #expect(errorMessage { _ = try source.withFolderOptions(inputSize: 1, valFraction: nil, skipBadImages: false) }?.contains("input size 1") == true)
        let cifar = DataSource.cifar10(path: "/c")
        #expect(try cifar.withFolderOptions(inputSize: nil, valFraction: nil, skipBadImages: false) == cifar)
        #expect(errorMessage { _ = try cifar.withFolderOptions(inputSize: 64, valFraction: nil, skipBadImages: true) }
                == "--input-size 64, --skip-bad-images: only for an image folder (--data folder:PATH); the data set is CIFAR-10 from /c")
    }

    @Test func dataSourceLoadsAFolder() throws {
        let dir = DataTempDir()
        defer { dir.cleanup() }
        writeSolidFolder(dir, perClass: 2)
        writeSolidFolder(dir, perClass: 1, split: "val")
        let splits = try DataSource.folder(path: dir.path, options: ImageFolderOptions(inputSize: 8)).load(reporting: nil)
        #expect(splits.train.count == 6 && splits.test.count == 3 && splits.train.cropSize == 8)
        #expect(splits.train.name == (dir.path as NSString).lastPathComponent + "-train")
    }
}

/// A directory symlink loop once listed 216 images from 24 files, class b's also labelled a. Links
/// back into the folder are not followed (and the loader says so); a link out of it is.
@Test func directorySymlinksBackIntoTheFolderAreNotFollowedAndAreReported() throws {
    let dir = DataTempDir()
    defer { dir.cleanup() }
    writeSolidFolder(dir, perClass: 4)
    let outside = DataTempDir()
    defer { outside.cleanup() }
    outside.write("more/9.png", solidPNG(8, 8, colour(2, 5)))
    try FileManager.default.createSymbolicLink(atPath: dir.file("train/a/up"), withDestinationPath: "..")
    try FileManager.default.createSymbolicLink(atPath: dir.file("train/b/sub"), withDestinationPath: "../../train")
    try FileManager.default.createSymbolicLink(atPath: dir.file("train/c/elsewhere"), withDestinationPath: outside.file("more"))
    let (result, lines) = try load(dir)
    #expect(result.splits.train.count + result.splits.test.count == 13, "12 files in the folder and 1 outside it, each once")
    let note = lines.first { $0.contains("did not follow 2 directory symlinks") } ?? ""
    #expect(note.contains("train/a/up") && note.contains("train/b/sub") && note.contains("a link back into the folder"), "\(lines)")
}
