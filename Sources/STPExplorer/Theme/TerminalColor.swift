// What the curses backend actually asks the terminal for, once a theme colour has met the colour
// mode: kept apart from curses itself so the mapping is testable without a terminal.
public enum TerminalColor: Hashable, Sendable {
    /// The terminal's own default foreground or background (curses colour -1 after
    /// use_default_colors()).
    case terminalDefault
    /// An exact colour: on a direct-colour terminal use `packed` as the colour number; on one that
    /// can change colours, init_color a free palette entry (16 and up) with `cursesScale`.
    case rgb(RGB)
    /// A palette index: 16-255 in palette256, 0-15 in basic16 (on an 8-colour terminal, 8-15 are
    /// drawn as index - 8 in bold).
    case palette(Int)
}

extension ColorMode {
    /// The terminal colour that shows `color` (nil: the terminal default) best in this mode.
    /// In .none everything is the terminal default and the backend distinguishes roles by
    /// attributes only (reverse for selection, bold for titles).
    public func terminalColor(for color: RGB?) -> TerminalColor {
        guard let color else { return .terminalDefault }
        switch self {
        case .trueColor: return .rgb(color)
        case .palette256: return .palette(ColorQuantizer.xterm256(color))
        case .basic16: return .palette(ColorQuantizer.ansi16(color))
        case .none: return .terminalDefault
        }
    }
}

extension Theme {
    /// Every role's terminal colour in `mode`, computed once per theme change rather than per cell.
    public func terminalColors(in mode: ColorMode) -> [ThemeKey: TerminalColor] {
        Dictionary(uniqueKeysWithValues: ThemeKey.allCases.map { ($0, mode.terminalColor(for: self[$0])) })
    }
}
