import Testing
@testable import STPExplorer
@testable import STPMethod

@Suite struct RenderingTests {
    static let sizes = [(80, 24), (120, 40), (250, 50)]

    @Test(arguments: sizes) func everyPaneAndTheHeaderAreShown(size: (Int, Int)) {
        let s = ExplorerFixtures.snapshot()
        let grid = ExplorerFixtures.render(s, width: size.0, height: size.1)
        let text = grid.text
        #expect(grid.width == size.0 && grid.height == size.1)
        #expect(text.contains("stp explorer"))
        #expect(text.contains("stimulative training"))
        #expect(text.contains("epoch 3/30"))
        #expect(text.contains("step 17/76"))
        #expect(text.contains("remove 50%"))
        if size.0 >= 120 { #expect(text.contains("SkylakeX")) }
        for pane in [Pane.architecture, .scatter, .curves, .candidates, .log] {
            #expect(text.contains("\(pane.rawValue) \(pane.title)") || text.contains("\(pane.rawValue) architecture"),
                    "pane \(pane.title) at \(size)")
        }
        #expect(text.contains("relative sparsity"))
        #expect(grid.line(size.1 - 1).hasPrefix("q quit"), "the status bar is the last line")
        #expect(!text.contains("needs a terminal"))
    }

    @Test(arguments: [(79, 24), (80, 23), (40, 12)]) func belowTheMinimumTheScreenSaysWhichSizeItNeeds(size: (Int, Int)) {
        let grid = ExplorerFixtures.render(ExplorerFixtures.snapshot(), width: size.0, height: size.1)
        let text = grid.text.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        #expect(text.contains("needs a terminal of at least 80x24"))
        #expect(text.contains("this one is \(size.0)x\(size.1)"))
        #expect(!text.contains("stp explorer"))
        #expect(ExplorerRenderer.tooSmallMessage(width: size.0, height: size.1)[1].contains("\(size.0)x\(size.1)"))
    }

    @Test func theMinimumSizeRendersEverythingThatFits() {
        #expect(ExplorerLayout.fits(width: 80, height: 24))
        #expect(!ExplorerLayout.fits(width: 79, height: 24))
        let grid = ExplorerFixtures.render(ExplorerFixtures.snapshot(), width: 80, height: 24)
        #expect(grid.text.contains("candidates"))
    }

    /// The column of the budget line in the scatter at `width` x `height`.
    func budgetColumn(_ s: ExplorerSnapshot, width: Int, height: Int) -> (expected: Int, grid: CellGrid, rows: Range<Int>) {
        let state = ExplorerUIState()
        let grid = ExplorerFixtures.render(s, state, width: width, height: height)
        let layout = ExplorerLayout.compute(width: width, height: height, visible: state.visiblePanes,
                                            headerHeight: HeaderPanel.height(s, width: width))
        let inner = layout.panes[.scatter]!.inset(1)
        let plot = ScatterPanel.plotArea(inner, RenderContext(snapshot: s, state: state, glyphs: .unicode))!
        return (plot.column(Double(s.targetMACs)), grid, plot.plot.y..<plot.plot.maxY)
    }

    @Test func theBudgetLineIsAtTheBudgetsColumnAndMovesWithTheBudget() {
        let half = ExplorerFixtures.snapshot(budget: "50%")
        let (column50, grid50, rows) = budgetColumn(half, width: 120, height: 40)
        let markers50 = rows.filter { grid50[column50, $0].character == "┊" && grid50[column50, $0].role == .budget }
        #expect(markers50.count >= 3, "the budget line is drawn down the plot")
        let tight = ExplorerFixtures.snapshot(budget: "80%")
        let (column80, grid80, _) = budgetColumn(tight, width: 120, height: 40)
        #expect(column80 < column50, "fewer FLOPs: the line moves left")
        #expect(rows.contains { grid80[column80, $0].character == "┊" })
        #expect(!rows.contains { grid80[column50, $0].character == "┊" && grid80[column50, $0].role == .budget })

        // A budget typed in the UI moves the line in the next frame, before the engine has it.
        var state = ExplorerUIState()
        state.pendingBudget = try! Budget.resolve("80%", for: ExplorerFixtures.space)
        let pending = ExplorerFixtures.render(half, state, width: 120, height: 40)
        let pendingColumn = ScatterPanel.plotArea(
            ExplorerLayout.compute(width: 120, height: 40, visible: state.visiblePanes,
                                   headerHeight: HeaderPanel.height(state.presented(half), width: 120)).panes[.scatter]!.inset(1),
            RenderContext(snapshot: state.presented(half), state: state, glyphs: .unicode))!.column(Double(state.pendingBudget!.target))
        #expect(rows.contains { pending[pendingColumn, $0].character == "┊" && pending[pendingColumn, $0].role == .budget })
        #expect(pending.text.contains("remove 80%"))
    }

    // A diverged run (issue 30): its loss reads nan or inf, in the error role, and says why; a
    // candidate whose KD fitness is non-finite shows it rather than the "-" of a missing value.
    @Test func aNonFiniteLossAndFitnessShowAsSuchNotAsMissing() {
        for (loss, word) in [(Double.nan, "nan"), (Double.infinity, "inf")] {
            var s = ExplorerFixtures.snapshot()
            s.runningLoss = loss
            s.candidates[0].fitness = .nan
            let grid = ExplorerFixtures.render(s, ExplorerUIState(), width: 160, height: 40)
            let header = (0..<HeaderPanel.height(s, width: 160)).map { grid.line($0) }.joined(separator: "\n")
            #expect(header.contains("loss \(word) (non-finite outputs: diverged)"), "\(header)")
            let row = (0..<grid.height).first { grid.line($0).contains("loss \(word)") }!
            let column = Array(grid.line(row)).indices.first { i in Array(grid.line(row))[i...].starts(with: Array("\(word) (non"))}!
            #expect(grid[column, row].role == .error)
            #expect(grid.text.contains(" nan "), "the candidate's fitness")
        }
        #expect(Format.number(nil) == "-" && Format.number(-.infinity) == "-inf" && Format.number(1.5, digits: 1) == "1.5")
    }

    @Test func theSelectedCandidateIsMarkedAndHighlighted() {
        let s = ExplorerFixtures.snapshot()
        let chosen = s.candidates[3]
        var state = ExplorerUIState()
        state.selected = chosen.architecture
        let grid = ExplorerFixtures.render(s, state, width: 120, height: 40)
        let rows = (0..<grid.height).filter { grid.line($0).contains("▶") }
        #expect(rows.count == 1)
        let row = grid.line(rows[0])
        #expect(row.contains(CountFormat.string(chosen.macs)))
        #expect(row.contains(String(format: "%.4f", chosen.fitness)))
        let x = Array(row).firstIndex(of: "▶")!
        #expect(grid[x + 3, rows[0]].background == .selectedBg)
        // The scatter highlights it with the highlight role, and the architecture pane shows it.
        #expect(grid.cells.contains { $0.role == .highlight && ($0.character.unicodeScalars.first!.value & 0xff00) == 0x2800 })
        #expect(grid.text.contains("architecture (selected)"))
    }

    @Test func hidingAPaneRemovesItsPanelAndGivesItsPlace() {
        let s = ExplorerFixtures.snapshot()
        var state = ExplorerUIState()
        let before = ExplorerFixtures.render(s, state, width: 120, height: 40)
        #expect(before.text.contains("3 accuracy vs FLOPs"))
        _ = ExplorerReducer.reduce(&state, key: .char("3"), snapshot: s)
        let after = ExplorerFixtures.render(s, state, width: 120, height: 40)
        #expect(!after.text.contains("accuracy vs FLOPs"))
        let layout = ExplorerLayout.compute(width: 120, height: 40, visible: state.visiblePanes, headerHeight: 3)
        #expect(layout.panes[.architecture]?.width == 120, "the architecture pane takes the whole row")
        _ = ExplorerReducer.reduce(&state, key: .char("7"), snapshot: s)
        let noLog = ExplorerFixtures.render(s, state, width: 120, height: 40)
        #expect(!noLog.text.contains("7 log"))
        #expect(noLog.line(38).contains("search finished"), "the newest event shows above the status bar")
    }

    @Test func tooFewCandidatesSayWhatToDo() {
        let s = ExplorerFixtures.snapshot(candidates: [])
        let text = ExplorerFixtures.render(s, width: 120, height: 40).text
        #expect(text.contains("press s to search"))
    }

    @Test func asciiGlyphsWithoutUnicode() {
        var state = ExplorerUIState()
        state.selected = ExplorerFixtures.snapshot().candidates[0].architecture
        let grid = ExplorerFixtures.render(ExplorerFixtures.snapshot(), state, width: 120, height: 40, glyphs: .ascii)
        let nonASCII = grid.cells.filter { !$0.character.isASCII }
        #expect(nonASCII.isEmpty, "non-ASCII characters: \(Set(nonASCII.map(\.character)))")
        #expect(grid.text.contains("> "))
        // The overlays too: help (arrow keys as words) and the candidate detail.
        for key in [Key.char("?"), .escape, .enter] {
            _ = ExplorerReducer.reduce(&state, key: key, snapshot: ExplorerFixtures.snapshot())
            if key == .escape { continue }
            let overlay = ExplorerFixtures.render(ExplorerFixtures.snapshot(), state, width: 120, height: 40, glyphs: .ascii)
            #expect(overlay.cells.allSatisfy { $0.character.isASCII }, "non-ASCII in \(state.mode): \(Set(overlay.cells.filter { !$0.character.isASCII }.map(\.character)))")
            if key == .char("?") { #expect(overlay.text.contains("j/Down")) }
        }
    }

    @Test func helpOverlayListsEveryKeyOfTheTable() {
        var state = ExplorerUIState()
        _ = ExplorerReducer.reduce(&state, key: .char("?"), snapshot: ExplorerFixtures.snapshot())
        #expect(state.mode == .help)
        let text = ExplorerFixtures.render(ExplorerFixtures.snapshot(), state, width: 120, height: 40).text
        for binding in KeyMap.bindings {
            #expect(text.contains(binding.label), "help lacks \(binding.label)")
            #expect(text.contains(String(binding.help.prefix(30))), "help lacks the text of \(binding.label)")
        }
    }

    @Test(arguments: [(80, 24), (100, 30)]) func onSmallScreensTheHelpStillListsEveryKey(size: (Int, Int)) {
        var state = ExplorerUIState()
        state.mode = .help
        let grid = ExplorerFixtures.render(ExplorerFixtures.snapshot(), state, width: size.0, height: size.1)
        let text = grid.text
        for binding in KeyMap.bindings { #expect(text.contains(binding.label + " "), "help lacks \(binding.label) at \(size)") }
        #expect(text.contains("docs/THEMES.md"))
    }

    @Test func theDetailViewComparesTwoCandidatesBlockByBlock() {
        let s = ExplorerFixtures.snapshot()
        var state = ExplorerUIState()
        state.selected = s.candidates[0].architecture
        _ = ExplorerReducer.reduce(&state, key: .enter, snapshot: s)
        #expect(state.mode == .detail)
        let other = try! #require(state.compareWith)
        #expect(other != state.selected)
        let text = ExplorerFixtures.render(s, state, width: 120, height: 40).text
        #expect(text.contains("candidate detail"))
        #expect(text.contains("A " + s.candidates[0].architecture.text))
        #expect(text.contains("B " + other.text))
        #expect(text.contains("s1 b1") && text.contains("s3 b3"))
        #expect(text.contains("B - A:"))
    }

    @Test func budgetPromptShowsWhatIsTyped() {
        let s = ExplorerFixtures.snapshot()
        var state = ExplorerUIState()
        for key in [Key.char("b"), .char("6"), .char("5"), .char("%")] { _ = ExplorerReducer.reduce(&state, key: key, snapshot: s) }
        let grid = ExplorerFixtures.render(s, state, width: 120, height: 40)
        #expect(grid.line(39).hasPrefix("budget> 65%"))
    }
}

@Suite struct LogPaneTests {
    @Test func longEntriesWrapUnderTheirTextAndTheNewestIsLast() {
        var s = ExplorerFixtures.snapshot()
        let long = "budget 'lots': 'lot' is not a number; expected a form like 50%, remove 50%, keep 30%, 20M, 2.5e7 or 1.2G; possible range is above 0% up to 91.6% FLOPs removed"
        s.log.append(LogEntry(time: 70, level: .error, text: long))
        let grid = ExplorerFixtures.render(s, width: 80, height: 40)
        let text = grid.text
        #expect(text.contains("91.6% FLOPs removed"), "the end of a long entry is shown")
        let rows = (0..<grid.height).filter { grid.line($0).contains("budget 'lots'") }
        #expect(rows.count == 1)
        let next = grid.line(rows[0] + 1)
        #expect(next.hasPrefix("│        "), "continuation lines are indented")
        #expect(grid[9, rows[0]].role == .error)
    }
}

@Suite struct StatusBarTests {
    @Test func aMessageShowsAtTheRightEndOfTheStatusBar() {
        var state = ExplorerUIState()
        state.message = "theme nord"
        let grid = ExplorerFixtures.render(ExplorerFixtures.snapshot(), state, width: 100, height: 30)
        #expect(grid.line(29).hasSuffix(" theme nord"))
        #expect(grid.line(29).hasPrefix("q quit"))
        #expect(grid[99, 29].role == .warning)
    }
}

@Suite struct ArchitecturePaneTests {
    @Test(arguments: [(120, 40), (250, 50)]) func blocksShowKeptWidthsSampleSharesAndWidthHistograms(size: (Int, Int)) {
        let s = ExplorerFixtures.snapshot()
        let state = ExplorerUIState()
        let grid = ExplorerFixtures.render(s, state, width: size.0, height: size.1)
        let layout = ExplorerLayout.compute(width: size.0, height: size.1, visible: state.visiblePanes,
                                            headerHeight: HeaderPanel.height(s, width: size.0))
        let pane = layout.panes[.architecture]!.inset(1)
        let cells = (pane.y..<pane.maxY).flatMap { y in (pane.x..<pane.maxX).map { grid[$0, y] } }
        #expect(cells.contains { $0.role == .kept }, "kept-width bars")
        #expect(cells.contains { $0.role == .sampled }, "histograms of the sampled widths")
        // Block 2 of stage 1 was in 70 of 100 sampled subnets (the fixture's counts).
        let text = (pane.y..<pane.maxY).map { grid.line($0) }.joined(separator: "\n")
        #expect(text.contains("70%"))
        let reference = s.reference!
        // Kept width of block 1 (always kept), with its full width when the cell has room.
        #expect(text.contains("\(reference.widths[0][0])/16 100%") || text.contains(" \(reference.widths[0][0]) 100%"))
    }
}

/// The latency axis and column (issue 12): candidates with predicted latency, `x` switching the
/// plot, and the reducer refusing the switch when no latency model was measured.
@Suite struct LatencyAxisTests {
    /// The fixtures' candidates with a latency that is not proportional to their MACs: each
    /// candidate's latency is 1 ms minus its MACs share, so the cheapest in MACs is the slowest.
    static func snapshot() -> ExplorerSnapshot {
        var s = ExplorerFixtures.snapshot()
        let full = Double(ExplorerFixtures.space.cost.full.macs)
        s.candidates = s.candidates.map { c in
            var c = c
            c.latencyMilliseconds = 2 - Double(c.macs) / full
            c.imagesPerSecond = 1000
            return c
        }
        s.latency = LatencyView(smallestMilliseconds: 0.5, fullMilliseconds: 2, summary: "latency model (2 threads)")
        return s
    }

    @Test func theCandidatesTableShowsTheLatency() {
        let s = Self.snapshot()
        let text = ExplorerFixtures.render(s, width: 160, height: 40).text
        #expect(text.contains("latency"))
        #expect(text.contains(LatencyFormat.milliseconds(s.candidates[0].latencyMilliseconds!)))
    }

    @Test func xSwitchesThePlotToLatencyAndBack() {
        let s = Self.snapshot()
        var state = ExplorerUIState()
        _ = ExplorerReducer.reduce(&state, key: .char("x"), snapshot: s)
        #expect(state.plotAxis == .latency)
        let text = ExplorerFixtures.render(s, state, width: 160, height: 40).text
        #expect(text.contains("batch-1 latency (predicted)"))
        #expect(text.contains("3 accuracy vs latency"))
        #expect(!text.contains("MACs (FLOPs)"))
        // The front is taken along the latency axis: the slowest candidate is on it only if it is
        // also the most accurate one.
        let front = ScatterPanel.accuracyFront(s.candidates, axis: .latency)
        #expect(zip(front, front.dropFirst()).allSatisfy { $0.latencyMilliseconds! <= $1.latencyMilliseconds! && $0.accuracy < $1.accuracy })
        _ = ExplorerReducer.reduce(&state, key: .char("x"), snapshot: s)
        #expect(state.plotAxis == .macs)
        #expect(ExplorerFixtures.render(s, state, width: 160, height: 40).text.contains("MACs (FLOPs)"))
    }

    @Test func withoutALatencyModelTheAxisStaysAndTheStatusSaysWhy() {
        var state = ExplorerUIState()
        _ = ExplorerReducer.reduce(&state, key: .char("x"), snapshot: ExplorerFixtures.snapshot())
        #expect(state.plotAxis == .macs)
        #expect(state.message?.contains("no latency model") == true)
    }
}
