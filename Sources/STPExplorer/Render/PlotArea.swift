// A plot inside a rectangle: y labels on the left, an axis line on the left and bottom, x tick
// labels and the axis title under it, and a dot canvas for the data. Values map linearly onto
// dots; the top dot row is the largest y.

struct PlotArea {
    let rect: Rect
    /// The cells of the canvas.
    let plot: Rect
    let xRange: ClosedRange<Double>
    let yRange: ClosedRange<Double>
    var canvas: BrailleCanvas

    static let yLabelWidth = 6

    /// nil when `rect` is too small for a plot (needs 12 x 3 cells: one row of dots).
    init?(rect: Rect, xRange: ClosedRange<Double>, yRange: ClosedRange<Double>) {
        let left = PlotArea.yLabelWidth + 1
        guard rect.width >= left + 5, rect.height >= 3 else { return nil }
        self.rect = rect
        plot = Rect(x: rect.x + left, y: rect.y, width: rect.width - left, height: rect.height - 2)
        self.xRange = xRange.lowerBound < xRange.upperBound ? xRange : (xRange.lowerBound - 1)...(xRange.upperBound + 1)
        self.yRange = yRange.lowerBound < yRange.upperBound ? yRange : (yRange.lowerBound - 1)...(yRange.upperBound + 1)
        canvas = BrailleCanvas(columns: plot.width, rows: plot.height)
    }

    func dotX(_ v: Double) -> Int {
        let t = (v - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound)
        return Int((min(max(t, 0), 1) * Double(canvas.dotWidth - 1)).rounded())
    }

    func dotY(_ v: Double) -> Int {
        let t = (v - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound)
        return canvas.dotHeight - 1 - Int((min(max(t, 0), 1) * Double(canvas.dotHeight - 1)).rounded())
    }

    /// The grid column of x value `v`.
    func column(_ v: Double) -> Int { plot.x + dotX(v) / 2 }

    mutating func point(_ x: Double, _ y: Double, role: ThemeKey, priority: Int = 0) {
        guard x.isFinite, y.isFinite else { return }
        canvas.set(x: dotX(x), y: dotY(y), role: role, priority: priority)
    }

    /// A polyline through `points` (already in x order).
    mutating func polyline(_ points: [(Double, Double)], role: ThemeKey, priority: Int = 0) {
        let finite = points.filter { $0.0.isFinite && $0.1.isFinite }
        guard let first = finite.first else { return }
        if finite.count == 1 { point(first.0, first.1, role: role, priority: priority) }
        for (a, b) in zip(finite, finite.dropFirst()) {
            canvas.line(from: (dotX(a.0), dotY(a.1)), to: (dotX(b.0), dotY(b.1)), role: role, priority: priority)
        }
    }

    /// Axes, labels and the canvas.
    func draw(into grid: inout CellGrid, glyphs: GlyphSet, yLabels: (top: String, bottom: String), yTitle: String?,
              xLabels: (left: String, right: String), xTitle: String, emphasis: ThemeKey? = nil) {
        let axisX = plot.x - 1
        for y in plot.y..<plot.maxY { grid.put(Cell(glyphs.vertical, role: .divLine), x: axisX, y: y) }
        let axisY = plot.maxY
        grid.put(Cell(glyphs.bottomLeft, role: .divLine), x: axisX, y: axisY)
        for x in plot.x..<plot.maxX { grid.put(Cell(glyphs.horizontal, role: .divLine), x: x, y: axisY) }
        grid.text(Format.padLeft(yLabels.top, PlotArea.yLabelWidth), x: rect.x, y: plot.y, role: .graphText, maxWidth: PlotArea.yLabelWidth)
        grid.text(Format.padLeft(yLabels.bottom, PlotArea.yLabelWidth), x: rect.x, y: plot.maxY - 1, role: .graphText,
                  maxWidth: PlotArea.yLabelWidth)
        if let yTitle, plot.height >= 3 {
            grid.text(Format.padLeft(yTitle, PlotArea.yLabelWidth), x: rect.x, y: plot.y + plot.height / 2, role: .graphText,
                      attributes: [.dim], maxWidth: PlotArea.yLabelWidth)
        }
        let tickY = axisY + 1
        grid.text(xLabels.left, x: plot.x, y: tickY, role: .graphText, clip: rect)
        let title = " " + xTitle + " "
        let right = xLabels.right
        grid.text(right, x: plot.maxX - right.count, y: tickY, role: .graphText, clip: rect)
        let titleX = plot.x + (plot.width - title.count) / 2
        if titleX > plot.x + xLabels.left.count, titleX + title.count < plot.maxX - right.count {
            grid.text(title, x: titleX, y: tickY, role: .graphText, attributes: [.dim], clip: rect)
        }
        canvas.draw(into: &grid, x: plot.x, y: plot.y, glyphs: glyphs, emphasis: emphasis)
    }
}
