import Foundation
import STPEngine
import STPMethod

// Keys to state changes and effects, as a pure function of the UI state, the key and the latest
// snapshot: everything the keyboard does is testable without a terminal or an engine.

public enum ExplorerReducer {
    /// Budget step of + and -: five percentage points of FLOPs removed.
    public static let budgetStep = 5

    /// `screen` is the terminal's size, which mouse events need to find the pane under them.
    public static func reduce(_ state: inout ExplorerUIState, key: Key, snapshot: ExplorerSnapshot,
                              screen: (width: Int, height: Int) = (0, 0)) -> [UIEffect] {
        if key == .resize { return [.redraw] }
        if case .mouse(let x, let y, let event) = key {
            return mouse(x: x, y: y, event: event, state: &state, snapshot: snapshot, screen: screen)
        }
        // Every key of every mode goes through the key table (KeyMap), so what a key does is
        // what the help and the status bar say.
        guard let binding = KeyMap.binding(for: key, in: state.mode.keyMode) else { return [] }
        return perform(binding.action, key: key, state: &state, snapshot: snapshot)
    }

    private static func perform(_ action: KeyAction, key: Key, state: inout ExplorerUIState, snapshot: ExplorerSnapshot) -> [UIEffect] {
        let rows = CandidateList.rows(snapshot, filter: state.filter, sort: state.sort, descending: state.sortDescending)
        switch action {
        case .quitNow, .confirmQuit:
            return [.send(.quit), .exit]
        case .stay, .closeHelp, .closeDetail, .closeCompare:
            state.mode = .normal
        case .mark:
            guard let a = state.selected ?? rows.first?.architecture else { return [] }
            if let i = state.marked.firstIndex(of: a) { state.marked.remove(at: i) } else { state.marked.append(a) }
            return [.send(.pin(state.marked))]
        case .clearMarks:
            guard !state.marked.isEmpty else { return [] }
            state.marked = []
            return [.send(.pin([]))]
        case .compareMarked:
            guard state.marked.count >= 2 else {
                state.message = "mark two or more candidates with m to compare them"
                return []
            }
            state.mode = .compare
        case .exportMarked:
            return state.marked.map { .send(.export($0)) }
        case .promptType, .promptErase, .promptApply, .promptCancel:
            return prompt(action, key: key, state: &state, snapshot: snapshot)
        case .compareNext, .comparePrevious:
            compare(next: action == .compareNext, state: &state, rows: rows)
        case .quit:
            if snapshot.unsavedWork != nil && !snapshot.stopped {
                state.mode = .confirmQuit
                return []
            }
            return [.send(.quit), .exit]
        case .back:
            if !state.filter.isEmpty { state.filter = ""; return [] }
            if state.selected != nil {
                state.selected = nil
                return [.send(.select(nil))]
            }
            return []
        case .help:
            state.mode = .help
        case .cycleFocus, .cycleFocusBack:
            let order = Pane.focusable.filter(state.isVisible)
            guard !order.isEmpty else { return [] }
            let i = order.firstIndex(of: state.focus) ?? -1
            let step = action == .cycleFocus ? 1 : order.count - 1
            state.focus = order[(max(i, 0) + (i < 0 ? 0 : step)) % order.count]
        case .down, .up, .top, .bottom:
            return move(action, state: &state, rows: rows, snapshot: snapshot)
        case .open:
            var effects = [UIEffect]()
            if state.selected == nil || !rows.contains(where: { $0.architecture == state.selected }) {
                guard let first = rows.first else { return [] }
                state.selected = first.architecture
                effects.append(.send(.select(first.architecture)))
            }
            state.compareWith = defaultComparison(for: state.selected, rows: rows, snapshot: snapshot)
            state.mode = .detail
            return effects
        case .filter:
            // The filter is typed into the candidates pane, shown for it when it was hidden.
            state.mode = .filterEntry(state.filter)
            state.visiblePanes.insert(.candidates)
            state.focus = .candidates
        case .sortNext:
            state.sort = state.sort.next
        case .sortReverse:
            state.sortDescending.toggle()
        case .toggleAxis:
            if snapshot.latency == nil && state.plotAxis == .macs {
                state.message = "no latency model: it is measured when the session starts (not with --no-latency)"
            } else {
                state.plotAxis = state.plotAxis == .macs ? .latency : .macs
            }
        case .budgetPrompt:
            state.mode = .budgetEntry("")
        case .budgetUp, .budgetDown:
            guard let text = steppedBudget(state.presented(snapshot), up: action == .budgetUp) else { return [] }
            return setBudget(text, state: &state, snapshot: snapshot)
        case .togglePause:
            let paused = !(state.pendingPause ?? snapshot.paused)
            state.pendingPause = paused
            return [.send(paused ? .pause : .resume)]
        case .searchNow:
            if !snapshot.search.running {
                state.pendingSearch = snapshot.search.completed
                state.message = ExplorerUIState.searchRequestedMessage
            }
            return [.send(.searchNow)]
        case .export:
            guard let a = state.selected ?? snapshot.best?.architecture ?? snapshot.reference else { return [] }
            return [.send(.export(a))]
        case .save:
            return [.send(.save)]
        case .cycleTheme:
            return [.cycleTheme]
        case .redraw:
            return [.redraw]
        case .mouse:
            return []   // routed by position before the key table is consulted
        case .togglePane:
            guard case .char(let c) = key, let n = Int(String(c)), let pane = Pane(rawValue: n) else { return [] }
            if state.visiblePanes.contains(pane) { state.visiblePanes.remove(pane) } else { state.visiblePanes.insert(pane) }
            if !state.isVisible(state.focus), let next = Pane.focusable.first(where: state.isVisible) { state.focus = next }
        }
        return []
    }

    private static func move(_ action: KeyAction, state: inout ExplorerUIState, rows: [Candidate], snapshot: ExplorerSnapshot) -> [UIEffect] {
        switch state.focus {
        case .log:
            let count = snapshot.log.count
            state.logScroll = scrolled(state.logScroll, action: action, count: count)
            return []
        case .sparsity:
            let count = snapshot.sparsity?.report.layers.count ?? 0
            state.sparsityScroll = scrolled(state.sparsityScroll, action: action, count: count)
            return []
        default:
            guard !rows.isEmpty else { return [] }
            let current = rows.firstIndex { $0.architecture == state.selected }
            let index: Int
            switch action {
            case .down: index = current.map { min($0 + 1, rows.count - 1) } ?? 0
            case .up: index = current.map { max($0 - 1, 0) } ?? 0
            case .top: index = 0
            default: index = rows.count - 1
            }
            guard rows[index].architecture != state.selected else { return [] }
            state.selected = rows[index].architecture
            return [.send(.select(rows[index].architecture))]
        }
    }

    /// A click focuses the pane under it (and selects the candidate row under it); the wheel
    /// moves in that pane as j and k do. Only in the normal mode, on a screen large enough.
    private static func mouse(x: Int, y: Int, event: Key.MouseEvent, state: inout ExplorerUIState, snapshot: ExplorerSnapshot,
                              screen: (width: Int, height: Int)) -> [UIEffect] {
        guard state.mode == .normal, ExplorerLayout.fits(width: screen.width, height: screen.height) else { return [] }
        let shown = state.presented(snapshot)
        let layout = ExplorerLayout.compute(width: screen.width, height: screen.height, visible: state.visiblePanes,
                                            headerHeight: HeaderPanel.height(shown, width: screen.width))
        guard let (pane, rect) = layout.panes.first(where: { x >= $0.value.x && x < $0.value.maxX && y >= $0.value.y && y < $0.value.maxY }),
              Pane.focusable.contains(pane) else { return [] }
        state.focus = pane
        let rows = CandidateList.rows(snapshot, filter: state.filter, sort: state.sort, descending: state.sortDescending)
        switch event {
        case .wheelUp: return move(.up, state: &state, rows: rows, snapshot: snapshot)
        case .wheelDown: return move(.down, state: &state, rows: rows, snapshot: snapshot)
        case .click:
            guard pane == .candidates else { return [] }
            let inner = rect.inset(1)
            let selected = rows.firstIndex { $0.architecture == state.selected }
            let first = CandidatesPanel.firstVisibleRow(selected: selected, count: rows.count, visible: inner.height - 1)
            let index = first + (y - inner.y - 1)
            guard y > inner.y, index >= 0, index < rows.count, rows[index].architecture != state.selected else { return [] }
            state.selected = rows[index].architecture
            return [.send(.select(rows[index].architecture))]
        }
    }

    /// Scroll offsets count rows back from the newest (log) or down from the first (sparsity).
    private static func scrolled(_ offset: Int, action: KeyAction, count: Int) -> Int {
        let maxOffset = max(0, count - 1)
        switch action {
        case .down: return min(offset + 1, maxOffset)
        case .up: return max(offset - 1, 0)
        case .top: return 0
        default: return maxOffset
        }
    }

    /// Resolves `text` against the snapshot's space, the only place a typed budget is parsed: a
    /// good budget becomes pending (the header and the budget line show it in the next frame), a
    /// bad one's error shows in the status bar; either way the engine gets the outcome (and logs it).
    private static func setBudget(_ text: String, state: inout ExplorerUIState, snapshot: ExplorerSnapshot) -> [UIEffect] {
        guard let space = snapshot.architectureSpace else {
            state.message = "the budget can be set once the model is loaded"
            return []
        }
        let choice = BudgetChoice(text, space: space, tolerance: snapshot.tolerance)
        if let resolved = choice.resolved {
            state.pendingBudget = resolved
            state.message = nil
        } else {
            state.message = (choice.error ?? "") + "; the budget stays \(state.presented(snapshot).budgetText)"
        }
        return [.send(.setBudget(choice))]
    }

    /// The budget and filter prompts: typing, erasing, applying, cancelling. The filter
    /// applies as it is typed; the budget when Enter applies it.
    private static func prompt(_ action: KeyAction, key: Key, state: inout ExplorerUIState, snapshot: ExplorerSnapshot) -> [UIEffect] {
        let isBudget: Bool, text: String
        switch state.mode {
        case .budgetEntry(let t): isBudget = true; text = t
        case .filterEntry(let t): isBudget = false; text = t
        default: return []
        }
        func edit(_ new: String) {
            state.mode = isBudget ? .budgetEntry(new) : .filterEntry(new)
            if !isBudget { state.filter = new }
        }
        switch action {
        case .promptType:
            guard case .char(let c) = key else { return [] }
            if !isBudget || text.count < 40 { edit(text + String(c)) }
        case .promptErase:
            edit(String(text.dropLast()))
        case .promptApply:
            state.mode = .normal
            if isBudget {
                let trimmed = text.trimmingCharacters(in: .whitespaces)
                if !trimmed.isEmpty { return setBudget(trimmed, state: &state, snapshot: snapshot) }
            } else {
                state.filter = text
            }
        default:   // .promptCancel
            if !isBudget { state.filter = "" }
            state.mode = .normal
        }
        return []
    }

    /// The detail view's j/k: the candidate the selected one is compared with.
    private static func compare(next: Bool, state: inout ExplorerUIState, rows all: [Candidate]) {
        let rows = all.filter { $0.architecture != state.selected }
        guard !rows.isEmpty else { return }
        let current = rows.firstIndex { $0.architecture == state.compareWith }
        let index = current.map { next ? min($0 + 1, rows.count - 1) : max($0 - 1, 0) } ?? 0
        state.compareWith = rows[index].architecture
    }

    /// The best candidate when another is selected, else the next cheaper (or dearer) row.
    static func defaultComparison(for selected: Architecture?, rows: [Candidate], snapshot: ExplorerSnapshot) -> Architecture? {
        if let best = snapshot.best?.architecture, best != selected { return best }
        return rows.first { $0.architecture != selected }?.architecture
    }

    /// The budget text of + or -: the removed fraction rounded to the step, moved one step, kept
    /// within 5%...95%.
    static func steppedBudget(_ snapshot: ExplorerSnapshot, up: Bool) -> String? {
        guard let full = snapshot.space?.fullMACs, full > 0, snapshot.targetMACs > 0 else { return nil }
        let removed = 100 * (1 - Double(snapshot.targetMACs) / Double(full))
        let rounded = Int((removed / Double(budgetStep)).rounded()) * budgetStep
        let next = min(95, max(budgetStep, rounded + (up ? budgetStep : -budgetStep)))
        return "\(next)%"
    }
}
