// CIFAR-10 and CIFAR-100, binary version (the "suitable for C programs" archives).
//
// CIFAR-10: data_batch_1..5.bin and test_batch.bin, records of 1 label byte + 1024 R + 1024 G +
// 1024 B bytes (each plane row-major), class names in batches.meta.txt.
// CIFAR-100: train.bin and test.bin, records of a coarse and a fine label byte + 3072 pixel bytes;
// the fine label (100 classes) is used, names from fine_label_names.txt when present.
// Planes are interleaved into NHWC on load. The directory may also be the parent of the official
// archive's folder (cifar-10-batches-bin/ or cifar-100-binary/).

public enum CIFARLoader {
    public enum Variant: String, Sendable, CaseIterable {
        case cifar10, cifar100

        public var trainFiles: [String] {
            switch self {
            case .cifar10: (1...5).map { "data_batch_\($0).bin" }
            case .cifar100: ["train.bin"]
            }
        }
        public var testFile: String { self == .cifar10 ? "test_batch.bin" : "test.bin" }
        public var labelBytes: Int { self == .cifar10 ? 1 : 2 }
        public var recordBytes: Int { labelBytes + 3072 }
        public var classCount: Int { self == .cifar10 ? 10 : 100 }
        /// The folder inside the official archive.
        public var archiveFolder: String { self == .cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary" }
        var namesFile: String { self == .cifar10 ? "batches.meta.txt" : "fine_label_names.txt" }
        var displayName: String { self == .cifar10 ? "CIFAR-10" : "CIFAR-100" }
    }

    public static let cifar10ClassNames = ["airplane", "automobile", "bird", "cat", "deer",
                                           "dog", "frog", "horse", "ship", "truck"]

    /// The fine labels of CIFAR-100 in label order (alphabetical), as in fine_label_names.txt.
    public static let cifar100ClassNames = [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
        "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
        "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
        "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
        "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
        "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
    ]

    /// The directory that holds the data files: `directory` itself or its archive subfolder.
    public static func resolveDirectory(_ directory: String, variant: Variant) throws -> String {
        let dir = DataFile.expandTilde(directory)
        let needed = variant.trainFiles + [variant.testFile]
        for candidate in [dir, dir + "/" + variant.archiveFolder] {
            if needed.allSatisfy({ DataFile.exists(candidate + "/" + $0) }) { return candidate }
        }
        if !DataFile.isDirectory(dir) {
            throw STPError.file(.data, dir, "\(variant.displayName) directory not found; expected a directory holding "
                                + needed.joined(separator: ", ") + " (or the archive folder \(variant.archiveFolder)/)")
        }
        // Name the first missing file in whichever candidate has more of them.
        let sub = dir + "/" + variant.archiveFolder
        let base = DataFile.isDirectory(sub) ? sub : dir
        let missing = needed.filter { !DataFile.exists(base + "/" + $0) }
        throw STPError.file(.data, base + "/" + missing[0],
                            "missing \(variant.displayName) file; expected \(needed.joined(separator: ", ")) in \(base)"
                            + " (get them with `stp data get \(variant.rawValue)`)")
    }

    public static func load(_ variant: Variant, directory: String) throws -> DataSplits {
        let dir = try resolveDirectory(directory, variant: variant)
        let names = try classNames(variant, directory: dir)
        let train = try loadFiles(variant.trainFiles.map { dir + "/" + $0 }, variant: variant,
                                  names: names, name: "\(variant.rawValue)-train")
        let test = try loadFiles([dir + "/" + variant.testFile], variant: variant,
                                 names: names, name: "\(variant.rawValue)-test")
        return DataSplits(train: train, test: test)
    }

    /// Class names from the names file (one per line, blank lines ignored); the standard names
    /// when the file is absent.
    static func classNames(_ variant: Variant, directory: String) throws -> [String] {
        let path = directory + "/" + variant.namesFile
        guard DataFile.exists(path) else {
            return variant == .cifar10 ? cifar10ClassNames : cifar100ClassNames
        }
        let text = String(decoding: try DataFile.read(path, what: "class names, one per line"), as: UTF8.self)
        let names = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard names.count == variant.classCount else {
            throw STPError.file(.data, path, "has \(names.count) class names; expected \(variant.classCount), one per line")
        }
        return names
    }

    /// Reads and concatenates record files; every file is validated before conversion.
    static func loadFiles(_ paths: [String], variant: Variant, names: [String], name: String) throws -> ImageDataset {
        let recordBytes = variant.recordBytes
        var pixels = [UInt8]()
        var labels = [Int32]()
        for path in paths {
            let bytes = try DataFile.read(path, what: "\(variant.displayName) binary records of \(recordBytes) bytes")
            guard !bytes.isEmpty else {
                throw STPError.file(.data, path, offset: 0, "empty file; expected \(variant.displayName) records of \(recordBytes) bytes")
            }
            let count = bytes.count / recordBytes
            if bytes.count % recordBytes != 0 {
                throw STPError.file(.data, path, offset: count * recordBytes,
                                    "file is \(bytes.count) bytes, not a whole number of \(recordBytes)-byte \(variant.displayName) records;"
                                    + " record \(count) starting here is truncated (\(bytes.count - count * recordBytes) of \(recordBytes) bytes)")
            }
            // Labels first, so a bad file fails before any conversion work.
            let labelByte = variant.labelBytes - 1  // fine label for CIFAR-100
            for r in 0..<count {
                let at = r * recordBytes
                if variant == .cifar100 && bytes[at] >= 20 {
                    throw STPError.file(.data, path, offset: at,
                                        "record \(r): coarse label \(bytes[at]) is out of range; expected 0...19")
                }
                let label = Int(bytes[at + labelByte])
                guard label < names.count else {
                    throw STPError.file(.data, path, offset: at + labelByte,
                                        "record \(r): label \(label) is out of range; expected 0...\(names.count - 1)")
                }
                labels.append(Int32(label))
            }
            let start = pixels.count
            pixels += [UInt8](repeating: 0, count: count * 3072)
            bytes.withUnsafeBufferPointer { src in
                pixels.withUnsafeMutableBufferPointer { dst in
                    planarToInterleaved(src.baseAddress!, records: count, recordBytes: recordBytes,
                                        labelBytes: variant.labelBytes, into: dst.baseAddress! + start)
                }
            }
        }
        return ImageDataset(name: name, height: 32, width: 32, channels: 3, classNames: names,
                            pixels: pixels, labels: labels)
    }

    /// R plane, G plane, B plane -> RGBRGB... per record.
    static func planarToInterleaved(_ src: UnsafePointer<UInt8>, records: Int, recordBytes: Int, labelBytes: Int,
                                    into dst: UnsafeMutablePointer<UInt8>) {
        for r in 0..<records {
            let s = src + r * recordBytes + labelBytes
            let d = dst + r * 3072
            for p in 0..<1024 {
                d[3 * p] = s[p]
                d[3 * p + 1] = s[1024 + p]
                d[3 * p + 2] = s[2048 + p]
            }
        }
    }
}

import Foundation
