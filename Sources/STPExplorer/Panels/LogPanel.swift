import Foundation

// Events: search finished, new best, checkpoints, exports, errors (bad budgets too), newest at
// the bottom; each line coloured by its level.

enum LogPanel {
    static func role(_ level: LogEntry.Level) -> ThemeKey {
        switch level {
        case .info: return .mainFg
        case .good: return .good
        case .warning: return .warning
        case .error: return .error
        }
    }

    static func line(_ e: LogEntry) -> String { Format.padLeft(Format.duration(e.time), 6) + "  " + e.text }

    /// An entry as lines of at most `width` characters; continuation lines are indented under
    /// the text, so that a long error (a bad budget's possible range) is readable whole.
    static func wrapped(_ e: LogEntry, width: Int) -> [String] {
        let indent = String(repeating: " ", count: 8)
        var lines = [String]()
        var current = ""
        for word in line(e).split(separator: " ", omittingEmptySubsequences: false) {
            let candidate = current.isEmpty ? String(word) : current + " " + word
            if candidate.count > width && !current.trimmingCharacters(in: .whitespaces).isEmpty {
                lines.append(current)
                current = indent + word
            } else {
                current = candidate
            }
        }
        lines.append(current)
        return lines.map { String($0.prefix(width)) }
    }

    static func draw(_ grid: inout CellGrid, _ rect: Rect, _ c: RenderContext) {
        guard !rect.isEmpty else { return }
        let log = c.snapshot.log
        let back = c.state.focus == .log ? min(c.state.logScroll, max(0, log.count - 1)) : 0
        let end = log.count - back
        // Newest last: wrap entries from the end until the pane is full.
        var rows = [(String, ThemeKey)]()
        for entry in log[0..<max(0, end)].reversed() {
            let lines = wrapped(entry, width: rect.width).map { ($0, role(entry.level)) }
            rows.insert(contentsOf: lines, at: 0)
            if rows.count >= rect.height { break }
        }
        for (i, (text, role)) in rows.suffix(rect.height).enumerated() {
            grid.text(text, x: rect.x, y: rect.y + i, role: role, clip: rect)
        }
    }

    /// The one-line form shown above the status bar when the log pane is hidden.
    static func drawLatest(_ grid: inout CellGrid, _ rect: Rect, _ c: RenderContext) {
        guard let last = c.snapshot.log.last, !rect.isEmpty else { return }
        grid.text(Format.fit(line(last), rect.width, ellipsis: c.glyphs.ellipsis), x: rect.x, y: rect.y, role: role(last.level), clip: rect)
    }
}
