// Decodes the bytes of one image file into 8-bit RGB: JPEG through libjpeg-turbo, PNG through
// libpng (both behind the C shims in Sources/CJPEG and Sources/CPNG, which keep the libraries
// from printing or exiting and turn their failures into messages).
//
// The format is recognised from the first bytes, not the file name, so a PNG saved as .jpg still
// loads. Anything else is an error whose message says what the file is when that is easy to tell
// (GIF, WebP, BMP, TIFF, HEIC, text), because "not an image" alone leaves the user guessing.
// Pixels are taken as stored: an EXIF orientation tag is not applied (as in torchvision's
// ImageFolder, which reads through Pillow the same way), nor is an ICC profile.

import CJPEG
import CPNG
#if canImport(Glibc)
import Glibc
#endif

/// An RGB image in malloc'd memory (width * height * 3 bytes, rows top to bottom), owned and
/// freed by this object: the decoders hand their buffers over without a copy.
final class RGBImage {
    let width: Int
    let height: Int
    let pixels: UnsafeMutablePointer<UInt8>

    /// Takes ownership of `pixels`, which must come from malloc.
    init(width: Int, height: Int, taking pixels: UnsafeMutablePointer<UInt8>) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A copy of `bytes` (width * height * 3 of them).
    convenience init(width: Int, height: Int, bytes: [UInt8]) {
        precondition(bytes.count == width * height * 3, "an RGB image needs width * height * 3 bytes")
        let memory = malloc(max(bytes.count, 1))!.assumingMemoryBound(to: UInt8.self)
        bytes.withUnsafeBufferPointer { memory.update(from: $0.baseAddress!, count: bytes.count) }
        self.init(width: width, height: height, taking: memory)
    }

    deinit { free(pixels) }

    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: pixels, count: width * height * 3)) }
}

enum ImageDecoder {
    /// Images above this many pixels (after JPEG's scaled decoding) are refused rather than
    /// allocated: 3 bytes each, per decoding thread. 100 megapixels is above any camera's.
    static let maximumPixels = 100_000_000

    enum Format: Equatable { case jpeg, png }

    static func format(of bytes: [UInt8]) -> Format? {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        return nil
    }

    /// Decodes `bytes`, read from `path` (named in the error). `minimumShorterSide` lets a JPEG
    /// be decoded at a reduced scale whose shorter side is still at least that long (0: full size).
    static func decode(_ bytes: [UInt8], path: String, minimumShorterSide: Int = 0) throws -> RGBImage {
        guard !bytes.isEmpty else {
            throw STPError.file(.data, path, "is empty; expected a JPEG or PNG image")
        }
        guard let format = format(of: bytes) else {
            throw STPError.file(.data, path, "is \(describeUnsupported(bytes)); expected a JPEG or PNG image")
        }
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status: Int32 = bytes.withUnsafeBufferPointer { data in
            message.withUnsafeMutableBufferPointer { text in
                switch format {
                case .jpeg:
                    stp_jpeg_decode(data.baseAddress, data.count, Int32(minimumShorterSide), maximumPixels,
                                    &pixels, &width, &height, text.baseAddress, text.count)
                case .png:
                    stp_png_decode(data.baseAddress, data.count, maximumPixels,
                                   &pixels, &width, &height, text.baseAddress, text.count)
                }
            }
        }
        let name = format == .jpeg ? "JPEG" : "PNG"
        guard status == 0, let pixels else {
            let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if status == Int32(format == .jpeg ? STP_JPEG_TOO_LARGE : STP_PNG_TOO_LARGE) {
                throw STPError.file(.data, path, "this \(name) image \(reason)")
            }
            throw STPError.file(.data, path, "is not a readable \(name) image (\(reason.isEmpty ? "unknown error" : reason)); "
                                + "the file is damaged or truncated")
        }
        return RGBImage(width: Int(width), height: Int(height), taking: pixels)
    }

    /// What a file that is neither JPEG nor PNG looks like, for the error message.
    static func describeUnsupported(_ bytes: [UInt8]) -> String {
        func ascii(_ range: Range<Int>) -> String {
            guard bytes.count >= range.upperBound else { return "" }
            return String(decoding: bytes[range], as: UTF8.self)
        }
        if ascii(0..<4) == "GIF8" { return "a GIF image, which stp does not read" }
        if ascii(0..<4) == "RIFF" && ascii(8..<12) == "WEBP" { return "a WebP image, which stp does not read" }
        if ascii(0..<2) == "BM" { return "a BMP image, which stp does not read" }
        if bytes.starts(with: [0x49, 0x49, 0x2A, 0x00]) || bytes.starts(with: [0x4D, 0x4D, 0x00, 0x2A]) {
            return "a TIFF image, which stp does not read"
        }
        if ascii(4..<8) == "ftyp" && ["heic", "heix", "mif1", "avif"].contains(ascii(8..<12)) {
            return "a HEIF/AVIF image, which stp does not read"
        }
        let head = bytes.prefix(8)
        if head.allSatisfy({ $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || (0x20..<0x7F).contains($0) }) {
            return "text, not an image"
        }
        return "not an image (it starts with bytes " + head.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: " ") + ")"
    }
}
