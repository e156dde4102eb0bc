import STPEngine
import STPMethod

// The detail view (Enter on a candidate): the selected candidate's per-block table (kept width
// of full, MACs and parameters of each block, its relative sparsity when it is the reference)
// next to another candidate's, with the differences marked, and the totals' deltas.

enum DetailView {
    static func draw(_ grid: inout CellGrid, _ area: Rect, _ c: RenderContext) {
        grid.fill(area, with: Cell(" ", role: .mainFg, background: .mainBg))
        let s = c.snapshot
        guard let spec = s.spec, let a = c.state.selected else { return }
        let inner = PanelFrame.draw(&grid, area, pane: nil, title: "candidate detail", focused: true, glyphs: c.glyphs)
        let cost = CostModel(spec: spec)
        let candidateA = s.candidates.first { $0.architecture == a }
        let b = c.state.compareWith
        let candidateB = b.flatMap { arch in s.candidates.first { $0.architecture == arch } }
        var y = inner.y
        func summaryLine(_ tag: String, _ arch: Architecture, _ cand: Candidate?, role: ThemeKey) {
            let co = cost.cost(of: arch)
            let text = "\(tag) \(arch.text)  \(Format.macs(co.macs)) MACs  \(Format.macs(co.parameters)) params"
                + (cand.map { "  KD \(Format.number($0.fitness, digits: 4))  top-1 \(Format.percent($0.accuracy))" } ?? "")
                + (cand?.latencyMilliseconds.map { "  \(LatencyFormat.milliseconds($0)) at batch 1" } ?? "")
                + (cand?.imagesPerSecond.map { String(format: "  %.0f img/s", $0) } ?? "")
            grid.text(Format.fit(text, inner.width, ellipsis: c.glyphs.ellipsis), x: inner.x, y: y, role: role, attributes: [.bold], clip: inner)
            y += 1
        }
        summaryLine("A", a, candidateA, role: .highlight)
        if let b { summaryLine("B", b, candidateB, role: .hiFg) } else {
            grid.text("B: no other candidate to compare with", x: inner.x, y: y, role: .inactiveFg, clip: inner)
            y += 1
        }
        y += 1
        let sparsity = s.sparsity.flatMap { $0.report.architecture == a.text ? $0.report : nil }
        let header = "block      full   A width   A MACs   B width   B MACs   diff" + (sparsity != nil ? "   A |w| ratio" : "")
        grid.text(header, x: inner.x, y: y, role: .graphText, attributes: [.underline], clip: inner)
        y += 1
        var blockIndex = 0
        for (stage, n) in spec.blocksPerStage.enumerated() {
            for i in 0..<n {
                defer { blockIndex += 1 }
                guard y < inner.maxY - 2 else { continue }
                let full = spec.innerWidths[blockIndex]
                let wa = i < a.depths[stage] ? a.widths[stage][i] : nil
                let wb = b.flatMap { i < $0.depths[stage] ? $0.widths[stage][i] : nil }
                let table = cost.blocks[blockIndex]
                let macsA = wa.map { Format.macs(table.macs($0)) } ?? "-"
                let macsB = wb.map { Format.macs(table.macs($0)) } ?? "-"
                let differs = b != nil && wa != wb
                let diff: String
                if !differs { diff = "" } else if let wa, let wb { diff = (wb - wa > 0 ? "+" : "") + String(wb - wa) } else { diff = wa == nil ? "B keeps" : "B drops" }
                var line = Format.padRight("s\(stage + 1) b\(i + 1)", 9) + Format.padLeft(String(full), 6)
                line += Format.padLeft(wa.map(String.init) ?? "dropped", 10) + Format.padLeft(macsA, 9)
                line += Format.padLeft(b == nil ? "" : (wb.map(String.init) ?? "dropped"), 10) + Format.padLeft(b == nil ? "" : macsB, 9)
                line += Format.padLeft(diff, 9)
                if let sparsity, wa != nil {
                    let name = "blocks.\(blockIndex).conv1"
                    let ratio = sparsity.layers.first { $0.name == name }?.weightRatio
                    line += Format.padLeft(ratio.map { Format.number($0, digits: 2) } ?? "all kept", 14)
                }
                grid.text(line, x: inner.x, y: y, role: differs ? .warning : (wa == nil ? .inactiveFg : .mainFg), clip: inner)
                y += 1
            }
        }
        if let b, y < inner.maxY {
            let ca = cost.cost(of: a), cb = cost.cost(of: b)
            var delta = "B - A: \(signed(cb.macs - ca.macs)) MACs, \(signed(cb.parameters - ca.parameters)) params"
            if let fa = candidateA, let fb = candidateB {
                delta += String(format: ", KD %+.4f, top-1 %+.1f points", fb.fitness - fa.fitness, 100 * (fb.accuracy - fa.accuracy))
            }
            grid.text(delta, x: inner.x, y: inner.maxY - 1, role: .mainFg, attributes: [.bold], clip: inner)
        }
    }

    private static func signed(_ v: Int) -> String { (v >= 0 ? "+" : "-") + Format.macs(abs(v)) }
}
