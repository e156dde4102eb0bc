// A minimal, thread-safe log-line writer: timestamped lines to stderr (through `Console`, so a
// progress bar is not disturbed) and optionally appended to a file such as <run dir>/log.txt.
// Each line reaches the file in one write(2) on an O_APPEND descriptor, so lines from several
// threads never interleave.

import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public final class Logger: Sendable {
    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case debug, info, warning, error
        public var name: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warning: "warning"
            case .error: "error"
            }
        }
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    /// Broken-down local time, so line formatting is a pure function.
    public struct Timestamp: Sendable, Equatable {
        public var year, month, day, hour, minute, second, millisecond: Int
        public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int) {
            self.year = year; self.month = month; self.day = day
            self.hour = hour; self.minute = minute; self.second = second; self.millisecond = millisecond
        }

        /// "2025-03-07 09:05:03.042".
        public var text: String {
            func pad(_ n: Int, _ w: Int) -> String {
                let s = String(n)
                return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
            }
            return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) "
                + "\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(millisecond, 3))"
        }

        /// Now, in local time (localtime_r is thread-safe).
        public static func now() -> Timestamp {
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            var seconds = ts.tv_sec
            var parts = tm()
            localtime_r(&seconds, &parts)
            return Timestamp(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1,
                             day: Int(parts.tm_mday), hour: Int(parts.tm_hour), minute: Int(parts.tm_min),
                             second: Int(parts.tm_sec), millisecond: Int(ts.tv_nsec / 1_000_000))
        }
    }

    /// "2025-03-07 09:05:03.042 [info] message". Multi-line messages keep their line breaks,
    /// with continuation lines indented to line up under the message.
    public static func format(_ level: Level, _ message: String, at time: Timestamp) -> String {
        let prefix = "\(time.text) [\(level.name)] "
        let indent = String(repeating: " ", count: prefix.count)
        return prefix + message.split(separator: "\n", omittingEmptySubsequences: false)
            .joined(separator: "\n" + indent)
    }

    public let minimumLevel: Level
    private let console: Console?
    private let fileDescriptor: Mutex<Int32>   // -1 when there is no file or it was closed
    public let filePath: String?

    /// - Parameters:
    ///   - filePath: a file to append to (created with mode 0644); nil for stderr only.
    ///   - console: where terminal output goes; nil for file only.
    /// - Throws: STPError(.io) when the file cannot be opened.
    public init(filePath: String? = nil, console: Console? = .standardError,
                minimumLevel: Level = .info) throws {
        self.minimumLevel = minimumLevel
        self.console = console
        self.filePath = filePath
        var fd: Int32 = -1
        if let filePath {
            fd = open(filePath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            if fd < 0 {
                throw STPError.file(.io, filePath, "cannot open log file: \(String(cString: strerror(errno)))")
            }
        }
        fileDescriptor = Mutex(fd)
    }

    /// A logger that also writes <runDirectory>/log.txt.
    public static func forRun(directory: String, console: Console? = .standardError,
                              minimumLevel: Level = .info) throws -> Logger {
        try Logger(filePath: directory.hasSuffix("/") ? directory + "log.txt" : directory + "/log.txt",
                   console: console, minimumLevel: minimumLevel)
    }

    deinit { close() }

    public func log(_ level: Level, _ message: String) {
        guard level >= minimumLevel else { return }
        let line = Logger.format(level, message, at: .now())
        console?.writeLine(line)
        fileDescriptor.withLock { fd in
            guard fd >= 0 else { return }
            let bytes = Array((line + "\n").utf8)
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if n < 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }

    public func debug(_ message: String) { log(.debug, message) }
    public func info(_ message: String) { log(.info, message) }
    public func warning(_ message: String) { log(.warning, message) }
    public func error(_ message: String) { log(.error, message) }

    /// Closes the file (stderr output continues). Safe to call more than once.
    public func close() {
        fileDescriptor.withLock { fd in
            if fd >= 0 { _ = Glibc.close(fd) }
            fd = -1
        }
    }
}
