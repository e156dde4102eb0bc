// Where each pane goes for a terminal size. The minimum is 80 x 24 (the classic terminal): below
// it the explorer shows only a message saying which size it needs.
//
//   header (1-4 lines, as the width needs)
//   width < 200:  [architecture | accuracy vs FLOPs]      width >= 200: [architecture | accuracy vs FLOPs | curves]
//                 [training curves | relative sparsity]                 [relative sparsity | candidates (2x)]
//                 [candidates]
//   log pane (when shown; otherwise its newest line above the status bar)
//   status bar
// A hidden pane gives its place to the others of its row; an empty row gives its height to the
// other rows.

public struct ExplorerLayout: Equatable, Sendable {
    public static let minimumWidth = 80
    public static let minimumHeight = 24

    public var header: Rect?
    public var panes: [Pane: Rect]
    public var logLine: Rect?
    public var status: Rect
    /// The area between header and log/status: where overlays (help, detail) go.
    public var body: Rect

    public static func fits(width: Int, height: Int) -> Bool { width >= minimumWidth && height >= minimumHeight }

    /// The rows of panes (with relative widths) and each row's relative height.
    static func template(width: Int) -> [(panes: [(Pane, Int)], weight: Int)] {
        if width >= 200 {
            return [([(.architecture, 1), (.scatter, 1), (.curves, 1)], 5), ([(.sparsity, 1), (.candidates, 2)], 5)]
        }
        return [([(.architecture, 1), (.scatter, 1)], 5), ([(.curves, 1), (.sparsity, 1)], 4), ([(.candidates, 1)], 5)]
    }

    public static func compute(width: Int, height: Int, visible: Set<Pane>, headerHeight: Int) -> ExplorerLayout {
        let status = Rect(x: 0, y: height - 1, width: width, height: 1)
        var top = 0
        var header: Rect?
        if visible.contains(.header) {
            header = Rect(x: 0, y: 0, width: width, height: headerHeight)
            top = headerHeight
        }
        var bottom = height - 1
        var panes = [Pane: Rect]()
        var logLine: Rect?
        if visible.contains(.log) {
            let h = height < 32 ? 3 : max(4, min(10, (height - top) / 5))
            panes[.log] = Rect(x: 0, y: bottom - h, width: width, height: h)
            bottom -= h
        } else {
            logLine = Rect(x: 0, y: bottom - 1, width: width, height: 1)
            bottom -= 1
        }
        let body = Rect(x: 0, y: top, width: width, height: bottom - top)
        let rows = template(width: width)
            .map { (panes: $0.panes.filter { visible.contains($0.0) }, weight: $0.weight) }
            .filter { !$0.panes.isEmpty }
        let totalWeight = rows.reduce(0) { $0 + $1.weight }
        var y = top
        for (r, row) in rows.enumerated() {
            let share = Double(body.height * row.weight) / Double(max(totalWeight, 1))
            let h = r == rows.count - 1 ? bottom - y : Int(share.rounded())
            let columnsWeight = row.panes.reduce(0) { $0 + $1.1 }
            var x = 0
            for (c, (pane, w)) in row.panes.enumerated() {
                let pw = c == row.panes.count - 1 ? width - x : width * w / columnsWeight
                panes[pane] = Rect(x: x, y: y, width: pw, height: h)
                x += pw
            }
            y += h
        }
        return ExplorerLayout(header: header, panes: panes, logLine: logLine, status: status, body: body)
    }
}
