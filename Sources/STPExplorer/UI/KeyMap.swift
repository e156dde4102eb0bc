// Every key of the explorer in every mode, in one table: the reducer dispatches by looking the
// (mode, key) pair up here, and the help overlay (?), the status bar and the README's key table
// (`stp explore --print-keys`) are rendered from it, so none of them can disagree with what a
// key does. A key that is not in the table for the current mode does nothing.

/// The modes of the UI, as the key table names them (ExplorerUIState.Mode without its text).
public enum KeyMode: String, Sendable, Hashable, CaseIterable {
    case normal, budgetPrompt = "budget prompt", filterPrompt = "filter prompt", confirmQuit = "quit?", help, detail
    case compare = "compare"
}

public enum KeyAction: String, Sendable, Hashable, CaseIterable {
    // normal
    case quit, back, help, cycleFocus, cycleFocusBack, down, up, top, bottom
    case open, filter, sortNext, sortReverse, toggleAxis
    case budgetPrompt, budgetUp, budgetDown
    case togglePause, searchNow, export, save, cycleTheme, redraw, togglePane, mouse
    /// Every mode: leave at once (the engine checkpoints first).
    case quitNow
    // budget and filter prompts
    case promptType, promptErase, promptApply, promptCancel
    // the quit confirmation
    case confirmQuit, stay
    // the help overlay
    case closeHelp
    // the detail view
    case compareNext, comparePrevious, closeDetail
    // marking, the compare view
    case mark, compareMarked, exportMarked, clearMarks, closeCompare
}

public struct KeyBinding: Sendable {
    /// The modes the binding works in.
    public var modes: Set<KeyMode>
    public var keys: [Key]
    /// What else the binding takes in its modes: any printable character (a prompt's text), or
    /// any key no other binding of the mode takes (a view any key closes).
    public var catchAll: CatchAll = .none
    public enum CatchAll: Sendable { case none, printable, anyOtherKey }
    /// How the keys are written in the help (e.g. "j/↓", "1-7").
    public var label: String
    public var help: String
    public var action: KeyAction
    /// The short label in the status bar, or nil to leave it out there.
    public var status: String?

    init(_ modes: Set<KeyMode>, keys: [Key], catchAll: CatchAll = .none, label: String, help: String,
         action: KeyAction, status: String? = nil) {
        self.modes = modes
        self.keys = keys
        self.catchAll = catchAll
        self.label = label
        self.help = help
        self.action = action
        self.status = status
    }
}

public enum KeyMap {
    public static let bindings: [KeyBinding] = [
        // Every mode.
        KeyBinding(Set(KeyMode.allCases), keys: [.ctrl("c")], label: "Ctrl-C", help: "quit now, from any mode (checkpoints the run)", action: .quitNow),
        // Normal.
        KeyBinding([.normal, .help], keys: [.char("q")], label: "q", help: "quit (asks when work is unsaved; the run is checkpointed)", action: .quit, status: "quit"),
        KeyBinding([.normal], keys: [.escape], label: "Esc", help: "back: clear the filter, deselect", action: .back),
        KeyBinding([.normal], keys: [.char("?")], label: "?", help: "this help", action: .help, status: "help"),
        KeyBinding([.normal], keys: [.tab], label: "Tab", help: "focus the next pane (candidates, relative sparsity, log)", action: .cycleFocus),
        KeyBinding([.normal], keys: [.backTab], label: "Shift-Tab", help: "focus the previous pane", action: .cycleFocusBack),
        KeyBinding([.normal], keys: [.char("j"), .down], label: "j/↓", help: "next row of the focused pane (selects a candidate)", action: .down),
        KeyBinding([.normal], keys: [.char("k"), .up], label: "k/↑", help: "previous row of the focused pane", action: .up),
        KeyBinding([.normal], keys: [.char("g"), .home], label: "g/Home", help: "first row", action: .top),
        KeyBinding([.normal], keys: [.char("G"), .end], label: "G/End", help: "last row", action: .bottom),
        KeyBinding([.normal], keys: [.enter], label: "Enter", help: "open the selected candidate: per-layer table and a diff against another", action: .open, status: "open"),
        KeyBinding([.normal], keys: [.char("/")], label: "/", help: "filter the candidates (text of the architecture or its summary)", action: .filter, status: "filter"),
        KeyBinding([.normal], keys: [.char("o")], label: "o", help: "sort the candidates by the next column (FLOPs, params, KD fitness, top-1, latency)", action: .sortNext, status: "sort"),
        KeyBinding([.normal], keys: [.char("O")], label: "O", help: "reverse the sort order", action: .sortReverse),
        KeyBinding([.normal], keys: [.char("x")], label: "x", help: "plot accuracy against MACs or against predicted batch-1 latency", action: .toggleAxis),
        KeyBinding([.normal], keys: [.char("b")], label: "b", help: "type a new FLOPs budget (50%, keep 30%, 20M); the best known candidate there shows at once", action: .budgetPrompt, status: "budget"),
        KeyBinding([.normal], keys: [.char("+"), .char("=")], label: "+", help: "remove 5% more FLOPs", action: .budgetUp),
        KeyBinding([.normal], keys: [.char("-")], label: "-", help: "remove 5% fewer FLOPs", action: .budgetDown),
        KeyBinding([.normal], keys: [.char("p"), .char(" ")], label: "p/space", help: "pause or resume training", action: .togglePause, status: "pause"),
        KeyBinding([.normal], keys: [.char("s")], label: "s", help: "search now (KD-guided, on the current weights)", action: .searchNow, status: "search"),
        KeyBinding([.normal, .detail], keys: [.char("e")], label: "e", help: "export the selected candidate: extract, recalibrate BN, evaluate, save + ONNX", action: .export, status: "export"),
        KeyBinding([.normal], keys: [.char("m")], label: "m", help: "mark or unmark the selected candidate (marked ones are kept by re-searches)", action: .mark, status: "mark"),
        KeyBinding([.normal], keys: [.char("c")], label: "c", help: "compare the marked candidates side by side", action: .compareMarked),
        KeyBinding([.normal], keys: [.char("E")], label: "E", help: "export every marked candidate", action: .exportMarked),
        KeyBinding([.normal], keys: [.char("M")], label: "M", help: "unmark every candidate", action: .clearMarks),
        KeyBinding([.normal], keys: [.char("w")], label: "w", help: "write a checkpoint now", action: .save),
        KeyBinding([.normal], keys: [.char("t")], label: "t", help: "next colour theme", action: .cycleTheme, status: "theme"),
        KeyBinding([.normal], keys: [.ctrl("l")], label: "Ctrl-L", help: "redraw the screen", action: .redraw),
        KeyBinding([.normal], keys: Pane.allCases.map { .char(Character(String($0.rawValue))) }, label: "1-7",
                   help: "show or hide a pane: " + Pane.allCases.map { "\($0.rawValue) \($0.title)" }.joined(separator: ", "),
                   action: .togglePane, status: "panes"),
        // Mouse events carry their position, so the binding lists no key; the reducer routes them.
        KeyBinding([.normal], keys: [], label: "mouse", help: "click a pane to focus it, a candidate to select it; the wheel moves in the pane under it",
                   action: .mouse),
        // The budget and filter prompts.
        KeyBinding([.budgetPrompt, .filterPrompt], keys: [], catchAll: .printable, label: "text", help: "type the budget or the filter", action: .promptType),
        KeyBinding([.budgetPrompt, .filterPrompt], keys: [.backspace], label: "Backspace", help: "erase the last character", action: .promptErase),
        KeyBinding([.budgetPrompt], keys: [.enter], label: "Enter", help: "apply the budget", action: .promptApply, status: "apply"),
        KeyBinding([.filterPrompt], keys: [.enter], label: "Enter", help: "keep the filter", action: .promptApply, status: "keep"),
        KeyBinding([.budgetPrompt], keys: [.escape], label: "Esc", help: "cancel: the budget stays", action: .promptCancel, status: "cancel"),
        KeyBinding([.filterPrompt], keys: [.escape], label: "Esc", help: "clear the filter", action: .promptCancel, status: "clear"),
        // The quit confirmation.
        KeyBinding([.confirmQuit], keys: [.char("y"), .char("Y"), .char("q"), .enter], label: "y", help: "save and quit", action: .confirmQuit, status: "save and quit"),
        KeyBinding([.confirmQuit], keys: [.char("n")], catchAll: .anyOtherKey, label: "n", help: "stay (any other key too)", action: .stay, status: "stay"),
        // The help overlay.
        KeyBinding([.help], keys: [], catchAll: .anyOtherKey, label: "any key", help: "close the help", action: .closeHelp),
        // The detail view.
        KeyBinding([.detail], keys: [.char("j"), .down], label: "j/↓", help: "compare with the next candidate", action: .compareNext, status: "compare next"),
        KeyBinding([.detail], keys: [.char("k"), .up], label: "k/↑", help: "compare with the previous candidate", action: .comparePrevious, status: "previous"),
        KeyBinding([.detail], keys: [.escape, .enter, .char("q")], label: "Esc", help: "close the view", action: .closeDetail, status: "back"),
        // The compare view.
        KeyBinding([.compare], keys: [.char("E")], label: "E", help: "export every marked candidate", action: .exportMarked, status: "export all"),
        KeyBinding([.compare], keys: [.escape, .enter, .char("q"), .char("c")], label: "Esc", help: "close the view", action: .closeCompare, status: "back"),
    ]

    /// The binding of `key` in `mode`, or nil: an exact key first, then the mode's catch-all.
    public static func binding(for key: Key, in mode: KeyMode = .normal) -> KeyBinding? {
        let mine = bindings.filter { $0.modes.contains(mode) }
        if let exact = mine.first(where: { $0.keys.contains(key) }) { return exact }
        if case .char(let c) = key, !c.isNewline, let text = mine.first(where: { $0.catchAll == .printable }) { return text }
        if case .mouse = key { return nil }
        if key == .resize { return nil }
        return mine.first { $0.catchAll == .anyOtherKey }
    }

    /// A binding's label as a terminal without Unicode can show it (arrows as words).
    public static func label(_ label: String, unicode: Bool) -> String {
        unicode ? label : label.replacingOccurrences(of: "↓", with: "Down").replacingOccurrences(of: "↑", with: "Up")
    }

    /// The bindings of `mode`, in table order.
    public static func bindings(in mode: KeyMode) -> [KeyBinding] { bindings.filter { $0.modes.contains(mode) } }

    /// "q quit  ? help  ...": the status bar's key hints in `mode`.
    public static func statusHints(in mode: KeyMode = .normal) -> [(key: String, label: String)] {
        bindings(in: mode).compactMap { b in b.status.map { (b.label, $0) } }
    }

    /// The help overlay's lines, mode by mode: a heading line (empty key) before each mode but
    /// the normal one, then its keys and descriptions.
    public static var helpLines: [(key: String, help: String)] {
        var lines = [(key: String, help: String)]()
        for mode in KeyMode.allCases {
            let own = bindings(in: mode).filter { mode == .normal || !$0.modes.contains(.normal) }
            guard !own.isEmpty else { continue }
            if mode != .normal { lines.append(("", "in the \(mode.rawValue)" + (mode == .help ? " overlay" : mode == .detail || mode == .compare ? " view" : ""))) }
            lines += own.map { ($0.label, $0.help) }
        }
        return lines
    }

    /// The README's table of keys.
    public static var markdownTable: String {
        var lines = ["| mode | key | what it does |", "|---|---|---|"]
        for b in bindings {
            let modes = b.modes.count == KeyMode.allCases.count ? "any" : KeyMode.allCases.filter(b.modes.contains).map(\.rawValue).joined(separator: ", ")
            lines.append("| \(modes) | `\(b.label)` | \(b.help) |")
        }
        return lines.joined(separator: "\n")
    }
}

extension ExplorerUIState.Mode {
    /// The key table's name of this mode.
    public var keyMode: KeyMode {
        switch self {
        case .normal: return .normal
        case .budgetEntry: return .budgetPrompt
        case .filterEntry: return .filterPrompt
        case .confirmQuit: return .confirmQuit
        case .help: return .help
        case .detail: return .detail
        case .compare: return .compare
        }
    }
}
