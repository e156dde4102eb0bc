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

    static func draw(_ grid: inout CellGrid, _ rect: Rect, _ c: RenderContext) {
        guard !rect.isEmpty else { return }
        let log = c.snapshot.log
        let back = c.state.focus == .log ? min(c.state.logScroll, max(0, log.count - 1)) : 0
        let end = log.count - back
        let shown = log[max(0, end - rect.height)..<max(0, end)]
        for (i, entry) in shown.enumerated() {
            grid.text(Format.fit(line(entry), rect.width, ellipsis: c.glyphs.ellipsis), x: rect.x, y: rect.y + i,
                      role: role(entry.level), clip: rect)
        }
    }

    /// The one-line form shown above the status bar when the log pane is hidden.
    static func drawLatest(_ grid: inout CellGrid, _ rect: Rect, _ c: RenderContext) {
        guard let last = c.snapshot.log.last, !rect.isEmpty else { return }
        grid.text(Format.fit(line(last), rect.width, ellipsis: c.glyphs.ellipsis), x: rect.x, y: rect.y, role: role(last.level), clip: rect)
    }
}
