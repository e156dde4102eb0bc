// Glyphs the plots need beyond the theme layer's GlyphSet: the budget marker line and the cell
// of a dot canvas (a braille pattern, or one ASCII mark per cell without braille).

extension GlyphSet {
    /// A vertical marker line in plots (the budget line).
    public var markerLine: Character { isUnicode ? "┊" : ":" }

    /// The character of a dot-canvas cell holding the dots `bits` (braille numbering).
    public func dots(_ bits: UInt8, emphasis: Bool = false) -> Character {
        if hasBraille { return Character(Unicode.Scalar(0x2800 + UInt32(bits))!) }
        if bits == 0 { return " " }
        return emphasis ? "@" : scatterPoint
    }

    /// `fraction` (0...1) of `width` cells as a bar padded to `width`.
    public func bar(fraction: Double, width: Int) -> String {
        bar(cells: (fraction.isFinite ? fraction : 0) * Double(width), width: width)
    }
}
