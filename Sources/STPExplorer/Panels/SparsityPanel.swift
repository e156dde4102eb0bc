import STPMethod

// Relative sparsity (METHOD.md section 4) of the reference architecture: one bar per inner layer
// of the kept/dropped mean |w| ratio (scaled to the largest ratio shown), the ratio and the
// absolute mean |w| of the dropped filters; above them the geometric means and a sparkline of
// the mean ratio over the session.

enum SparsityPanel {
    /// "blocks.3.conv1" -> "b3.conv1": layer names short enough for a column.
    static func shortName(_ name: String) -> String {
        name.replacingOccurrences(of: "blocks.", with: "b")
    }

    static func draw(_ grid: inout CellGrid, _ rect: Rect, _ c: RenderContext) {
        guard !rect.isEmpty else { return }
        guard let view = c.snapshot.sparsity else {
            grid.text("measured once training has begun", x: rect.x, y: rect.y, role: .inactiveFg, clip: rect)
            return
        }
        let g = c.glyphs
        let r = view.report
        var y = rect.y
        var x = grid.text("kept/dropped |w| ", x: rect.x, y: y, role: .inactiveFg, clip: rect)
        x = grid.text(Format.number(r.meanWeightRatio), x: x, y: y, role: .sparsityBar, attributes: [.bold], clip: rect)
        x = grid.text("  |gamma| ", x: x, y: y, role: .inactiveFg, clip: rect)
        x = grid.text(Format.number(r.meanGammaRatio), x: x, y: y, role: .mainFg, clip: rect)
        x = grid.text("  dropped |w| ", x: x, y: y, role: .inactiveFg, clip: rect)
        grid.text(Format.number(r.meanDroppedMagnitude, digits: 4), x: x, y: y, role: .mainFg, clip: rect)
        y += 1
        if y < rect.maxY, !view.ratioHistory.isEmpty {
            let label = "history "
            let room = rect.width - label.count - 14
            var hx = grid.text(label, x: rect.x, y: y, role: .inactiveFg, clip: rect)
            let history = Array(view.ratioHistory.suffix(max(room, 0)))
            let lo = history.min() ?? 0, hi = history.max() ?? 1
            for v in history {
                grid.put(Cell(g.sparkGlyph(hi > lo ? (v - lo) / (hi - lo) : 0.5), role: .sparkline), x: hx, y: y, clip: rect)
                hx += 1
            }
            grid.text(" \(Format.number(lo, digits: 2))..\(Format.number(hi, digits: 2))", x: hx, y: y, role: .graphText, clip: rect)
            y += 1
        }
        let layers = r.layers
        let ratios = layers.compactMap(\.weightRatio)
        let top = max(ratios.max() ?? 1, 1e-9)
        let nameWidth = min(12, max(6, layers.map { shortName($0.name).count }.max() ?? 6))
        let fixed = nameWidth + 1 + 6 + 1 + 6 + 1 + 8
        let barWidth = max(4, rect.width - fixed)
        let offset = c.state.focus == .sparsity ? min(c.state.sparsityScroll, max(0, layers.count - 1)) : 0
        for layer in layers.dropFirst(offset) {
            guard y < rect.maxY else { break }
            var lx = grid.text(Format.padRight(shortName(layer.name), nameWidth), x: rect.x, y: y, role: .mainFg, clip: rect) + 1
            lx = grid.text(Format.padLeft("\(layer.keptFilters)/\(layer.totalFilters)", 6), x: lx, y: y, role: .inactiveFg, clip: rect) + 1
            if let ratio = layer.weightRatio {
                grid.text(g.bar(fraction: ratio / top, width: barWidth), x: lx, y: y, role: .sparsityBar, clip: rect)
                lx += barWidth + 1
                lx = grid.text(Format.padLeft(Format.number(ratio, digits: 2), 6), x: lx, y: y, role: .mainFg, clip: rect) + 1
                grid.text(Format.padLeft(Format.number(layer.droppedMeanAbs, digits: 4), 8), x: lx, y: y, role: .inactiveFg, clip: rect)
            } else {
                grid.text("all filters kept", x: lx, y: y, role: .inactiveFg, attributes: [.dim], clip: rect)
            }
            y += 1
        }
        for stage in r.stages {
            guard y < rect.maxY else { break }
            let text = "stage \(stage.stage + 1): \(stage.keptBlocks)/\(stage.totalBlocks) blocks kept, block |w| ratio \(Format.number(stage.blockRatio, digits: 2))"
            grid.text(text, x: rect.x, y: y, role: .inactiveFg, clip: rect)
            y += 1
        }
    }
}
