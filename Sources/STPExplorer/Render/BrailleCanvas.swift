// A dot canvas for plots: every character cell holds 2 x 4 dots (the braille pattern block), so
// a plot of W x H cells has a resolution of 2W x 4H points. Dot (0, 0) is the top-left; each dot
// remembers the role of what was drawn there last with the highest priority (the selected
// candidate over the Pareto line over ordinary candidates), and the cell takes that role.

public struct BrailleCanvas: Sendable {
    public let columns: Int
    public let rows: Int
    public var dotWidth: Int { columns * 2 }
    public var dotHeight: Int { rows * 4 }
    private(set) var bits: [UInt8]
    private(set) var roles: [ThemeKey?]
    private var priorities: [Int]

    public init(columns: Int, rows: Int) {
        self.columns = max(0, columns)
        self.rows = max(0, rows)
        bits = Array(repeating: 0, count: self.columns * self.rows)
        roles = Array(repeating: nil, count: self.columns * self.rows)
        priorities = Array(repeating: -1, count: self.columns * self.rows)
    }

    /// The braille bit of dot (dx, dy) inside its cell (dx 0...1, dy 0...3), Unicode's numbering:
    /// dots 1-3 and 7 down the left column, 4-6 and 8 down the right.
    public static func bit(dx: Int, dy: Int) -> UInt8 {
        let table: [[UInt8]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]
        return table[dx][dy]
    }

    /// Sets the dot at (x, y) in dot coordinates; outside the canvas is ignored.
    public mutating func set(x: Int, y: Int, role: ThemeKey, priority: Int = 0) {
        guard x >= 0, y >= 0, x < dotWidth, y < dotHeight else { return }
        let i = (y / 4) * columns + x / 2
        bits[i] |= BrailleCanvas.bit(dx: x % 2, dy: y % 4)
        if priority >= priorities[i] {
            priorities[i] = priority
            roles[i] = role
        }
    }

    /// A straight line between two dots (Bresenham).
    public mutating func line(from a: (x: Int, y: Int), to b: (x: Int, y: Int), role: ThemeKey, priority: Int = 0) {
        var x = a.x, y = a.y
        let dx = abs(b.x - a.x), dy = -abs(b.y - a.y)
        let sx = a.x < b.x ? 1 : -1, sy = a.y < b.y ? 1 : -1
        var err = dx + dy
        while true {
            set(x: x, y: y, role: role, priority: priority)
            if x == b.x && y == b.y { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// The dots of cell (column, row).
    public func cellBits(column: Int, row: Int) -> UInt8 { bits[row * columns + column] }
    public func cellRole(column: Int, row: Int) -> ThemeKey? { roles[row * columns + column] }

    /// Copies the non-empty cells onto `grid` with the top-left cell at (x, y).
    public func draw(into grid: inout CellGrid, x: Int, y: Int, glyphs: GlyphSet, emphasis: ThemeKey? = nil) {
        for r in 0..<rows {
            for c in 0..<columns {
                let b = bits[r * columns + c]
                guard b != 0, let role = roles[r * columns + c] else { continue }
                grid.put(Cell(glyphs.dots(b, emphasis: role == emphasis), role: role,
                              attributes: role == emphasis ? [.bold] : []), x: x + c, y: y + r)
            }
        }
    }
}
