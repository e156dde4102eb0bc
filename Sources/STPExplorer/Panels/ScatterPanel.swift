import STPMethod

// Accuracy versus FLOPs: every evaluated candidate as a dot (held-out top-1 after BN
// recalibration against MACs), the Pareto front of accuracy over FLOPs as a line, the budget as
// a vertical line, the selected candidate highlighted. The x axis spans the candidates and the
// budget window (padded), so the budget line moves when the budget does and the candidates of a
// window-constrained search spread over the plot instead of sharing one column. `x` switches the
// x axis to the latency model's predicted batch-1 latency (no budget line there: the explorer's
// budgets are FLOPs). A run from a trained network (--init) also shows, dimmed, the front of the
// network as it was imported, before any training step ("as imported").

enum ScatterPanel {
    /// A candidate's position on `axis` (nil: it has no predicted latency).
    static func x(_ c: Candidate, _ axis: PlotAxis) -> Double? {
        axis == .macs ? Double(c.macs) : c.latencyMilliseconds
    }

    /// Non-dominated candidates in (less of `axis`, higher accuracy), cheapest first.
    static func accuracyFront(_ candidates: [Candidate], axis: PlotAxis = .macs) -> [Candidate] {
        var front = [Candidate]()
        var best = -Double.infinity
        let placed = candidates.compactMap { c in x(c, axis).map { (c, $0) } }
        for (c, _) in placed.sorted(by: { ($0.1, -$0.0.accuracy) < ($1.1, -$1.0.accuracy) }) where c.accuracy.isFinite && c.accuracy > best {
            front.append(c)
            best = c.accuracy
        }
        return front
    }

    static func yRange(_ candidates: [Candidate]) -> ClosedRange<Double> {
        let acc = candidates.map(\.accuracy).filter(\.isFinite)
        guard let lo = acc.min(), let hi = acc.max() else { return 0...1 }
        let pad = max(0.01, (hi - lo) * 0.08)
        return max(0, lo - pad)...min(1, hi + pad)
    }

    /// The plot of a snapshot in `rect` (nil when too small); tests read the budget column from it.
    static func plotArea(_ rect: Rect, _ c: RenderContext) -> PlotArea? {
        guard let space = c.snapshot.space else { return nil }
        let legend = rect.height >= 8 ? 1 : 0
        let area = Rect(x: rect.x, y: rect.y + legend, width: rect.width, height: rect.height - legend)
        let axis = c.state.plotAxis
        let xs = axis == .macs ? xRange(c.snapshot, space: space) : latencyRange(c.snapshot)
        return PlotArea(rect: area, xRange: xs, yRange: yRange(c.snapshot.candidates + accuracyFront(c.snapshot.asImported, axis: axis)))
    }

    /// The latencies shown: the candidates', padded, within the space's predicted ends.
    static func latencyRange(_ s: ExplorerSnapshot) -> ClosedRange<Double> {
        let ms = s.candidates.compactMap(\.latencyMilliseconds)
        let floor = s.latency?.smallestMilliseconds ?? 0, ceiling = s.latency?.fullMilliseconds ?? 1
        guard let lo = ms.min(), let hi = ms.max() else { return floor...max(ceiling, floor + 1e-6) }
        let pad = max((hi - lo) * 0.15, 0.03 * ceiling)
        let low = max(floor, lo - pad)
        return low...max(min(ceiling, hi + pad), low + 1e-6)
    }

    /// The MACs shown: the candidates and the budget window, padded, within the space. A search
    /// evaluates mostly inside its window, so the whole space would squeeze them into one column.
    static func xRange(_ s: ExplorerSnapshot, space: SpaceView) -> ClosedRange<Double> {
        let macs = s.candidates.map(\.macs) + [s.window.lowerBound, s.window.upperBound]
        let lo = Double(macs.min()!), hi = Double(macs.max()!)
        let pad = max((hi - lo) * 0.15, 0.03 * Double(space.fullMACs))
        return max(Double(space.smallestMACs), lo - pad)...min(Double(space.fullMACs), hi + pad)
    }

    static func draw(_ grid: inout CellGrid, _ rect: Rect, _ c: RenderContext) {
        guard var plot = plotArea(rect, c), c.snapshot.space != nil else { return }
        let s = c.snapshot
        let g = c.glyphs
        if rect.height >= 8 {
            var x = rect.x
            x = grid.text(String(g.dots(0x1b)) + " candidates", x: x, y: rect.y, role: .candidate, clip: rect) + 2
            x = grid.text((g.isUnicode ? "─" : "-") + " Pareto front", x: x, y: rect.y, role: .pareto, clip: rect) + 2
            if !s.asImported.isEmpty {
                x = grid.text((g.isUnicode ? "─" : "-") + " as imported", x: x, y: rect.y, role: .inactiveFg, clip: rect) + 2
            }
            if c.state.plotAxis == .macs {
                x = grid.text(String(g.markerLine) + " budget \(Format.macs(s.targetMACs))", x: x, y: rect.y, role: .budget, clip: rect) + 2
            }
            grid.text(String(g.dots(0xff)) + " selected", x: x, y: rect.y, role: .highlight, clip: rect)
        }
        let axis = c.state.plotAxis
        let imported = accuracyFront(s.asImported, axis: axis)
        plot.polyline(imported.map { (x($0, axis)!, $0.accuracy) }, role: .inactiveFg, priority: 0)
        for candidate in s.candidates {
            if let x = x(candidate, axis) { plot.point(x, candidate.accuracy, role: .candidate) }
        }
        let front = accuracyFront(s.candidates, axis: axis)
        plot.polyline(front.map { (x($0, axis)!, $0.accuracy) }, role: .pareto, priority: 1)
        if let a = c.highlighted, let chosen = s.candidates.first(where: { $0.architecture == a }), let cx = x(chosen, axis) {
            // A 2 x 2 block of dots, so the selection stands out among single dots.
            let x = plot.dotX(cx), y = plot.dotY(chosen.accuracy)
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1), (-1, 0), (0, -1)] {
                plot.canvas.set(x: x + dx, y: y + dy, role: .highlight, priority: 3)
            }
        }
        let y = plot.yRange
        let xLabels = axis == .macs
            ? (Format.macs(Int(plot.xRange.lowerBound)), Format.macs(Int(plot.xRange.upperBound)))
            : (LatencyFormat.milliseconds(plot.xRange.lowerBound), LatencyFormat.milliseconds(plot.xRange.upperBound))
        plot.draw(into: &grid, glyphs: g, yLabels: (Format.percent(y.upperBound), Format.percent(y.lowerBound)), yTitle: "top-1",
                  xLabels: xLabels, xTitle: axis == .macs ? "MACs (FLOPs)" : "batch-1 latency (predicted)",
                  emphasis: .highlight)
        // The budget line: every plot row at the budget's column that holds no data.
        if axis == .macs {
            let column = plot.column(Double(s.targetMACs))
            for row in plot.plot.y..<plot.plot.maxY where grid[column, row].character == " " {
                grid.put(Cell(g.markerLine, role: .budget), x: column, y: row)
            }
        }
        if s.candidates.isEmpty {
            let message = s.search.running || s.front.running ? "searching..."
                : s.front.rounds == 0 && s.epoch == 0 ? "the curve appears after the first epoch (s: search now)"
                : "no candidates yet: press s to search"
            let mx = plot.plot.x + max(0, (plot.plot.width - message.count) / 2)
            grid.text(message, x: mx, y: plot.plot.y + plot.plot.height / 2, role: .inactiveFg, clip: plot.plot)
        }
    }
}
