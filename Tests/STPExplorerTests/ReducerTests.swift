import Testing
@testable import STPExplorer
@testable import STPMethod

@Suite struct ReducerTests {
    let snapshot = ExplorerFixtures.snapshot()

    func press(_ keys: [Key], _ state: inout ExplorerUIState, snapshot: ExplorerSnapshot? = nil) -> [UIEffect] {
        keys.flatMap { ExplorerReducer.reduce(&state, key: $0, snapshot: snapshot ?? self.snapshot) }
    }

    @Test func budgetEntrySendsTheTypedTextOnEnter() {
        var state = ExplorerUIState()
        #expect(press([.char("b")], &state).isEmpty)
        #expect(state.mode == .budgetEntry(""))
        let effects = press([.char("k"), .char("e"), .char("e"), .char("p"), .char(" "), .char("3"), .char("x"), .backspace, .char("0"), .char("%"), .enter], &state)
        #expect(effects == [.send(.setBudget(choice("keep 30%")))])
        #expect(state.mode == .normal)
    }

    @Test func aGoodBudgetIsShownAtOnceAndABadOneExplainsItself() {
        var state = ExplorerUIState()
        _ = press([.char("b"), .char("7"), .char("0"), .char("%"), .enter], &state)
        let pending = try! #require(state.pendingBudget)
        #expect(pending.target < snapshot.targetMACs)
        let shown = state.presented(snapshot)
        #expect(shown.budgetText == "remove 70%" && shown.targetMACs == pending.targetMACs && shown.window == pending.window)
        // The engine catches up: the pending budget is forgotten.
        var caughtUp = snapshot
        caughtUp.budgetText = pending.budget.description
        caughtUp.targetMACs = pending.target
        state.reconcile(with: caughtUp)
        #expect(state.pendingBudget == nil)

        var bad = ExplorerUIState()
        let effects = press([.char("b")] + "keep 1%".map { Key.char($0) } + [.enter], &bad)
        #expect(effects == [.send(.setBudget(choice("keep 1%")))], "the engine logs it too")
        #expect(bad.pendingBudget == nil)
        #expect(bad.message?.contains("possible range") == true)
        #expect(bad.message?.hasSuffix("the budget stays remove 50%") == true)
    }

    @Test func pauseIsShownAtOnce() {
        var state = ExplorerUIState()
        #expect(press([.char("p")], &state) == [.send(.pause)])
        #expect(state.presented(snapshot).paused)
        #expect(press([.char(" ")], &state) == [.send(.resume)], "toggles from the pending state")
        var paused = snapshot
        paused.paused = false
        state.reconcile(with: paused)
        #expect(state.pendingPause == nil)
    }

    @Test func searchNowSaysSoUntilTheSearchRuns() {
        var state = ExplorerUIState()
        #expect(press([.char("s")], &state) == [.send(.searchNow)])
        #expect(state.message == ExplorerUIState.searchRequestedMessage)
        state.reconcile(with: snapshot)
        #expect(state.pendingSearch != nil, "still waiting")
        var running = snapshot
        running.search.running = true
        state.reconcile(with: running)
        #expect(state.pendingSearch == nil && state.message == nil)
    }

    @Test func clicksFocusPanesAndSelectTheCandidateUnderThePointer() {
        var state = ExplorerUIState()
        let screen = (width: 120, height: 40)
        let layout = ExplorerLayout.compute(width: 120, height: 40, visible: state.visiblePanes,
                                            headerHeight: HeaderPanel.height(snapshot, width: 120))
        let table = layout.panes[.candidates]!.inset(1)
        let rows = CandidateList.rows(snapshot, filter: "", sort: .macs, descending: false)
        // The third row of the table (below its header line).
        let effects = ExplorerReducer.reduce(&state, key: .mouse(x: table.x + 5, y: table.y + 3, .click), snapshot: snapshot, screen: screen)
        #expect(effects == [.send(.select(rows[2].architecture))])
        // The panel draws the selection on the row that was clicked.
        let grid = ExplorerFixtures.render(snapshot, state, width: 120, height: 40)
        #expect(grid.line(table.y + 3).contains(String(GlyphSet.unicode.selectedMarker)))
        // The wheel moves the selection; a click on the log focuses it.
        #expect(ExplorerReducer.reduce(&state, key: .mouse(x: table.x + 5, y: table.y + 3, .wheelDown), snapshot: snapshot, screen: screen)
                == [.send(.select(rows[3].architecture))])
        let log = layout.panes[.log]!
        _ = ExplorerReducer.reduce(&state, key: .mouse(x: log.x + 3, y: log.y + 1, .click), snapshot: snapshot, screen: screen)
        #expect(state.focus == .log)
        // Clicks on the header line of the table, or while a prompt is open, do nothing.
        #expect(ExplorerReducer.reduce(&state, key: .mouse(x: table.x + 5, y: table.y, .click), snapshot: snapshot, screen: screen).isEmpty)
        _ = press([.char("b")], &state)
        #expect(ExplorerReducer.reduce(&state, key: .mouse(x: table.x + 5, y: table.y + 4, .click), snapshot: snapshot, screen: screen).isEmpty)
    }

    @Test func budgetEntryKeysDoNotTriggerActions() {
        var state = ExplorerUIState()
        // q, s and p are letters of a budget, not quit, search and pause, while typing.
        let effects = press([.char("b"), .char("q"), .char("s"), .char("p")], &state)
        #expect(effects.isEmpty)
        #expect(state.mode == .budgetEntry("qsp"))
        #expect(press([.escape], &state).isEmpty)
        #expect(state.mode == .normal)
        #expect(press([.char("b"), .enter], &state).isEmpty, "an empty budget sends nothing")
    }

    @Test func plusAndMinusStepTheRemovedFraction() {
        var state = ExplorerUIState()
        #expect(press([.char("+")], &state) == [.send(.setBudget(choice("55%")))])
        #expect(press([.char("+")], &state) == [.send(.setBudget(choice("60%")))], "steps from the pending budget, not the engine's")
        #expect(press([.char("-"), .char("-")], &state).last == .send(.setBudget(choice("50%"))))
        #expect(press([.char("-")], &state) == [.send(.setBudget(choice("45%")))])
        let extreme = ExplorerFixtures.snapshot(budget: "91%")
        var fresh = ExplorerUIState()
        #expect(press([.char("+")], &fresh, snapshot: extreme) == [.send(.setBudget(choice("95%", extreme)))], "the step stops at 95%")
        #expect(fresh.message?.contains("possible range") == true, "95% is out of this space's range, and the status bar says so")
    }

    @Test func selectionMovesWithinTheRowsAndStopsAtTheEnds() {
        var state = ExplorerUIState()
        let rows = CandidateList.rows(snapshot, filter: "", sort: .macs, descending: false)
        #expect(press([.char("j")], &state) == [.send(.select(rows[0].architecture))])
        _ = press([.char("j"), .down], &state)
        #expect(state.selected == rows[2].architecture)
        #expect(press([.char("k")], &state) == [.send(.select(rows[1].architecture))])
        #expect(press([.char("G")], &state) == [.send(.select(rows.last!.architecture))])
        #expect(press([.char("j")], &state).isEmpty, "past the last row nothing changes")
        #expect(state.selected == rows.last!.architecture)
        _ = press([.char("g")], &state)
        #expect(press([.up], &state).isEmpty)
        #expect(state.selected == rows[0].architecture)
        #expect(press([.escape], &state) == [.send(.select(nil))])
        #expect(state.selected == nil)
    }

    @Test func filterNarrowsTheRowsAndEscClearsIt() {
        var state = ExplorerUIState()
        let target = snapshot.candidates[5].architecture.text
        _ = press([.char("/")] + target.map { Key.char($0) }, &state)
        #expect(state.filter == target)
        let rows = CandidateList.rows(snapshot, filter: state.filter, sort: state.sort, descending: false)
        #expect(rows.map(\.architecture.text) == [target])
        _ = press([.enter], &state)
        #expect(state.mode == .normal && state.filter == target)
        _ = press([.escape], &state)
        #expect(state.filter.isEmpty)
    }

    @Test func sortCyclesColumnsAndReverses() {
        var state = ExplorerUIState()
        _ = press([.char("o")], &state)
        #expect(state.sort == .parameters)
        _ = press([.char("o"), .char("O")], &state)
        #expect(state.sort == .fitness && state.sortDescending)
        let rows = CandidateList.rows(snapshot, filter: "", sort: state.sort, descending: true)
        #expect(zip(rows, rows.dropFirst()).allSatisfy { $0.fitness >= $1.fitness })
        _ = press([.char("o")], &state)
        let byAccuracy = CandidateList.rows(snapshot, filter: "", sort: .accuracy, descending: false)
        #expect(zip(byAccuracy, byAccuracy.dropFirst()).allSatisfy { $0.accuracy <= $1.accuracy })
    }

    @Test func quitAsksWhenWorkIsUnsavedAndQuitsOnYes() {
        var state = ExplorerUIState()
        #expect(snapshot.unsavedWork != nil)
        #expect(press([.char("q")], &state).isEmpty)
        #expect(state.mode == .confirmQuit)
        #expect(press([.char("n")], &state).isEmpty)
        #expect(state.mode == .normal)
        _ = press([.char("q")], &state)
        #expect(press([.char("y")], &state) == [.send(.quit), .exit])
        var saved = ExplorerFixtures.snapshot(candidates: [])
        saved.stepsSinceSave = 0
        var fresh = ExplorerUIState()
        #expect(press([.char("q")], &fresh, snapshot: saved) == [.send(.quit), .exit], "nothing unsaved: quits at once")
        #expect(press([.ctrl("c")], &fresh) == [.send(.quit), .exit])
    }

    @Test func commandsAndPaneToggles() {
        var state = ExplorerUIState()
        #expect(press([.char("p")], &state) == [.send(.pause)])
        #expect(press([.char(" ")], &state) == [.send(.resume)])
        #expect(press([.char("s")], &state) == [.send(.searchNow)])
        #expect(press([.char("e")], &state) == [.send(.export(snapshot.best!.architecture))], "without a selection: the best")
        #expect(press([.char("t")], &state) == [.cycleTheme])
        #expect(press([.ctrl("l")], &state) == [.redraw])
        #expect(press([.resize], &state) == [.redraw])
        _ = press([.char("6")], &state)
        #expect(!state.isVisible(.candidates))
        #expect(state.focus != .candidates, "focus leaves a hidden pane")
        _ = press([.char("6")], &state)
        #expect(state.isVisible(.candidates))
    }

    @Test func tabCyclesTheFocusThroughVisiblePanes() {
        var state = ExplorerUIState()
        _ = press([.tab], &state)
        #expect(state.focus == .sparsity)
        _ = press([.tab], &state)
        #expect(state.focus == .log)
        _ = press([.tab], &state)
        #expect(state.focus == .candidates)
        _ = press([.char("5"), .tab], &state)
        #expect(state.focus == .log, "a hidden pane is skipped")
        _ = press([.backTab], &state)
        #expect(state.focus == .candidates)
    }
}

/// The budget the reducer sends for `text`, resolved as it resolves it.
private func choice(_ text: String, _ snapshot: ExplorerSnapshot = ExplorerFixtures.snapshot()) -> BudgetChoice {
    BudgetChoice(text, space: snapshot.architectureSpace!, tolerance: snapshot.tolerance)
}
