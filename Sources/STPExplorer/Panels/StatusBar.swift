import STPMethod

// The bottom line: the current mode's key hints from the key table, after the prompt of the
// mode (budget entry, filter, quit confirmation, detail view).

enum StatusBar {
    static func draw(_ grid: inout CellGrid, _ rect: Rect, _ c: RenderContext) {
        guard !rect.isEmpty else { return }
        grid.fill(rect, with: Cell(" ", role: .statusFg, background: .statusBg))
        var x = rect.x
        func put(_ text: String, _ role: ThemeKey, _ attributes: CellAttributes = []) {
            x = grid.text(text, x: x, y: rect.y, role: role, background: .statusBg, attributes: attributes, clip: rect)
        }
        func hints(_ mode: KeyMode) {
            for (key, label) in KeyMap.statusHints(in: mode) {
                put(KeyMap.label(key, unicode: c.glyphs.isUnicode), .hiFg, [.bold])
                put(" " + label + "  ", .statusFg)
            }
        }
        switch c.state.mode {
        case .budgetEntry(let text):
            put("budget> ", .budget, [.bold])
            put(text, .statusFg, [.bold])
            put(c.glyphs.isUnicode ? "▏" : "_", .hiFg)
            put("  ", .statusFg)
            hints(.budgetPrompt)
            put("e.g. \(Budget.forms)", .statusFg)
        case .filterEntry(let text):
            put("filter> ", .hiFg, [.bold])
            put(text, .statusFg, [.bold])
            put(c.glyphs.isUnicode ? "▏" : "_", .hiFg)
            put("  ", .statusFg)
            hints(.filterPrompt)
        case .confirmQuit:
            put("quit? ", .warning, [.bold])
            put((c.snapshot.unsavedWork ?? "") + ".  ", .statusFg)
            hints(.confirmQuit)
        case .detail:
            put("detail  ", .hiFg, [.bold])
            hints(.detail)
        case .compare:
            put("compare \(c.state.marked.count) marked  ", .hiFg, [.bold])
            hints(.compare)
        case .normal, .help:
            hints(.normal)
            // A message (the theme just chosen, a theme file's error) goes at the right end,
            // over the last hints if the line is full.
            if let message = c.state.message, !message.isEmpty {
                let text = " " + Format.fit(message, rect.width - 1, ellipsis: c.glyphs.ellipsis)
                grid.text(text, x: rect.maxX - text.count, y: rect.y, role: .warning, background: .statusBg, clip: rect)
            }
        }
    }
}
