// The characters the panels draw with: Unicode blocks, braille and box drawing on a UTF-8
// terminal, plain ASCII otherwise. Without a UTF-8 locale curses would print multi-byte glyphs
// as garbage, so the choice follows the locale, not the terminal's claims.
public struct GlyphSet: Sendable, Equatable {
    /// Whether glyphs outside ASCII may be drawn at all.
    public var isUnicode: Bool
    /// Whether plots may use braille cells (2x4 dots per cell); without them plots draw one
    /// `scatterPoint` per cell.
    public var hasBraille: Bool
    /// Nine glyphs: entry n draws a cell n/8 filled from the left, 0 through 8.
    public var barEighths: [Character]
    /// Eight glyphs for a sparkline, lowest level first.
    public var sparkLevels: [Character]
    public var horizontal: Character
    public var vertical: Character
    public var topLeft: Character
    public var topRight: Character
    public var bottomLeft: Character
    public var bottomRight: Character
    /// ├ — a vertical line with a branch to the right (curses' ACS_LTEE).
    public var leftTee: Character
    /// ┤ — a vertical line with a branch to the left (curses' ACS_RTEE).
    public var rightTee: Character
    /// ┬ (ACS_TTEE).
    public var topTee: Character
    /// ┴ (ACS_BTEE).
    public var bottomTee: Character
    /// ┼ (ACS_PLUS).
    public var cross: Character
    /// One evaluated candidate in a scatter plot drawn without braille.
    public var scatterPoint: Character
    /// Put before the selected row of a list.
    public var selectedMarker: Character
    /// Ends text cut short to fit its column.
    public var ellipsis: String

    public static let unicode = GlyphSet(
        isUnicode: true,
        hasBraille: true,
        barEighths: [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"],
        sparkLevels: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
        horizontal: "─", vertical: "│",
        topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘",
        leftTee: "├", rightTee: "┤", topTee: "┬", bottomTee: "┴", cross: "┼",
        scatterPoint: "•",
        selectedMarker: "▶",
        ellipsis: "…"
    )

    /// ASCII has no partial cells, so bars round to the nearest half cell: "=" for a half, "#"
    /// for a whole (1/8 shows nothing, 2/8-5/8 a half, 6/8-7/8 a whole).
    public static let ascii = GlyphSet(
        isUnicode: false,
        hasBraille: false,
        barEighths: [" ", " ", "=", "=", "=", "=", "#", "#", "#"],
        sparkLevels: [" ", ".", ":", "-", "=", "+", "*", "#"],
        horizontal: "-", vertical: "|",
        topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
        leftTee: "+", rightTee: "+", topTee: "+", bottomTee: "+", cross: "+",
        scatterPoint: "o",
        selectedMarker: ">",
        ellipsis: "..."
    )

    /// Unicode when the locale's character type is UTF-8, ASCII otherwise.
    public static func detect(environment: [String: String]) -> GlyphSet {
        localeIsUTF8(environment: environment) ? .unicode : .ascii
    }

    /// The POSIX precedence: LC_ALL overrides LC_CTYPE overrides LANG, and an empty variable counts
    /// as unset. No locale at all is the "C" locale, which is ASCII. "UTF-8" and "utf8" are both
    /// spellings in use (en_US.UTF-8, C.utf8).
    public static func localeIsUTF8(environment: [String: String]) -> Bool {
        let effective = ["LC_ALL", "LC_CTYPE", "LANG"].lazy
            .compactMap { environment[$0] }
            .first { !$0.isEmpty } ?? "C"
        let lowered = effective.lowercased()
        return lowered.contains("utf-8") || lowered.contains("utf8")
    }

    /// A horizontal bar `cells` long (fractions drawn with `barEighths`), padded with spaces to
    /// exactly `width` characters; lengths outside 0...width are clamped, NaN draws nothing.
    public func bar(cells: Double, width: Int) -> String {
        guard width > 0 else { return "" }
        let clamped = cells.isNaN ? 0 : min(Double(width), max(0, cells))
        let eighths = Int((clamped * 8).rounded())
        var bar = String(repeating: barEighths[8], count: eighths / 8)
        if eighths % 8 > 0 { bar.append(barEighths[eighths % 8]) }
        return bar + String(repeating: " ", count: width - bar.count)
    }

    /// The sparkline glyph for a value in 0...1 (clamped; NaN is the lowest level), rounded to the
    /// nearest of the eight levels so that 0 and 1 reach the ends.
    public func sparkGlyph(_ fraction: Double) -> Character {
        let clamped = fraction.isNaN ? 0 : min(1, max(0, fraction))
        return sparkLevels[Int((clamped * Double(sparkLevels.count - 1)).rounded())]
    }
}
