// One writer for stderr that knows about the redrawn progress line.
//
// A progress bar on a terminal keeps one line that it redraws with "\r"; a log message written
// in the middle of it would be glued onto the bar. Everything that writes to stderr while a bar
// may be active (ProgressBar, Logger) goes through `Console.standardError`, which erases the
// status line, writes the message, and draws the status line again below it.

import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public final class Console: Sendable {
    public static let standardError = Console(fileDescriptor: 2)
    /// Machine-readable output (JSON lines); never carries a status line.
    public static let standardOutput = Console(fileDescriptor: 1)

    public let fileDescriptor: Int32
    /// Whether the descriptor is a terminal (status lines are redrawn only then).
    public let isTerminal: Bool
    private let statusLine = Mutex<String?>(nil)

    /// "Erase from the cursor to the end of the line".
    static let eraseToEndOfLine = "\u{1B}[K"

    public init(fileDescriptor: Int32, isTerminal: Bool? = nil) {
        self.fileDescriptor = fileDescriptor
        self.isTerminal = isTerminal ?? (isatty(fileDescriptor) == 1)
    }

    /// Set on the ranks of an mpirun job other than rank 0 (Distributed.start): they print
    /// nothing but errors, so a job's output is rank 0's.
    private static let muted = Atomic<Bool>(false)
    public static func mute() { muted.store(true, ordering: .relaxed) }
    public static var isMuted: Bool { muted.load(ordering: .relaxed) }

    /// Writes a complete line (a newline is appended), keeping any status line below it.
    /// `evenWhenMuted`: errors, which every rank of a job must be able to report.
    public func writeLine(_ line: String, evenWhenMuted: Bool = false) {
        if Console.isMuted && !evenWhenMuted { return }
        statusLine.withLock { status in
            var text = ""
            if status != nil { text += "\r" + Console.eraseToEndOfLine }
            text += line + "\n"
            if let status { text += status }
            writeAll(text)
        }
    }

    /// Replaces the status line (terminal only; ignored otherwise).
    public func setStatusLine(_ line: String) {
        guard isTerminal, !Console.isMuted else { return }
        statusLine.withLock { status in
            status = line
            writeAll("\r" + line + Console.eraseToEndOfLine)
        }
    }

    /// Ends the status line: with `keep` it stays on screen (a newline follows), else it is erased.
    public func endStatusLine(keep: Bool) {
        statusLine.withLock { status in
            guard status != nil else { return }
            writeAll(keep ? "\n" : "\r" + Console.eraseToEndOfLine)
            status = nil
        }
    }

    public var hasStatusLine: Bool { statusLine.withLock { $0 != nil } }

    /// Width of the terminal: TIOCGWINSZ, else $COLUMNS, else 80.
    public var columns: Int {
        var size = winsize()
        let ok = ioctl(fileDescriptor, UInt(TIOCGWINSZ), &size) == 0
        return Console.columns(ioctlColumns: ok ? Int(size.ws_col) : nil,
                               environment: BLASRuntime.currentEnvironment())
    }

    /// The width decision as a pure function: the ioctl answer when positive, else a positive
    /// COLUMNS, else 80.
    public static func columns(ioctlColumns: Int?, environment: [String: String]) -> Int {
        if let c = ioctlColumns, c > 0 { return c }
        if let text = environment["COLUMNS"], let c = Int(text.trimmingBlanks()), c > 0 { return c }
        return 80
    }

    /// Whether the locale encodes UTF-8: the first non-empty of LC_ALL, LC_CTYPE, LANG names
    /// UTF-8 ("en_US.UTF-8", "C.utf8"). An unset or "C"/"POSIX" locale means ASCII.
    public static func localeIsUTF8(environment: [String: String]) -> Bool {
        for name in ["LC_ALL", "LC_CTYPE", "LANG"] {
            if let value = environment[name], !value.isEmpty {
                let lower = value.lowercased()
                return lower.contains("utf-8") || lower.contains("utf8")
            }
        }
        return false
    }

    private func writeAll(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buffer in
                write(fileDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return   // nowhere to report a failing stderr
            }
            offset += n
        }
    }
}
