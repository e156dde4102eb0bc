// A key press as the explorer understands it, independent of curses' key codes (the backend
// translates them), so that the reducer and the key table are testable without a terminal.

public enum Key: Hashable, Sendable {
    case char(Character)
    case ctrl(Character)      // Ctrl plus a letter, lowercase: .ctrl("l")
    case up, down, left, right, home, end, pageUp, pageDown
    case enter, escape, tab, backTab, backspace
    case resize
    /// A mouse event at a screen cell.
    case mouse(x: Int, y: Int, MouseEvent)

    public enum MouseEvent: Hashable, Sendable { case click, wheelUp, wheelDown }

    /// How the key is written in the help and the README.
    public var label: String {
        switch self {
        case .char(" "): return "space"
        case .char(let c): return String(c)
        case .ctrl(let c): return "Ctrl-" + String(c).uppercased()
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .home: return "Home"
        case .end: return "End"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .tab: return "Tab"
        case .backTab: return "Shift-Tab"
        case .backspace: return "Backspace"
        case .resize: return "resize"
        case .mouse: return "mouse"
        }
    }
}
