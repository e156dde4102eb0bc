// The help overlay (?): every binding of the key table, drawn over the panels.

enum HelpOverlay {
    static func draw(_ grid: inout CellGrid, _ area: Rect, _ c: RenderContext) {
        // Arrow keys are written as words where the terminal cannot show the arrows.
        let lines = KeyMap.helpLines.map { (key: KeyMap.label($0.key, unicode: c.glyphs.isUnicode), help: $0.help) }
        let keyWidth = (lines.map(\.key.count).max() ?? 4) + 2
        // One column when the screen is tall enough, else as many as the lines need: every key is
        // always listed, with its description shortened to the column.
        let perColumn = max(1, min(lines.count, area.height - 5))
        let columns = (lines.count + perColumn - 1) / perColumn
        let widest = keyWidth + (lines.map(\.help.count).max() ?? 40) + 2
        let width = min(area.width - 2, max(60, columns * widest + 2))
        let height = min(area.height, perColumn + 4)
        let rect = Rect(x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width: width, height: height)
        grid.fill(rect, with: Cell(" ", role: .mainFg, background: .mainBg))
        let inner = PanelFrame.draw(&grid, rect, pane: nil, title: "keys (any key closes)", focused: true, glyphs: c.glyphs)
        let columnWidth = inner.width / columns
        for (i, line) in lines.enumerated() {
            let x = inner.x + 1 + (i / perColumn) * columnWidth
            let y = inner.y + i % perColumn
            if line.key.isEmpty {   // a mode's heading
                grid.text(Format.fit(line.help, columnWidth - 2, ellipsis: c.glyphs.ellipsis), x: x, y: y, role: .budget,
                          attributes: [.bold], clip: inner)
                continue
            }
            grid.text(line.key, x: x, y: y, role: .hiFg, attributes: [.bold], clip: inner)
            grid.text(Format.fit(line.help, columnWidth - keyWidth - 2, ellipsis: c.glyphs.ellipsis), x: x + keyWidth, y: y,
                      role: .mainFg, clip: inner)
        }
        grid.text("themes: t cycles them; their keys are in docs/THEMES.md", x: inner.x + 1, y: inner.maxY - 1, role: .inactiveFg, clip: inner)
    }
}
