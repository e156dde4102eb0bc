import STPMethod

// The bottom line: key hints from the key table, or the prompt of the current mode (budget
// entry, filter, quit confirmation).

enum StatusBar {
    static func draw(_ grid: inout CellGrid, _ rect: Rect, _ c: RenderContext) {
        guard !rect.isEmpty else { return }
        grid.fill(rect, with: Cell(" ", role: .statusFg, background: .statusBg))
        var x = rect.x
        func put(_ text: String, _ role: ThemeKey, _ attributes: CellAttributes = []) {
            x = grid.text(text, x: x, y: rect.y, role: role, background: .statusBg, attributes: attributes, clip: rect)
        }
        switch c.state.mode {
        case .budgetEntry(let text):
            put("budget> ", .budget, [.bold])
            put(text, .statusFg, [.bold])
            put(c.glyphs.isUnicode ? "▏" : "_", .hiFg)
            put("  Enter apply  Esc cancel  e.g. \(Budget.forms)", .statusFg)
        case .filterEntry(let text):
            put("filter> ", .hiFg, [.bold])
            put(text, .statusFg, [.bold])
            put(c.glyphs.isUnicode ? "▏" : "_", .hiFg)
            put("  Enter keep  Esc clear", .statusFg)
        case .confirmQuit:
            put("quit? ", .warning, [.bold])
            put((c.snapshot.unsavedWork ?? "") + ".  ", .statusFg)
            put("y", .hiFg, [.bold])
            put(" save and quit  ", .statusFg)
            put("n", .hiFg, [.bold])
            put(" stay", .statusFg)
        case .detail:
            put("detail  ", .hiFg, [.bold])
            put("j/k compare with another candidate  e export  Esc back", .statusFg)
        case .normal, .help:
            for (key, label) in KeyMap.statusHints {
                put(key, .hiFg, [.bold])
                put(" " + label + "  ", .statusFg)
            }
            // A message (the theme just chosen, a theme file's error) goes at the right end,
            // over the last hints if the line is full.
            if let message = c.state.message, !message.isEmpty {
                let text = " " + Format.fit(message, rect.width - 1, ellipsis: c.glyphs.ellipsis)
                grid.text(text, x: rect.maxX - text.count, y: rect.y, role: .warning, background: .statusBg, clip: rect)
            }
        }
    }
}
