import STPEngine
import STPMethod

// The architecture space, one row per stage and one cell per block: for the reference candidate,
// a kept block shows its kept inner width as a bar against the block's full width, a dropped
// block is dotted; under it, the share of sampled subnets that kept the block and a histogram of
// the widths stimulative training sampled for it.

enum ArchitecturePanel {
    static func title(_ c: RenderContext) -> String {
        guard let a = c.highlighted else { return "architecture" }
        let kind = c.state.selected != nil ? "selected" : c.snapshot.referenceKind.rawValue
        return "architecture (\(kind)): \(a.text)"
    }

    static func draw(_ grid: inout CellGrid, _ rect: Rect, _ c: RenderContext) {
        guard let space = c.snapshot.space, !rect.isEmpty else { return }
        let g = c.glyphs
        let stages = space.blocksPerStage.count
        let maxBlocks = space.blocksPerStage.max() ?? 1
        let labelWidth = 3
        let cellWidth = max(3, (rect.width - labelWidth) / maxBlocks - 1)
        let linesPerStage = max(1, min(3, rect.height / max(stages, 1)))
        let architecture = c.highlighted
        // One layout for every cell: the sampled-width histogram beside "kept/full share" when
        // that fits, else on a third line, else beside the shorter "kept share".
        let maxAllowed = space.allowedWidths.map(\.count).max() ?? 0
        let longInfo = 10, shortInfo = 7   // "64/64 100%", "64 100%"
        let layout: (short: Bool, inline: Bool, histogram: Bool)
        if longInfo + 1 + maxAllowed <= cellWidth {
            layout = (false, true, true)
        } else if linesPerStage >= 3 {
            layout = (false, false, true)
        } else if shortInfo + 1 + maxAllowed <= cellWidth {
            layout = (true, true, true)
        } else {
            layout = (false, false, false)
        }
        var start = 0
        for s in 0..<stages {
            let y = rect.y + s * linesPerStage
            guard y < rect.maxY else { break }
            grid.text("s\(s + 1)", x: rect.x, y: y, role: .title, clip: rect)
            for i in 0..<space.blocksPerStage[s] {
                let b = start + i
                let x = rect.x + labelWidth + i * (cellWidth + 1)
                let full = space.fullWidths[b]
                let kept: Int? = architecture.flatMap { a in i < a.depths[s] ? a.widths[s][i] : nil }
                if let kept {
                    let bar = g.bar(fraction: Double(kept) / Double(full), width: cellWidth)
                    for (k, ch) in bar.enumerated() {
                        let filled = ch != " "
                        grid.put(Cell(filled ? ch : (g.isUnicode ? "·" : "."), role: filled ? .kept : .dropped),
                                 x: x + k, y: y, clip: rect)
                    }
                } else if architecture != nil {
                    grid.text(String(repeating: g.isUnicode ? "·" : ".", count: cellWidth), x: x, y: y, role: .dropped,
                              attributes: [.dim], clip: rect)
                    if cellWidth >= 7 { grid.text("dropped", x: x, y: y, role: .dropped, attributes: [.dim], clip: rect) }
                }
                guard linesPerStage >= 2 else { continue }
                let share = space.subnetsSampled > 0 ? Double(space.blockSampleCounts[b]) / Double(space.subnetsSampled) : nil
                let widthText = layout.short ? (kept.map(String.init) ?? "-") : (kept.map { "\($0)/\(full)" } ?? "-/\(full)")
                let info = widthText + " " + (share.map { "\(Int(($0 * 100).rounded()))%" } ?? "-")
                grid.text(Format.fit(info, cellWidth, ellipsis: g.ellipsis), x: x, y: y + 1, role: kept == nil ? .inactiveFg : .mainFg,
                          clip: rect)
                guard layout.histogram else { continue }
                let allowed = space.allowedWidths[b]
                let (histogramX, histogramY) = layout.inline ? (x + cellWidth - allowed.count, y + 1) : (x, y + 2)
                let counts = allowed.map { space.widthSampleCounts[b][$0] ?? 0 }
                let top = max(counts.max() ?? 0, 1)
                for (k, n) in counts.prefix(cellWidth).enumerated() {
                    let level = Double(n) / Double(top)
                    let isKept = allowed[k] == kept
                    grid.put(Cell(n == 0 ? (g.isUnicode ? "·" : ".") : g.sparkGlyph(level), role: isKept ? .highlight : .sampled),
                             x: histogramX + k, y: histogramY, clip: rect)
                }
            }
            start += space.blocksPerStage[s]
        }
    }
}
