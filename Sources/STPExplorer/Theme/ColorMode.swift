// How many colours the explorer may use, from best to worst. Theme colours are 24-bit; each mode
// below trueColor quantises them (ColorQuantizer), and .none draws with attributes only.
public enum ColorMode: Sendable, Equatable, CaseIterable {
    /// Exact RGB: a direct-colour terminal, or one whose palette entries can be redefined.
    case trueColor
    /// The xterm 256-colour palette (6x6x6 cube plus a 24-step grey ramp).
    case palette256
    /// The 16 ANSI colours; indices 8-15 are the bright variants.
    case basic16
    /// No colour at all: NO_COLOR is set, or the terminal has none.
    case none

    /// Chooses the mode from the environment and what the terminal reports (curses' COLORS and
    /// can_change_color(), passed in so that this stays pure and testable).
    ///
    /// - NO_COLOR set to anything non-empty wins over everything (https://no-color.org).
    /// - TERM=dumb has no colour whatever else is claimed.
    /// - The terminal's colour count is authoritative: curses refuses colour numbers at or above
    ///   COLORS, so TERM=xterm-256color with COLORS=8 can only use 16 (8 plus bold for bright).
    ///   Pass terminalColors < 0 when it is unknown (no curses screen yet); then TERM decides:
    ///   "256color" in it means palette256, any other non-empty TERM basic16.
    /// - COLORTERM=truecolor or 24bit asks for trueColor, granted when the terminal can show RGB:
    ///   it has direct colour (COLORS = 2^24) or can redefine palette entries and has one beyond
    ///   the first 16 for every role (the backend redefines entries 16 and up, keeping the 16
    ///   ANSI colours the user configured).
    ///   A direct-colour terminal gets trueColor without COLORTERM, its terminfo says so. With
    ///   unknown capabilities COLORTERM alone is trusted.
    public static func detect(environment: [String: String], terminalColors: Int, canChangeColor: Bool) -> ColorMode {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return .none }
        let term = (environment["TERM"] ?? "").lowercased()
        if term == "dumb" { return .none }
        let colorterm = (environment["COLORTERM"] ?? "").lowercased()
        let asksForTrueColor = colorterm == "truecolor" || colorterm == "24bit"

        if terminalColors < 0 {
            if asksForTrueColor { return .trueColor }
            if term.contains("256color") { return .palette256 }
            return term.isEmpty ? .none : .basic16
        }

        let directColor = terminalColors >= 1 << 24
        if directColor { return .trueColor }
        let freeEntries = terminalColors - 16
        if asksForTrueColor && canChangeColor && freeEntries >= ThemeKey.allCases.count { return .trueColor }
        if terminalColors >= 256 { return .palette256 }
        // Eight colours are enough for basic16: the backend shows 8-15 as 0-7 in bold.
        if terminalColors >= 8 { return .basic16 }
        return .none
    }
}
