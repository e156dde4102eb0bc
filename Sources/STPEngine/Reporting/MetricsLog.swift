// metrics.jsonl: one JSON object per line, keys sorted, appended as training goes. Each line is
// handed to the kernel with a single unbuffered write(2) as soon as it is appended, so a tail -f
// or the live explorer sees it at once and a killed process loses at most the line being written.
//
// The reader accepts exactly that failure: a last line with no newline that does not parse is
// dropped and reported in `droppedPartialLine`. Any other bad line is corruption and an error
// naming the file and the line number. Opening a log to append first cuts such a partial line,
// so that a resumed run does not glue its first line onto it.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class MetricsLog {
    public let path: String
    private var fd: Int32
    private let encoder: JSONEncoder

    /// Opens `path` for appending (creating it). A partial last line left by a killed run is cut
    /// off; `truncate` empties the file instead.
    public init(path: String, truncate: Bool = false) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0o644)
        guard fd >= 0 else {
            throw STPError.file(.io, path, "cannot open the metrics log: \(AtomicFile.errnoText())")
        }
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: RunRecord.nonFinite.positive, negativeInfinity: RunRecord.nonFinite.negative,
            nan: RunRecord.nonFinite.nan)
        do {
            try cutPartialLine()
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    deinit { close() }

    private struct EpochProbe: Decodable { var epoch: Int? }

    /// The bytes of the metrics log at `path`, a regular file (RegularFile: never a pipe or device).
    public static func read(_ path: String) throws -> [UInt8] {
        try RegularFile.read(path, kind: .io, what: "a metrics log (metrics.jsonl, one JSON object per line)")
    }

    /// Removes the lines of epochs after `epochs` (a line whose "epoch" is larger), rewriting the
    /// file atomically when there are any. A run killed after logging an epoch but before its
    /// checkpoint was saved logged lines that its resumed run logs again when it redoes that
    /// epoch; the trainer calls this on resuming so that each epoch is logged once.
    public static func dropEpochs(after epochs: Int, path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let data = Data(try MetricsLog.read(path))
        guard !data.isEmpty else { return }
        let decoder = JSONDecoder()
        var kept = Data(), dropped = false
        for line in data.split(separator: 0x0a, omittingEmptySubsequences: false) {
            if let epoch = (try? decoder.decode(EpochProbe.self, from: Data(line)))?.epoch, epoch > epochs {
                dropped = true
                continue
            }
            kept.append(contentsOf: line)
            kept.append(0x0a)
        }
        guard dropped else { return }
        if data.last != 0x0a { kept.removeLast() }  // keep a partial last line as it was (init cuts it)
        try AtomicFile.write(kept, to: path)
    }

    public func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// Appends one JSON object (any Encodable that encodes as an object) as a line.
    public func append<T: Encodable>(_ value: T) throws {
        guard fd >= 0 else { throw STPError.file(.io, path, "cannot append: the metrics log is closed") }
        var line: Data
        do {
            line = try encoder.encode(value)
        } catch {
            throw STPError.file(.io, path, "cannot encode a metrics line: \(error)")
        }
        guard line.first == UInt8(ascii: "{") else {
            throw STPError.file(.io, path, "expected each metrics line to be a JSON object, got \(String(decoding: line.prefix(40), as: UTF8.self))")
        }
        line.append(0x0a)
        try line.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw STPError.file(.io, path, "cannot append a metrics line: \(AtomicFile.errnoText())")
                }
                done += n
            }
        }
    }

    /// Forces appended lines to disk (the kernel already has them).
    public func sync() throws {
        guard fd >= 0, fsync(fd) == 0 else {
            throw STPError.file(.io, path, "cannot flush the metrics log: \(AtomicFile.errnoText())")
        }
    }

    private func cutPartialLine() throws {
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return }
        // Scan back from the end, a block at a time, for the last newline.
        var end = Int(size)
        var keep = 0
        var block = [UInt8](repeating: 0, count: 4096)
        scan: while end > 0 {
            let start = max(0, end - block.count)
            let n = pread(fd, &block, end - start, off_t(start))
            guard n == end - start else {
                throw STPError.file(.io, path, offset: start, "cannot read the metrics log: \(AtomicFile.errnoText())")
            }
            for i in stride(from: n - 1, through: 0, by: -1) where block[i] == 0x0a {
                keep = start + i + 1
                break scan
            }
            end = start
        }
        if keep < Int(size) && ftruncate(fd, off_t(keep)) != 0 {
            throw STPError.file(.io, path, offset: keep, "cannot cut the partial last line: \(AtomicFile.errnoText())")
        }
    }

    // MARK: Reading

    public struct Contents<Record> {
        public var records: [Record]
        /// True when the last line was incomplete (the run was killed while writing it) and skipped.
        public var droppedPartialLine: Bool
    }

    /// Reads every line as a `T`. Blank lines are skipped.
    public static func read<T: Decodable>(_ type: T.Type, path: String) throws -> Contents<T> {
        let bytes = try MetricsLog.read(path)
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: RunRecord.nonFinite.positive, negativeInfinity: RunRecord.nonFinite.negative,
            nan: RunRecord.nonFinite.nan)

        var records = [T]()
        var dropped = false
        var lineStart = 0
        var lineNumber = 0
        while lineStart < bytes.count {
            lineNumber += 1
            let newline = bytes[lineStart...].firstIndex(of: 0x0a)
            let lineEnd = newline ?? bytes.count
            let line = bytes[lineStart..<lineEnd]
            defer { lineStart = lineEnd + 1 }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0d }) { continue }
            do {
                records.append(try decoder.decode(T.self, from: Data(line)))
            } catch {
                var parser = HeaderJSONParser(bytes: bytes, range: lineStart..<lineEnd)
                let syntax: HeaderJSONParser.Failure?
                do { _ = try parser.parseDocument(); syntax = nil } catch let f as HeaderJSONParser.Failure { syntax = f }
                if newline == nil && syntax != nil {
                    // The last line, cut short by a killed run.
                    dropped = true
                    break
                }
                if let syntax {
                    throw STPError.file(.io, path, offset: syntax.offset, line: lineNumber,
                                        "corrupt metrics line, not valid JSON: \(syntax.what)")
                }
                throw STPError.file(.io, path, offset: lineStart, line: lineNumber,
                                    "corrupt metrics line: \(RunRecord.describe(error))")
            }
        }
        return Contents(records: records, droppedPartialLine: dropped)
    }
}
