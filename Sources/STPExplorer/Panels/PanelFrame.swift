// The border and title of a panel: "┌ 3 accuracy vs FLOPs ────┐". The digit is the key that
// hides the pane; the focused panel's border takes the focus role.

enum PanelFrame {
    /// Draws the frame and returns the inside.
    @discardableResult
    static func draw(_ grid: inout CellGrid, _ rect: Rect, pane: Pane?, title: String? = nil, focused: Bool,
                     glyphs: GlyphSet) -> Rect {
        guard rect.width >= 2, rect.height >= 2 else { return Rect(x: rect.x, y: rect.y, width: 0, height: 0) }
        let role: ThemeKey = focused ? .focusLine : .divLine
        let g = glyphs
        for x in (rect.x + 1)..<(rect.maxX - 1) {
            grid.put(Cell(g.horizontal, role: role), x: x, y: rect.y)
            grid.put(Cell(g.horizontal, role: role), x: x, y: rect.maxY - 1)
        }
        for y in (rect.y + 1)..<(rect.maxY - 1) {
            grid.put(Cell(g.vertical, role: role), x: rect.x, y: y)
            grid.put(Cell(g.vertical, role: role), x: rect.maxX - 1, y: y)
        }
        grid.put(Cell(g.topLeft, role: role), x: rect.x, y: rect.y)
        grid.put(Cell(g.topRight, role: role), x: rect.maxX - 1, y: rect.y)
        grid.put(Cell(g.bottomLeft, role: role), x: rect.x, y: rect.maxY - 1)
        grid.put(Cell(g.bottomRight, role: role), x: rect.maxX - 1, y: rect.maxY - 1)
        let room = rect.width - 4
        if room > 4 {
            var x = rect.x + 1
            if let pane { x = grid.text(" \(pane.rawValue)", x: x, y: rect.y, role: .hiFg, attributes: [.bold], maxWidth: room) }
            let name = title ?? pane?.title ?? ""
            x = grid.text(" " + Format.fit(name, rect.maxX - 4 - x, ellipsis: g.ellipsis) + " ", x: x, y: rect.y,
                          role: .title, attributes: focused ? [.bold] : [], maxWidth: rect.maxX - 2 - x)
        }
        return rect.inset(1)
    }
}
