import STPMethod

// The candidates table: every evaluated architecture with its FLOPs, parameters, KD fitness
// (KL(full || candidate), lower is better), held-out top-1 and predicted batch-1 latency (when
// the latency model was measured), filtered and sorted as the UI
// state says. The selected row is highlighted and marked; the best of the budget window is
// starred, exported ones are marked E, marked ones (m) +; MACs inside the budget window take
// the budget role.

enum CandidatesPanel {
    static func title(_ c: RenderContext) -> String {
        var t = "candidates \(c.rows.count)"
        if c.rows.count != c.snapshot.candidates.count { t += "/\(c.snapshot.candidates.count)" }
        t += "  sort \(c.state.sort.rawValue) \(c.state.sortDescending ? "desc" : "asc")"
        if !c.state.filter.isEmpty { t += "  filter \"\(c.state.filter)\"" }
        return t
    }

    static let header = "     MACs    params   KD fit   top-1    latency  architecture"

    /// The first row shown: the selection stays in the middle when the table scrolls. The mouse
    /// hit test uses the same rule, so a click selects the row under the pointer.
    static func firstVisibleRow(selected: Int?, count: Int, visible: Int) -> Int {
        max(0, min((selected ?? 0) - visible / 2, count - visible))
    }

    static func draw(_ grid: inout CellGrid, _ rect: Rect, _ c: RenderContext) {
        guard !rect.isEmpty else { return }
        let s = c.snapshot
        grid.text(header, x: rect.x, y: rect.y, role: .graphText, attributes: [.underline], clip: rect)
        guard !c.rows.isEmpty else {
            let message = s.candidates.isEmpty
                ? (s.search.running ? "the search is evaluating its first candidates" : "no candidates yet: press s to search now")
                : "no candidate matches the filter (Esc clears it)"
            grid.text(message, x: rect.x, y: rect.y + 1, role: .inactiveFg, clip: rect)
            return
        }
        let visible = rect.height - 1
        let selectedIndex = c.rows.firstIndex { $0.architecture == c.state.selected }
        let first = firstVisibleRow(selected: selectedIndex, count: c.rows.count, visible: visible)
        for (row, candidate) in c.rows.dropFirst(first).prefix(visible).enumerated() {
            let y = rect.y + 1 + row
            let isSelected = candidate.architecture == c.state.selected
            let isBest = candidate.architecture == s.best?.architecture
            let marker = isSelected ? String(c.glyphs.selectedMarker) : (c.state.marked.contains(candidate.architecture) ? "+" : " ")
            var x = grid.text(marker, x: rect.x, y: y, role: .highlight, attributes: [.bold], clip: rect)
            x = grid.text(isBest ? "*" : (s.exported.contains(candidate.architecture.text) ? "E" : " "), x: x, y: y, role: .good, clip: rect)
            let inWindow = s.window.contains(candidate.macs)
            x = grid.text(Format.padLeft(Format.macs(candidate.macs), 7), x: x, y: y, role: inWindow ? .budget : .mainFg, clip: rect)
            x = grid.text(Format.padLeft(Format.macs(candidate.parameters), 10), x: x, y: y, role: .mainFg, clip: rect)
            x = grid.text(Format.padLeft(Format.number(candidate.fitness, digits: 4), 9), x: x, y: y, role: .mainFg, clip: rect)
            x = grid.text(Format.padLeft(Format.percent(candidate.accuracy), 8), x: x, y: y, role: .mainFg, clip: rect)
            let latency = candidate.latencyMilliseconds.map { LatencyFormat.milliseconds($0) } ?? "-"
            x = grid.text(Format.padLeft(latency, 11), x: x, y: y, role: .mainFg, clip: rect)
            x += 2
            let summary = CandidateList.summary(candidate.architecture, spec: s.spec)
            grid.text(Format.fit(summary, rect.maxX - x, ellipsis: c.glyphs.ellipsis), x: x, y: y, role: .inactiveFg, clip: rect)
            if isSelected {
                grid.highlight(Rect(x: rect.x, y: y, width: rect.width, height: 1), background: .selectedBg)
            }
        }
    }
}
