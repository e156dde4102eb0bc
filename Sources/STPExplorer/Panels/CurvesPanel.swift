// Training curves per epoch: the loss (left) and accuracy (right) of the full network and of the
// sampled subnets, plus the running figures of the epoch in progress so the curve moves during an
// epoch. Full network: train cross-entropy and test top-1; subnets: their cross-entropy and top-1
// on the training batches (they are never evaluated on the test set during training).

enum CurvesPanel {
    struct Series {
        var name: String
        var role: ThemeKey
        var points: [(Double, Double)]
    }

    /// Where the epoch in progress is on the epoch axis, while it runs (nil between epochs).
    static func runningPosition(_ s: ExplorerSnapshot) -> Double? {
        guard s.stepsPerEpoch > 0, !s.stopped, s.step > 0, s.epoch >= s.curves.count else { return nil }
        return Double(s.epoch) + Double(s.step) / Double(s.stepsPerEpoch)
    }

    static func lossSeries(_ s: ExplorerSnapshot) -> [Series] {
        var full = s.curves.map { (Double($0.epoch), $0.trainLoss) }
        var subnet = s.curves.compactMap { p in p.subnetLoss.map { (Double(p.epoch), $0) } }
        if let x = runningPosition(s) {
            if let running = s.runningLoss { full.append((x, running)) }
            if let running = s.runningSubnetLoss { subnet.append((x, running)) }
        }
        return [Series(name: "full", role: .lossFull, points: full), Series(name: "subnets", role: .lossSubnet, points: subnet)]
    }

    /// The full network's test top-1 exists only at the end of an epoch; the subnets' training
    /// top-1 also moves during one, from the first step on.
    static func accuracySeries(_ s: ExplorerSnapshot) -> [Series] {
        let full = s.curves.map { (Double($0.epoch), $0.testTop1) }
        var subnet = s.curves.compactMap { p in p.subnetTop1.map { (Double(p.epoch), $0) } }
        if let x = runningPosition(s), let running = s.runningSubnetTop1 { subnet.append((x, running)) }
        return [Series(name: "full test", role: .accuracyFull, points: full), Series(name: "subnets train", role: .accuracySubnet, points: subnet)]
    }

    static func draw(_ grid: inout CellGrid, _ rect: Rect, _ c: RenderContext) {
        guard !rect.isEmpty else { return }
        let s = c.snapshot
        if s.curves.isEmpty && s.runningLoss == nil {
            grid.text("the first epoch is training; curves appear as it goes", x: rect.x, y: rect.y, role: .inactiveFg, clip: rect)
            return
        }
        let sideBySide = rect.width >= 48 || rect.height < 10
        let left: Rect, right: Rect
        if sideBySide {
            let w = (rect.width - 1) / 2
            left = Rect(x: rect.x, y: rect.y, width: w, height: rect.height)
            right = Rect(x: rect.x + w + 1, y: rect.y, width: rect.width - w - 1, height: rect.height)
        } else {
            let h = rect.height / 2
            left = Rect(x: rect.x, y: rect.y, width: rect.width, height: h)
            right = Rect(x: rect.x, y: rect.y + h, width: rect.width, height: rect.height - h)
        }
        let epochs = Double(max(s.totalEpochs, 1))
        plot(&grid, left, lossSeries(s), title: "loss", percent: false, epochs: epochs, glyphs: c.glyphs)
        plot(&grid, right, accuracySeries(s), title: "top-1", percent: true, epochs: epochs, glyphs: c.glyphs)
    }

    private static func plot(_ grid: inout CellGrid, _ rect: Rect, _ series: [Series], title: String, percent: Bool,
                             epochs: Double, glyphs: GlyphSet) {
        guard rect.height >= 2 else { return }
        // Legend: name and latest value of each series.
        var x = rect.x
        x = grid.text(title + ":", x: x, y: rect.y, role: .title, clip: rect) + 1
        for s in series {
            let last = s.points.last?.1
            let value = percent ? Format.percent(last) : Format.number(last)
            // A series' legend is shown whole or, when it does not fit, by its value alone.
            let full = (glyphs.isUnicode ? "━ " : "- ") + s.name + " " + value
            let text = x + full.count <= rect.maxX ? full : (glyphs.isUnicode ? "━ " : "- ") + value
            guard x + text.count <= rect.maxX else { break }
            x = grid.text(text, x: x, y: rect.y, role: s.role, clip: rect) + 2
        }
        let values = series.flatMap { $0.points.map(\.1) }.filter(\.isFinite)
        let lo = values.min() ?? 0, hi = values.max() ?? 1
        let pad = max((hi - lo) * 0.08, percent ? 0.01 : 0.01)
        let yRange = (percent ? max(0, lo - pad) : max(0, lo - pad))...(percent ? min(1, hi + pad) : hi + pad)
        let area = Rect(x: rect.x, y: rect.y + 1, width: rect.width, height: rect.height - 1)
        guard var p = PlotArea(rect: area, xRange: 0...epochs, yRange: yRange) else { return }
        for (i, s) in series.enumerated() {
            p.polyline(s.points, role: s.role, priority: series.count - i)
        }
        let label: (Double) -> String = { percent ? Format.percent($0) : Format.number($0, digits: 2) }
        p.draw(into: &grid, glyphs: glyphs, yLabels: (label(yRange.upperBound), label(yRange.lowerBound)), yTitle: nil,
               xLabels: ("0", String(Int(epochs))), xTitle: "epoch")
    }
}
