// MNIST and Fashion-MNIST in IDX format, raw or gzipped.
//
// Images: magic 2051 (00 00 08 03), count, rows, cols (big-endian UInt32), then count*rows*cols
// bytes. Labels: magic 2049 (00 00 08 01), count, then count bytes in 0...9.
// Files: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte, each optionally with .gz; also found in a raw/ subfolder
// (torchvision's layout). Images load as NHWC with one channel.

public enum MNISTLoader {
    public enum Variant: String, Sendable, CaseIterable {
        case mnist
        case fashionMNIST = "fashion-mnist"

        public var classNames: [String] {
            switch self {
            case .mnist: (0...9).map(String.init)
            case .fashionMNIST: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
            }
        }
        var displayName: String { self == .mnist ? "MNIST" : "Fashion-MNIST" }
    }

    public static let imagesMagic: UInt32 = 2051
    public static let labelsMagic: UInt32 = 2049
    public static let fileStems = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]

    /// The path of one IDX file in `directory` (raw or .gz, directly or under raw/).
    static func locate(_ stem: String, in directory: String, variant: Variant) throws -> String {
        for dir in [directory, directory + "/raw"] {
            for name in [stem, stem + ".gz"] where DataFile.exists(dir + "/" + name) {
                return dir + "/" + name
            }
        }
        if !DataFile.isDirectory(directory) {
            throw STPError.file(.data, directory, "\(variant.displayName) directory not found; expected a directory holding "
                                + fileStems.joined(separator: ", ") + " (each optionally .gz)")
        }
        throw STPError.file(.data, directory + "/" + stem,
                            "missing \(variant.displayName) file (also looked for \(stem).gz and raw/\(stem)[.gz]); expected "
                            + fileStems.joined(separator: ", ") + " (get them with `stp data get \(variant.rawValue)`)")
    }

    public static func load(_ variant: Variant, directory: String) throws -> DataSplits {
        let dir = DataFile.expandTilde(directory)
        let paths = try fileStems.map { try locate($0, in: dir, variant: variant) }
        let train = try loadPair(images: paths[0], labels: paths[1], variant: variant, name: "\(variant.rawValue)-train")
        let test = try loadPair(images: paths[2], labels: paths[3], variant: variant, name: "\(variant.rawValue)-test")
        guard train.height == test.height && train.width == test.width else {
            throw STPError.file(.data, paths[2], offset: 8,
                                "images are \(test.height)x\(test.width); expected \(train.height)x\(train.width) like \(paths[0])")
        }
        return DataSplits(train: train, test: test)
    }

    /// The file's bytes, gunzipped when it starts with the gzip magic (whatever its name).
    static func readIDX(_ path: String, what: String) throws -> [UInt8] {
        let raw = try DataFile.read(path, what: what)
        return Gzip.isGzip(raw) ? try Gzip.decompress(raw, path: path) : raw
    }

    static func bigEndian(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    /// Offsets in errors refer to the decompressed IDX stream when the file is gzipped.
    public static func loadPair(images imagesPath: String, labels labelsPath: String, variant: Variant,
                                name: String) throws -> ImageDataset {
        let gzNote = { (p: String) in p.hasSuffix(".gz") ? " (offset in the decompressed data)" : "" }
        let img = try readIDX(imagesPath, what: "an IDX image file (magic 2051)")
        guard img.count >= 16 else {
            throw STPError.file(.data, imagesPath, offset: img.count,
                                "file ends after \(img.count) bytes; expected a 16-byte IDX image header")
        }
        let magic = bigEndian(img, 0)
        guard magic == imagesMagic else {
            throw STPError.file(.data, imagesPath, offset: 0,
                                "magic number \(magic) (0x\(String(magic, radix: 16))); expected \(imagesMagic) (00 00 08 03, big-endian) for an IDX image file")
        }
        let count = Int(bigEndian(img, 4)), rows = Int(bigEndian(img, 8)), cols = Int(bigEndian(img, 12))
        guard rows > 0 && rows <= 4096 && cols > 0 && cols <= 4096 else {
            throw STPError.file(.data, imagesPath, offset: 8,
                                "image dimensions \(rows)x\(cols); expected between 1 and 4096 (28x28 for \(variant.displayName))")
        }
        let expectedImageBytes = 16 + count * rows * cols
        guard img.count == expectedImageBytes else {
            let detail = img.count < expectedImageBytes
                ? "file is truncated: image \((img.count - 16) / (rows * cols)) starting at byte \(16 + (img.count - 16) / (rows * cols) * rows * cols) is incomplete"
                : "\(img.count - expectedImageBytes) unexpected bytes after the last image"
            throw STPError.file(.data, imagesPath, offset: min(img.count, expectedImageBytes),
                                "header says \(count) images of \(rows)x\(cols) = \(expectedImageBytes) bytes, file has \(img.count); \(detail)\(gzNote(imagesPath))")
        }
        let lab = try readIDX(labelsPath, what: "an IDX label file (magic 2049)")
        guard lab.count >= 8 else {
            throw STPError.file(.data, labelsPath, offset: lab.count,
                                "file ends after \(lab.count) bytes; expected an 8-byte IDX label header")
        }
        let labMagic = bigEndian(lab, 0)
        guard labMagic == labelsMagic else {
            throw STPError.file(.data, labelsPath, offset: 0,
                                "magic number \(labMagic) (0x\(String(labMagic, radix: 16))); expected \(labelsMagic) (00 00 08 01, big-endian) for an IDX label file")
        }
        let labelCount = Int(bigEndian(lab, 4))
        guard labelCount == count else {
            throw STPError.file(.data, labelsPath, offset: 4,
                                "header says \(labelCount) labels but \(imagesPath) holds \(count) images; expected equal counts")
        }
        guard lab.count == 8 + labelCount else {
            throw STPError.file(.data, labelsPath, offset: min(lab.count, 8 + labelCount),
                                "header says \(labelCount) labels = \(8 + labelCount) bytes, file has \(lab.count)"
                                + (lab.count < 8 + labelCount ? " (truncated)" : " (trailing bytes)") + gzNote(labelsPath))
        }
        var labels = [Int32](repeating: 0, count: count)
        for i in 0..<count {
            let l = lab[8 + i]
            guard l <= 9 else {
                throw STPError.file(.data, labelsPath, offset: 8 + i,
                                    "label \(i) is \(l); expected 0...9\(gzNote(labelsPath))")
            }
            labels[i] = Int32(l)
        }
        return ImageDataset(name: name, height: rows, width: cols, channels: 1, classNames: variant.classNames,
                            pixels: Array(img[16...]), labels: labels)
    }
}
