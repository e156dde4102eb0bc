import Testing
@testable import STPEngine
@testable import STPExplorer
@testable import STPMethod

// Every mode against every key (each bound key, printable ASCII, the special keys, a few
// unbound ones): Ctrl-C always quits, the prompts emit only their own command, every key does
// what the key table says for its mode and nothing where the table has nothing, and random key
// sequences never leave the focus on a hidden pane.

private let specialKeys: [Key] = [.up, .down, .left, .right, .home, .end, .pageUp, .pageDown, .enter, .escape, .tab,
                                  .backTab, .backspace, .resize, .ctrl("c"), .ctrl("l"), .ctrl("x"), .ctrl("a")]
private let allKeys: [Key] = {
    var keys = specialKeys + KeyMap.bindings.flatMap(\.keys)
    keys += (32...126).map { Key.char(Character(UnicodeScalar($0)!)) }
    var seen = Set<Key>()
    return keys.filter { seen.insert($0).inserted }
}()

/// A state in each mode (a detail view needs a selection; prompts hold some text).
private func states(_ snapshot: ExplorerSnapshot) -> [ExplorerUIState] {
    let modes: [ExplorerUIState.Mode] = [.normal, .budgetEntry("6"), .filterEntry("d="), .confirmQuit, .help, .detail, .compare]
    return modes.map { mode in
        var s = ExplorerUIState()
        s.selected = snapshot.candidates[0].architecture
        s.compareWith = snapshot.candidates[1].architecture
        s.marked = [snapshot.candidates[1].architecture, snapshot.candidates[2].architecture]
        s.mode = mode
        return s
    }
}

@Test func ctrlCQuitsFromEveryModeAndEveryStateOfThePanes() {
    let snapshot = ExplorerFixtures.snapshot()
    for var state in states(snapshot) {
        for hidden in [Set<Pane>(), [.candidates], [.candidates, .sparsity, .log]] {
            state.visiblePanes = Set(Pane.allCases).subtracting(hidden)
            var s = state
            let effects = ExplorerReducer.reduce(&s, key: .ctrl("c"), snapshot: snapshot)
            #expect(effects == [.send(.quit), .exit], "Ctrl-C in \(state.mode)")
        }
    }
}

@Test func thePromptsEmitOnlyTheirOwnCommand() {
    let snapshot = ExplorerFixtures.snapshot()
    for state in states(snapshot) where state.mode.keyMode == .budgetPrompt || state.mode.keyMode == .filterPrompt {
        for key in allKeys where key != .ctrl("c") {
            var s = state
            let effects = ExplorerReducer.reduce(&s, key: key, snapshot: snapshot)
            switch state.mode.keyMode {
            case .budgetPrompt:
                // Only Enter sends, and only the budget typed.
                if key == .enter { #expect(effects == [.send(.setBudget(BudgetChoice("6", space: snapshot.architectureSpace!, tolerance: snapshot.tolerance)))]) } else if key == .resize { #expect(effects == [.redraw]) } else { #expect(effects.isEmpty, "\(key.label) in the budget prompt: \(effects)") }
            default:
                #expect(effects.isEmpty || (key == .resize && effects == [.redraw]), "\(key.label) in the filter prompt: \(effects)")
            }
            // A printable key is typed, never taken as a command.
            if case .char(let c) = key {
                switch s.mode {
                case .budgetEntry(let text): #expect(text == "6" + String(c))
                case .filterEntry(let text): #expect(text == "d=" + String(c) && s.filter == text)
                default: Issue.record("\(key.label) left the prompt")
                }
            }
        }
    }
}

@Test func everyKeyDoesWhatTheTableSaysForItsModeAndNothingElse() {
    let snapshot = ExplorerFixtures.snapshot()
    for state in states(snapshot) {
        let mode = state.mode.keyMode
        for key in allKeys where key != .resize {
            var s = state
            let effects = ExplorerReducer.reduce(&s, key: key, snapshot: snapshot)
            guard let binding = KeyMap.binding(for: key, in: mode) else {
                #expect(effects.isEmpty && s == state, "\(key.label) is not bound in \(mode) but did something")
                continue
            }
            switch binding.action {
            case .quitNow, .confirmQuit: #expect(effects == [.send(.quit), .exit])
            case .stay, .closeHelp, .closeDetail, .closeCompare: #expect(s.mode == .normal && effects.isEmpty)
            case .mark:
                #expect(s.marked == state.marked + [state.selected!] && effects == [.send(.pin(s.marked))])
            case .clearMarks: #expect(s.marked.isEmpty && effects == [.send(.pin([]))])
            case .compareMarked: #expect(s.mode == .compare && effects.isEmpty)
            case .exportMarked: #expect(effects == state.marked.map { .send(.export($0)) })
            case .compareNext, .comparePrevious: #expect(s.mode == .detail && effects.isEmpty && s.compareWith != s.selected)
            case .export: #expect(effects == [.send(.export(state.selected!))])
            case .help: #expect(s.mode == .help)
            case .budgetPrompt: #expect(s.mode == .budgetEntry(""))
            case .filter: #expect(s.mode == .filterEntry("") && s.focus == .candidates && s.isVisible(.candidates))
            case .open: #expect(s.mode == .detail)
            case .searchNow: #expect(effects == [.send(.searchNow)])
            case .save: #expect(effects == [.send(.save)])
            case .cycleTheme: #expect(effects == [.cycleTheme])
            case .redraw: #expect(effects == [.redraw])
            case .togglePause: #expect(effects == [.send(snapshot.paused ? .resume : .pause)])
            case .quit: #expect(s.mode == .confirmQuit || effects == [.send(.quit), .exit])
            case .promptApply:
                #expect(s.mode == .normal && effects == (mode == .budgetPrompt ? [.send(.setBudget(BudgetChoice("6", space: snapshot.architectureSpace!, tolerance: snapshot.tolerance)))] : []))
            case .budgetUp, .budgetDown:
                #expect(effects.count == 1 && { if case .send(.setBudget) = effects[0] { return true }; return false }())
            default:
                // Navigation, sorting, panes and prompt editing change the UI state only.
                #expect(!effects.contains(.exit) && effects.allSatisfy { if case .send(.select) = $0 { return true }; return false },
                        "\(key.label) (\(binding.action)) in \(mode): \(effects)")
            }
        }
    }
}

@Test func randomKeySequencesNeverFocusAHiddenPane() {
    let snapshot = ExplorerFixtures.snapshot()
    var rng = SeededRandom(seed: 42)
    // Keys that leave the explorer end a sequence; the rest are drawn at random.
    let keys = allKeys.filter { $0 != .ctrl("c") && $0 != .char("q") && $0 != .char("y") && $0 != .char("Y") }
    for _ in 0..<300 {
        var state = ExplorerUIState()
        for _ in 0..<40 {
            let key = keys[Int(rng.next() % UInt64(keys.count))]
            let effects = ExplorerReducer.reduce(&state, key: key, snapshot: snapshot)
            if effects.contains(.exit) { break }
            let shown = Pane.focusable.filter(state.isVisible)
            if !shown.isEmpty { #expect(state.isVisible(state.focus), "focus on hidden \(state.focus) after \(key.label)") }
        }
    }
}

@Test func markedCandidatesAreComparedSideBySidePinnedAndExportedTogether() {
    let snapshot = ExplorerFixtures.snapshot()
    let a = snapshot.candidates[0].architecture, b = snapshot.candidates[1].architecture
    var state = ExplorerUIState()
    // One marked is not enough to compare.
    state.selected = a
    #expect(ExplorerReducer.reduce(&state, key: .char("m"), snapshot: snapshot) == [.send(.pin([a]))])
    _ = ExplorerReducer.reduce(&state, key: .char("c"), snapshot: snapshot)
    #expect(state.mode == .normal && state.message?.contains("mark two") == true)
    state.selected = b
    _ = ExplorerReducer.reduce(&state, key: .char("m"), snapshot: snapshot)
    #expect(state.marked == [a, b])
    _ = ExplorerReducer.reduce(&state, key: .char("c"), snapshot: snapshot)
    #expect(state.mode == .compare)
    let text = ExplorerFixtures.render(snapshot, state, width: 120, height: 40).text
    #expect(text.contains("compare 2 marked") && text.contains("#1 \(a.text)") && text.contains("#2 \(b.text)"))
    #expect(text.contains("KD fit") && text.contains("s1 b1"))
    #expect(ExplorerReducer.reduce(&state, key: .char("E"), snapshot: snapshot) == [.send(.export(a)), .send(.export(b))])
    _ = ExplorerReducer.reduce(&state, key: .escape, snapshot: snapshot)
    #expect(state.mode == .normal)
    // Unmarking by m again, and M clears all.
    _ = ExplorerReducer.reduce(&state, key: .char("m"), snapshot: snapshot)
    #expect(state.marked == [a])
    #expect(ExplorerReducer.reduce(&state, key: .char("M"), snapshot: snapshot) == [.send(.pin([]))] && state.marked.isEmpty)
}
