import Testing
@testable import STPExplorer

@Suite struct BrailleCanvasTests {
    @Test func dotsUseUnicodesBrailleNumbering() {
        // Dots 1, 2, 3, 7 down the left column, 4, 5, 6, 8 down the right.
        #expect(BrailleCanvas.bit(dx: 0, dy: 0) == 0x01)
        #expect(BrailleCanvas.bit(dx: 0, dy: 2) == 0x04)
        #expect(BrailleCanvas.bit(dx: 0, dy: 3) == 0x40)
        #expect(BrailleCanvas.bit(dx: 1, dy: 0) == 0x08)
        #expect(BrailleCanvas.bit(dx: 1, dy: 3) == 0x80)
    }

    @Test func pointsLandInTheRightCellAndDot() {
        var canvas = BrailleCanvas(columns: 3, rows: 2)
        canvas.set(x: 0, y: 0, role: .candidate)
        canvas.set(x: 5, y: 7, role: .candidate)
        canvas.set(x: 3, y: 5, role: .pareto)
        canvas.set(x: 6, y: 0, role: .candidate)   // outside: ignored
        #expect(canvas.cellBits(column: 0, row: 0) == 0x01)
        #expect(canvas.cellBits(column: 2, row: 1) == 0x80)
        #expect(canvas.cellBits(column: 1, row: 1) == 0x10)   // dx 1, dy 1
        #expect(canvas.cellBits(column: 1, row: 0) == 0)
        var grid = CellGrid(width: 3, height: 2)
        canvas.draw(into: &grid, x: 0, y: 0, glyphs: .unicode)
        #expect(grid[0, 0].character == "\u{2801}")
        #expect(grid[2, 1].character == "\u{2880}")
        #expect(grid[1, 1].role == .pareto)
        #expect(grid[1, 0].character == " ")
    }

    @Test func higherPriorityWinsTheCellsRole() {
        var canvas = BrailleCanvas(columns: 1, rows: 1)
        canvas.set(x: 0, y: 0, role: .highlight, priority: 3)
        canvas.set(x: 1, y: 1, role: .candidate, priority: 0)
        #expect(canvas.cellRole(column: 0, row: 0) == .highlight)
        #expect(canvas.cellBits(column: 0, row: 0) == 0x11)
    }

    @Test func linesCoverEveryDotBetweenTheirEnds() {
        var canvas = BrailleCanvas(columns: 4, rows: 1)
        canvas.line(from: (0, 3), to: (7, 3), role: .pareto)
        for c in 0..<4 { #expect(canvas.cellBits(column: c, row: 0) == 0xC0) }   // dots 7 and 8
        var diagonal = BrailleCanvas(columns: 2, rows: 1)
        diagonal.line(from: (0, 0), to: (3, 3), role: .pareto)
        #expect(diagonal.cellBits(column: 0, row: 0) == 0x01 | 0x10)
        #expect(diagonal.cellBits(column: 1, row: 0) == 0x04 | 0x80)
    }

    @Test func withoutBrailleEachCellIsOneMark() {
        var canvas = BrailleCanvas(columns: 2, rows: 1)
        canvas.set(x: 0, y: 0, role: .candidate)
        canvas.set(x: 2, y: 0, role: .highlight)
        var grid = CellGrid(width: 2, height: 1)
        canvas.draw(into: &grid, x: 0, y: 0, glyphs: .ascii, emphasis: .highlight)
        #expect(grid[0, 0].character == GlyphSet.ascii.scatterPoint)
        #expect(grid[1, 0].character == "@")
    }
}
