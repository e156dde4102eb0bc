// The decode cache of an image folder: its images decoded and resized once, so that later runs
// (and `--resume`) read bytes instead of decoding every JPEG again.
//
// Where: PATH/.stp-cache/decoded-<side>px.stpcache, or, when PATH is not writable,
// $STP_CACHE/folders/<digest of PATH>/ (else ~/.cache/stp/folders/...). One file per stored
// side, so several input sizes can be cached side by side.
//
// Format (integers little-endian):
//   "STPIMGCF"                        magic, 8 bytes
//   UInt32 version                    ImageFolderCache.version
//   UInt32 H, then H bytes of JSON    fingerprint, side, class names, image counts, unreadable files
//   train pixels  trainCount * side * side * 3 bytes, NHWC RGB
//   train labels  trainCount * Int32
//   val pixels, val labels            likewise (none without a val folder)
//   UInt32 CRC-32 of everything before it
//
// The fingerprint covers every source file's path, size and modification time plus the decode
// options, so a changed folder is decoded again. A file whose length, header or checksum is wrong
// is never trusted: the loader logs why and decodes again. Written with AtomicFile, so a reader
// sees the old file or the new one, never half of one.

import CZlibShim
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file of an image folder that could not be decoded, and why.
struct UnreadableImage: Codable, Equatable, Sendable {
    /// Relative to the folder root, e.g. "train/cat/broken.jpg".
    var relativePath: String
    var reason: String
}

/// Decoded images of one split: side x side RGB each, in listing order.
struct DecodedImages: Equatable, Sendable {
    var pixels: [UInt8]
    var labels: [Int32]
}

/// Everything decoded from one folder: what the cache file holds.
struct DecodedImageFolder: Equatable, Sendable {
    var fingerprint: String
    var side: Int
    var classNames: [String]
    var train: DecodedImages
    /// Nil when the folder has no val folder.
    var val: DecodedImages?
    /// Files that could not be decoded, in listing order (kept so that a later run with the
    /// skip option set, or without it, behaves as if it had decoded them itself).
    var unreadable: [UnreadableImage]
}

enum ImageFolderCache {
    static let magic = Array("STPIMGCF".utf8)
    /// Bump when decoding or resizing changes, so old caches are rebuilt rather than trusted.
    static let version: UInt32 = 1

    private struct Header: Codable {
        var fingerprint: String
        var side: Int
        var classNames: [String]
        var trainCount: Int
        /// -1 without a val folder.
        var valCount: Int
        var unreadable: [UnreadableImage]
    }

    /// What a cache file turned out to be.
    enum Lookup {
        case missing
        /// Well-formed, but for another state of the folder or other options.
        case stale
        /// Unreadable, truncated or failing its checksum; the reason says which.
        case corrupt(String)
        case valid(DecodedImageFolder)
    }

    static func fileName(side: Int) -> String { "decoded-\(side)px.stpcache" }

    /// Where the cache of `root` lives: inside the folder, then the per-user fallback.
    static func candidatePaths(root: String, side: Int, environment: [String: String]) -> [String] {
        [root + "/.stp-cache/" + fileName(side: side),
         fallbackDirectory(root: root, environment: environment) + "/" + fileName(side: side)]
    }

    /// $STP_CACHE/folders/<digest>, else ~/.cache/stp/folders/<digest>: the same root as the
    /// `stp data get` downloads (DataDownloader.cacheDirectory); the digest of the folder's
    /// absolute path keeps different folders apart.
    static func fallbackDirectory(root: String, environment: [String: String]) -> String {
        let cacheRoot: String
        if let cache = environment["STP_CACHE"], !cache.isEmpty {
            cacheRoot = DataFile.expandTilde(cache)
        } else {
            cacheRoot = (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/stp"
        }
        return cacheRoot + "/folders/" + String(MD5.hexDigest(Array(absolutePath(root).utf8)).prefix(16))
    }

    static func absolutePath(_ path: String) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        return path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Reads the cache at `path` and checks it against the folder's current `fingerprint`.
    static func read(_ path: String, fingerprint: String, side: Int) -> Lookup {
        guard DataFile.exists(path) else { return .missing }
        let bytes: [UInt8]
        do {
            bytes = try DataFile.read(path, what: "an image-folder cache file")
        } catch let error as STPError {
            return .corrupt(error.message)
        } catch {
            return .corrupt("\(error)")
        }
        do {
            let folder = try decode(bytes)
            guard folder.fingerprint == fingerprint, folder.side == side else { return .stale }
            return .valid(folder)
        } catch let error as CacheDamage {
            return .corrupt(error.reason)
        } catch {
            return .corrupt("\(error)")
        }
    }

    /// Writes `folder` to the first candidate path that can be written; returns that path, or
    /// the reasons every candidate failed.
    static func write(_ folder: DecodedImageFolder, root: String, environment: [String: String]) -> Result<String, STPError> {
        let bytes = encode(folder)
        var failures = [String]()
        for path in candidatePaths(root: root, side: folder.side, environment: environment) {
            do {
                try AtomicFile.createDirectory(AtomicFile.parentDirectory(of: path))
                try AtomicFile.write(bytes, to: path)
                return .success(path)
            } catch let error as STPError {
                failures.append(error.message)
            } catch {
                failures.append("\(path): \(error)")
            }
        }
        return .failure(STPError(.io, failures.joined(separator: "; ")))
    }

    static func encode(_ folder: DecodedImageFolder) -> [UInt8] {
        let header = Header(fingerprint: folder.fingerprint, side: folder.side, classNames: folder.classNames,
                            trainCount: folder.train.labels.count, valCount: folder.val?.labels.count ?? -1,
                            unreadable: folder.unreadable)
        let json = try! JSONEncoder().encode(header)   // plain strings and integers always encode
        var out = magic
        appendUInt32(version, to: &out)
        appendUInt32(UInt32(json.count), to: &out)
        out += json
        for split in [folder.train] + (folder.val.map { [$0] } ?? []) {
            out += split.pixels
            out.reserveCapacity(out.count + split.labels.count * 4 + 4)
            for label in split.labels { appendUInt32(UInt32(bitPattern: label), to: &out) }
        }
        appendUInt32(crc32(of: out[...]), to: &out)
        return out
    }

    struct CacheDamage: Error { var reason: String }

    static func decode(_ bytes: [UInt8]) throws -> DecodedImageFolder {
        guard bytes.count >= magic.count + 12, Array(bytes[0..<magic.count]) == magic else {
            throw CacheDamage(reason: "not an stp image cache (wrong magic bytes or too short)")
        }
        let storedVersion = readUInt32(bytes, at: 8)
        guard storedVersion == version else {
            throw CacheDamage(reason: "written by another version of stp (cache format \(storedVersion), expected \(version))")
        }
        let checksum = readUInt32(bytes, at: bytes.count - 4)
        guard crc32(of: bytes[0..<(bytes.count - 4)]) == checksum else {
            throw CacheDamage(reason: "checksum mismatch (truncated or damaged)")
        }
        let headerLength = Int(readUInt32(bytes, at: 12))
        let headerEnd = 16 + headerLength
        guard headerEnd <= bytes.count - 4,
              let header = try? JSONDecoder().decode(Header.self, from: Data(bytes[16..<headerEnd])) else {
            throw CacheDamage(reason: "unreadable header")
        }
        let imageBytes = header.side * header.side * 3
        guard header.side > 0, header.trainCount >= 0, header.valCount >= -1 else {
            throw CacheDamage(reason: "impossible sizes in the header")
        }
        let counts = [header.trainCount] + (header.valCount >= 0 ? [header.valCount] : [])
        let expected = headerEnd + counts.reduce(0) { $0 + $1 * (imageBytes + 4) } + 4
        guard expected == bytes.count else {
            throw CacheDamage(reason: "\(bytes.count) bytes where the header implies \(expected)")
        }
        var offset = headerEnd
        var splits = [DecodedImages]()
        for count in counts {
            let pixels = Array(bytes[offset..<(offset + count * imageBytes)])
            offset += count * imageBytes
            var labels = [Int32]()
            labels.reserveCapacity(count)
            for i in 0..<count {
                let label = Int32(bitPattern: readUInt32(bytes, at: offset + i * 4))
                guard label >= 0 && Int(label) < header.classNames.count else {
                    throw CacheDamage(reason: "label \(label) outside the \(header.classNames.count) classes")
                }
                labels.append(label)
            }
            offset += count * 4
            splits.append(DecodedImages(pixels: pixels, labels: labels))
        }
        return DecodedImageFolder(fingerprint: header.fingerprint, side: header.side, classNames: header.classNames,
                                  train: splits[0], val: splits.count > 1 ? splits[1] : nil,
                                  unreadable: header.unreadable)
    }

    static func crc32(of bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            var crc = CZlibShim.crc32(0, nil, 0)
            var offset = 0
            while offset < buffer.count {
                let length = min(buffer.count - offset, 1 << 30)
                crc = CZlibShim.crc32(crc, buffer.baseAddress! + offset, UInt32(length))
                offset += length
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }

    private static func appendUInt32(_ value: UInt32, to out: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    private static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << UInt32(8 * $1) }
    }
}
