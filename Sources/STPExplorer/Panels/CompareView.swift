import STPEngine
import STPMethod

// The compare view (c): the marked candidates side by side, one column each, in the order they
// were marked: MACs, parameters, KD fitness and held-out top-1, then every block's kept inner
// width ("-" where the block is dropped). Rows where the candidates differ are highlighted. As
// many columns as the screen holds; the title says when some do not fit.

enum CompareView {
    static let labelWidth = 10
    static let columnWidth = 11

    static func draw(_ grid: inout CellGrid, _ area: Rect, _ c: RenderContext) {
        grid.fill(area, with: Cell(" ", role: .mainFg, background: .mainBg))
        let s = c.snapshot
        guard let spec = s.spec else { return }
        let fits = max(1, (area.width - 2 - labelWidth) / columnWidth)
        let shown = Array(c.state.marked.prefix(fits))
        let title = "compare \(c.state.marked.count) marked" + (shown.count < c.state.marked.count ? " (\(shown.count) fit)" : "")
        let inner = PanelFrame.draw(&grid, area, pane: nil, title: title, focused: true, glyphs: c.glyphs)
        let cost = CostModel(spec: spec)
        let candidates = shown.map { a in s.candidates.first { $0.architecture == a } }
        var y = inner.y
        func row(_ label: String, _ values: [String], role: ThemeKey = .mainFg, attributes: CellAttributes = []) {
            guard y < inner.maxY else { return }
            let differs = Set(values).count > 1
            var line = Format.padRight(label, labelWidth)
            for v in values { line += Format.padLeft(v, columnWidth) }
            grid.text(line, x: inner.x, y: y, role: differs && role == .mainFg ? .warning : role, attributes: attributes, clip: inner)
            y += 1
        }
        row("", shown.indices.map { "#\($0 + 1)" }, role: .highlight, attributes: [.bold])
        row("MACs", shown.map { Format.macs(cost.cost(of: $0).macs) })
        row("params", shown.map { Format.macs(cost.cost(of: $0).parameters) })
        row("KD fit", candidates.map { $0.map { Format.number($0.fitness, digits: 4) } ?? "-" })
        row("top-1", candidates.map { $0.map { Format.percent($0.accuracy) } ?? "-" })
        row("depth", shown.map { $0.depths.map(String.init).joined(separator: ",") })
        var blockIndex = 0
        for (stage, n) in spec.blocksPerStage.enumerated() {
            for i in 0..<n {
                let full = spec.innerWidths[blockIndex]
                blockIndex += 1
                row("s\(stage + 1) b\(i + 1) /\(full)", shown.map { i < $0.depths[stage] ? String($0.widths[stage][i]) : "-" })
            }
        }
        // Each column's architecture text under the table, numbered as the columns.
        for (k, a) in shown.enumerated() where y < inner.maxY {
            grid.text(Format.fit("#\(k + 1) \(a.text)", inner.width, ellipsis: c.glyphs.ellipsis), x: inner.x, y: y, role: .inactiveFg, clip: inner)
            y += 1
        }
    }
}
