// The in-memory screen every panel draws into: a width x height grid of cells, each a character,
// the theme role that colours it and text attributes. The terminal backend only copies a grid to
// the screen, so everything the explorer shows can be asserted in tests without a terminal.

public struct CellAttributes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = CellAttributes(rawValue: 1)
    public static let reverse = CellAttributes(rawValue: 2)
    public static let underline = CellAttributes(rawValue: 4)
    public static let dim = CellAttributes(rawValue: 8)
}

public struct Cell: Sendable, Hashable {
    public var character: Character
    public var role: ThemeKey
    /// The role whose colour fills the background (nil: the screen background).
    public var background: ThemeKey?
    public var attributes: CellAttributes

    public init(_ character: Character = " ", role: ThemeKey = .mainFg, background: ThemeKey? = nil,
                attributes: CellAttributes = []) {
        self.character = character
        self.role = role
        self.background = background
        self.attributes = attributes
    }

    public static let blank = Cell()
}

/// A rectangle of the grid: panels receive one and draw inside it.
public struct Rect: Sendable, Hashable, CustomStringConvertible {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    /// The rectangle shrunk by `n` cells on every side (a panel's inside, within its border).
    public func inset(_ n: Int) -> Rect { Rect(x: x + n, y: y + n, width: width - 2 * n, height: height - 2 * n) }
    public var description: String { "\(width)x\(height)+\(x)+\(y)" }
}

public struct CellGrid: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, fill: Cell = .blank) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: fill, count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    public func contains(x: Int, y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height }

    /// Sets one cell; coordinates outside the grid (or outside `clip`) are ignored, so panels can
    /// draw without bounds arithmetic at their edges.
    public mutating func put(_ cell: Cell, x: Int, y: Int, clip: Rect? = nil) {
        guard contains(x: x, y: y) else { return }
        if let c = clip, x < c.x || y < c.y || x >= c.maxX || y >= c.maxY { return }
        cells[y * width + x] = cell
    }

    /// Writes `text` from (x, y) to the right, clipped to `clip` (default: the grid) and to
    /// `maxWidth` characters; returns the column after the last character written.
    @discardableResult
    public mutating func text(_ text: String, x: Int, y: Int, role: ThemeKey = .mainFg, background: ThemeKey? = nil,
                              attributes: CellAttributes = [], clip: Rect? = nil, maxWidth: Int? = nil) -> Int {
        var column = x
        let limit = maxWidth.map { x + $0 } ?? Int.max
        for ch in text {
            if column >= limit { break }
            put(Cell(ch, role: role, background: background, attributes: attributes), x: column, y: y, clip: clip)
            column += 1
        }
        return column
    }

    /// Fills a rectangle with one cell.
    public mutating func fill(_ rect: Rect, with cell: Cell) {
        for y in rect.y..<max(rect.y, rect.maxY) {
            for x in rect.x..<max(rect.x, rect.maxX) { put(cell, x: x, y: y) }
        }
    }

    /// Sets the background role of every cell of `rect` (a selected row).
    public mutating func highlight(_ rect: Rect, background: ThemeKey, role: ThemeKey? = nil) {
        for y in rect.y..<max(rect.y, rect.maxY) {
            for x in rect.x..<max(rect.x, rect.maxX) where contains(x: x, y: y) {
                cells[y * width + x].background = background
                if let role { cells[y * width + x].role = role }
            }
        }
    }

    /// Row `y` as a string (trailing spaces kept): what tests and the README screenshot read.
    public func line(_ y: Int) -> String {
        String((0..<width).map { self[$0, y].character })
    }

    /// The whole grid as text, one line per row, trailing spaces trimmed.
    public var text: String {
        (0..<height).map { String(line($0).reversed().drop(while: { $0 == " " }).reversed()) }.joined(separator: "\n")
    }
}
