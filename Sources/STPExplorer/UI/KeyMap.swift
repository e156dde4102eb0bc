// Every key of the explorer, in one table: the reducer looks actions up here, the help overlay
// (?) and the status bar are rendered from it, and so is the README's key table
// (`stp explore --print-keys`). A key that is not in this table does nothing.

public enum KeyAction: String, Sendable, Hashable, CaseIterable {
    case quit, back, help, cycleFocus, cycleFocusBack, down, up, top, bottom
    case open, filter, sortNext, sortReverse
    case budgetPrompt, budgetUp, budgetDown
    case togglePause, searchNow, export, save, cycleTheme, redraw, togglePane, mouse
}

public struct KeyBinding: Sendable {
    public var keys: [Key]
    /// How the keys are written in the help (e.g. "j/↓", "1-7").
    public var label: String
    public var help: String
    public var action: KeyAction
    /// The short label in the status bar, or nil to leave it out there.
    public var status: String?
}

public enum KeyMap {
    public static let bindings: [KeyBinding] = [
        KeyBinding(keys: [.char("q")], label: "q", help: "quit (asks when work is unsaved; the run is checkpointed)", action: .quit, status: "quit"),
        KeyBinding(keys: [.ctrl("c")], label: "Ctrl-C", help: "quit now (checkpoints the run)", action: .quit, status: nil),
        KeyBinding(keys: [.escape], label: "Esc", help: "back: close a view or prompt, clear the filter, deselect", action: .back, status: nil),
        KeyBinding(keys: [.char("?")], label: "?", help: "this help", action: .help, status: "help"),
        KeyBinding(keys: [.tab], label: "Tab", help: "focus the next pane (candidates, relative sparsity, log)", action: .cycleFocus, status: "focus"),
        KeyBinding(keys: [.backTab], label: "Shift-Tab", help: "focus the previous pane", action: .cycleFocusBack, status: nil),
        KeyBinding(keys: [.char("j"), .down], label: "j/↓", help: "next row of the focused pane (selects a candidate)", action: .down, status: nil),
        KeyBinding(keys: [.char("k"), .up], label: "k/↑", help: "previous row of the focused pane", action: .up, status: nil),
        KeyBinding(keys: [.char("g"), .home], label: "g/Home", help: "first row", action: .top, status: nil),
        KeyBinding(keys: [.char("G"), .end], label: "G/End", help: "last row", action: .bottom, status: nil),
        KeyBinding(keys: [.enter], label: "Enter", help: "open the selected candidate: per-layer table and a diff against another", action: .open, status: "open"),
        KeyBinding(keys: [.char("/")], label: "/", help: "filter the candidates (text of the architecture or its summary)", action: .filter, status: "filter"),
        KeyBinding(keys: [.char("o")], label: "o", help: "sort the candidates by the next column (FLOPs, params, KD fitness, top-1)", action: .sortNext, status: "sort"),
        KeyBinding(keys: [.char("O")], label: "O", help: "reverse the sort order", action: .sortReverse, status: nil),
        KeyBinding(keys: [.char("b")], label: "b", help: "type a new FLOPs budget (50%, keep 30%, 20M); the search re-targets at once", action: .budgetPrompt, status: "budget"),
        KeyBinding(keys: [.char("+"), .char("=")], label: "+", help: "remove 5% more FLOPs", action: .budgetUp, status: nil),
        KeyBinding(keys: [.char("-")], label: "-", help: "remove 5% fewer FLOPs", action: .budgetDown, status: nil),
        KeyBinding(keys: [.char("p"), .char(" ")], label: "p/space", help: "pause or resume training", action: .togglePause, status: "pause"),
        KeyBinding(keys: [.char("s")], label: "s", help: "search now (KD-guided, on the current weights)", action: .searchNow, status: "search"),
        KeyBinding(keys: [.char("e")], label: "e", help: "export the selected candidate: extract, recalibrate BN, evaluate, save + ONNX", action: .export, status: "export"),
        KeyBinding(keys: [.char("w")], label: "w", help: "write a checkpoint now", action: .save, status: nil),
        KeyBinding(keys: [.char("t")], label: "t", help: "next colour theme", action: .cycleTheme, status: "theme"),
        KeyBinding(keys: [.ctrl("l")], label: "Ctrl-L", help: "redraw the screen", action: .redraw, status: nil),
        KeyBinding(keys: Pane.allCases.map { .char(Character(String($0.rawValue))) }, label: "1-7",
                   help: "show or hide a pane: " + Pane.allCases.map { "\($0.rawValue) \($0.title)" }.joined(separator: ", "),
                   action: .togglePane, status: "panes"),
        // Mouse events carry their position, so the binding lists no key; the reducer routes them.
        KeyBinding(keys: [], label: "mouse", help: "click a pane to focus it, a candidate to select it; the wheel moves in the pane under it",
                   action: .mouse, status: nil),
    ]

    /// The binding of `key`, or nil.
    public static func binding(for key: Key) -> KeyBinding? {
        bindings.first { $0.keys.contains(key) }
    }

    /// "q quit  ? help  ...": the status bar's key hints.
    public static var statusHints: [(key: String, label: String)] {
        bindings.compactMap { b in b.status.map { (b.label, $0) } }
    }

    /// The help overlay's lines: key column and description.
    public static var helpLines: [(key: String, help: String)] {
        bindings.map { ($0.label, $0.help) }
    }

    /// The README's table of keys.
    public static var markdownTable: String {
        var lines = ["| key | what it does |", "|---|---|"]
        for b in bindings { lines.append("| `\(b.label)` | \(b.help) |") }
        return lines.joined(separator: "\n")
    }
}
