import Foundation

// A line and scatter plot as inline SVG, for the self-contained HTML reports (`stp report`): no
// script, no external file, readable in any browser or by a tool that renders SVG. x and y are
// linear; each series is a polyline, dots, or both, in its own colour, named in a legend.

public struct SVGPlot {
    public struct Series {
        public var name: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        public var line: Bool
        public var dots: Bool
        public var dashed: Bool

        public init(name: String, color: String, points: [(x: Double, y: Double)], line: Bool = true, dots: Bool = true,
                    dashed: Bool = false) {
            self.name = name; self.color = color; self.points = points
            self.line = line; self.dots = dots; self.dashed = dashed
        }
    }

    public var title: String
    public var xTitle: String
    public var yTitle: String
    public var series: [Series]
    /// Formats of the axis labels.
    public var xLabel: (Double) -> String
    public var yLabel: (Double) -> String
    public var width = 560.0
    public var height = 320.0

    public init(title: String, xTitle: String, yTitle: String, series: [Series],
                xLabel: @escaping (Double) -> String = { String(format: "%g", $0) },
                yLabel: @escaping (Double) -> String = { String(format: "%g", $0) }) {
        self.title = title; self.xTitle = xTitle; self.yTitle = yTitle; self.series = series
        self.xLabel = xLabel; self.yLabel = yLabel
    }

    /// The data ranges, padded by 5% (a single value gets a range around it).
    func ranges() -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        let points = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        func padded(_ values: [Double]) -> ClosedRange<Double> {
            guard let lo = values.min(), let hi = values.max() else { return 0...1 }
            let pad = hi > lo ? 0.05 * (hi - lo) : (lo == 0 ? 0.5 : abs(lo) * 0.25)
            // Values that cannot be negative (MACs, milliseconds, accuracies) keep a range that is not.
            return (lo >= 0 ? max(0, lo - pad) : lo - pad)...(hi + pad)
        }
        return (padded(points.map(\.x)), padded(points.map(\.y)))
    }

    /// The plot area inside the SVG: room for the title, the axis labels and the legend.
    var area: (x: Double, y: Double, width: Double, height: Double) { (64, 28, width - 64 - 16, height - 28 - 64) }

    /// Where data point (x, y) lands in the SVG.
    public func position(_ x: Double, _ y: Double) -> (x: Double, y: Double) {
        let (xr, yr) = ranges(), a = area
        return (a.x + (x - xr.lowerBound) / (xr.upperBound - xr.lowerBound) * a.width,
                a.y + a.height - (y - yr.lowerBound) / (yr.upperBound - yr.lowerBound) * a.height)
    }

    public var svg: String {
        let (xr, yr) = ranges(), a = area
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(f(width))" height="\#(f(height))" viewBox="0 0 \#(f(width)) \#(f(height))" font-family="sans-serif" font-size="11">"#
        out += #"<text x="\#(f(a.x))" y="16" font-size="13" font-weight="bold">\#(HTML.escape(title))</text>"#
        out += #"<rect x="\#(f(a.x))" y="\#(f(a.y))" width="\#(f(a.width))" height="\#(f(a.height))" fill="whitesmoke" stroke="gray"/>"#
        for i in 0...4 {
            let t = Double(i) / 4
            let xv = xr.lowerBound + t * (xr.upperBound - xr.lowerBound), yv = yr.lowerBound + t * (yr.upperBound - yr.lowerBound)
            let px = a.x + t * a.width, py = a.y + a.height - t * a.height
            out += #"<line x1="\#(f(px))" y1="\#(f(a.y))" x2="\#(f(px))" y2="\#(f(a.y + a.height))" stroke="gainsboro"/>"#
            out += #"<line x1="\#(f(a.x))" y1="\#(f(py))" x2="\#(f(a.x + a.width))" y2="\#(f(py))" stroke="gainsboro"/>"#
            out += #"<text x="\#(f(px))" y="\#(f(a.y + a.height + 14))" text-anchor="middle">\#(HTML.escape(xLabel(xv)))</text>"#
            out += #"<text x="\#(f(a.x - 4))" y="\#(f(py + 4))" text-anchor="end">\#(HTML.escape(yLabel(yv)))</text>"#
        }
        out += #"<text x="\#(f(a.x + a.width / 2))" y="\#(f(a.y + a.height + 30))" text-anchor="middle">\#(HTML.escape(xTitle))</text>"#
        out += #"<text x="14" y="\#(f(a.y + a.height / 2))" text-anchor="middle" transform="rotate(-90 14 \#(f(a.y + a.height / 2)))">\#(HTML.escape(yTitle))</text>"#
        for s in series {
            let placed = s.points.filter { $0.x.isFinite && $0.y.isFinite }.map { position($0.x, $0.y) }
            if s.line && placed.count > 1 {
                let d = placed.map { "\(f($0.x)),\(f($0.y))" }.joined(separator: " ")
                out += #"<polyline points="\#(d)" fill="none" stroke="\#(s.color)" stroke-width="2"\#(s.dashed ? #" stroke-dasharray="5 3""# : "")/>"#
            }
            if s.dots {
                for p in placed { out += #"<circle cx="\#(f(p.x))" cy="\#(f(p.y))" r="3.5" fill="\#(s.color)"/>"# }
            }
        }
        var lx = a.x
        for s in series {
            let y = height - 12
            out += #"<rect x="\#(f(lx))" y="\#(f(y - 8))" width="14" height="4" fill="\#(s.color)"/>"#
            out += #"<text x="\#(f(lx + 18))" y="\#(f(y - 3))">\#(HTML.escape(s.name))</text>"#
            lx += 28 + Double(s.name.count) * 6.2
        }
        return out + "</svg>"
    }
}

/// HTML text escaping for the reports.
public enum HTML {
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
