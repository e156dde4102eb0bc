// The help overlay (?): every binding of the key table, drawn over the panels.

enum HelpOverlay {
    static func draw(_ grid: inout CellGrid, _ area: Rect, _ c: RenderContext) {
        // Arrow keys are written as words where the terminal cannot show the arrows.
        let lines = KeyMap.helpLines.map { line in
            c.glyphs.isUnicode ? line : (key: line.key.replacingOccurrences(of: "↓", with: "Down").replacingOccurrences(of: "↑", with: "Up"),
                                         help: line.help)
        }
        let keyWidth = (lines.map(\.key.count).max() ?? 4) + 2
        let width = min(area.width - 2, max(60, keyWidth + (lines.map(\.help.count).max() ?? 40) + 4))
        let height = min(area.height, lines.count + 4)
        let rect = Rect(x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width: width, height: height)
        grid.fill(rect, with: Cell(" ", role: .mainFg, background: .mainBg))
        let inner = PanelFrame.draw(&grid, rect, pane: nil, title: "keys (any key closes)", focused: true, glyphs: c.glyphs)
        for (i, line) in lines.enumerated() where i < inner.height - 1 {
            let y = inner.y + i
            grid.text(line.key, x: inner.x + 1, y: y, role: .hiFg, attributes: [.bold], clip: inner)
            grid.text(Format.fit(line.help, inner.width - keyWidth - 2, ellipsis: c.glyphs.ellipsis), x: inner.x + 1 + keyWidth, y: y,
                      role: .mainFg, clip: inner)
        }
        grid.text("themes: t cycles them; their keys are in docs/THEMES.md", x: inner.x + 1, y: inner.maxY - 1, role: .inactiveFg, clip: inner)
    }
}
