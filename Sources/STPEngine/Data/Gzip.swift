// gzip / zlib decompression over the system zlib (for MNIST .gz files and the CIFAR .tar.gz
// archives), plus gzip compression for writing test fixtures and caches.

import CZlibShim

public enum Gzip {
    /// True when `bytes` starts with the gzip magic number 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// Inflates gzip (or zlib) data; windowBits 15+32 lets zlib detect the header. Concatenated
    /// gzip members (as written by `cat a.gz b.gz`) are all decoded. `path` names the file in
    /// errors, and the offset is the compressed byte where decoding failed. Output beyond
    /// `limit` bytes is refused, so a small file cannot inflate into all of memory (the largest
    /// data set file stp reads this way, CIFAR-100's archive, inflates to about 180 MB).
    public static let defaultLimit = 1 << 30
    public static func decompress(_ input: [UInt8], path: String, limit: Int = defaultLimit) throws -> [UInt8] {
        if input.isEmpty {
            throw STPError.file(.data, path, offset: 0, "empty file; expected gzip data (magic 1f 8b)")
        }
        let zlibHeader = input.count >= 2 && input[0] & 0x0F == 8 && (Int(input[0]) << 8 | Int(input[1])) % 31 == 0
        if !isGzip(input) && !zlibHeader {
            let first = input.prefix(2).map { String($0, radix: 16) }.joined(separator: " ")
            throw STPError.file(.data, path, offset: 0, "not gzip data: expected magic 1f 8b, found \(first)")
        }
        var output = [UInt8]()
        output.reserveCapacity(max(input.count * 4, 1 << 16))
        var stream = z_stream()
        guard stp_inflate_init2(&stream, 15 + 32) == Z_OK else {
            throw STPError(.data, "\(path): zlib could not initialise an inflate stream")
        }
        defer { inflateEnd(&stream) }
        let chunk = 1 << 18
        var scratch = [UInt8](repeating: 0, count: chunk)
        var consumed = 0  // input bytes consumed by finished members
        try input.withUnsafeBufferPointer { inBuf in
            var memberStart = 0
            while true {
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress! + memberStart)
                stream.avail_in = UInt32(inBuf.count - memberStart)
                var status: Int32 = Z_OK
                repeat {
                    let produced: Int = scratch.withUnsafeMutableBufferPointer { sb in
                        stream.next_out = sb.baseAddress
                        stream.avail_out = UInt32(chunk)
                        status = inflate(&stream, Z_NO_FLUSH)
                        return chunk - Int(stream.avail_out)
                    }
                    if status != Z_OK && status != Z_STREAM_END {
                        let at = memberStart + (inBuf.count - memberStart - Int(stream.avail_in))
                        let reason: String
                        if status == Z_BUF_ERROR {
                            reason = "gzip data ends early (truncated file)"
                        } else if let msg = stream.msg {
                            reason = "corrupt gzip data (\(String(cString: msg)))"
                        } else {
                            reason = "corrupt gzip data (zlib status \(status))"
                        }
                        throw STPError.file(.data, path, offset: at, reason)
                    }
                    guard output.count + produced <= limit else {
                        let at = memberStart + (inBuf.count - memberStart - Int(stream.avail_in))
                        throw STPError.file(.data, path, offset: at, "inflates to more than \(limit) bytes, the limit for a data set file; not a data set")
                    }
                    output.append(contentsOf: scratch[0..<produced])
                    if status == Z_OK && stream.avail_in == 0 && produced < chunk {
                        // Input exhausted without reaching the end of the stream.
                        throw STPError.file(.data, path, offset: inBuf.count,
                                            "gzip data ends early (truncated file)")
                    }
                } while status != Z_STREAM_END
                consumed = inBuf.count - Int(stream.avail_in)
                // Another gzip member follows? Decode it too; ignore trailing zero padding.
                if consumed + 1 < inBuf.count && inBuf[consumed] == 0x1F && inBuf[consumed + 1] == 0x8B {
                    inflateReset(&stream)
                    memberStart = consumed
                    continue
                }
                if inBuf[consumed...].contains(where: { $0 != 0 }) {
                    throw STPError.file(.data, path, offset: consumed,
                                        "unexpected bytes after the end of the gzip stream")
                }
                break
            }
        }
        return output
    }

    /// Compresses `input` as a single gzip member (deflateInit2 with windowBits 15+16).
    public static func compress(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        let status = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                   stp_zlib_version(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "zlib deflateInit2 failed with status \(status)")
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        let written: Int = input.withUnsafeBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
                stream.avail_in = UInt32(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = UInt32(outBuf.count)
                let r = deflate(&stream, Z_FINISH)
                precondition(r == Z_STREAM_END, "deflateBound gave too small a buffer")
                return outBuf.count - Int(stream.avail_out)
            }
        }
        output.removeSubrange(written...)
        return output
    }
}
