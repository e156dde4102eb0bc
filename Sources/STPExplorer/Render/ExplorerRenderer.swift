// Composes a whole frame: the layout for the size, each visible pane in its frame, the log line,
// the status bar and any overlay (help, candidate detail). The result is a plain CellGrid, the
// same in tests as on the terminal.

public enum ExplorerRenderer {
    public static func render(snapshot engineSnapshot: ExplorerSnapshot, state: ExplorerUIState, width: Int, height: Int,
                              glyphs: GlyphSet) -> CellGrid {
        let snapshot = state.presented(engineSnapshot)
        var grid = CellGrid(width: width, height: height)
        guard ExplorerLayout.fits(width: width, height: height) else {
            drawTooSmall(&grid)
            return grid
        }
        let c = RenderContext(snapshot: snapshot, state: state, glyphs: glyphs)
        let headerHeight = HeaderPanel.height(snapshot, width: width)
        let layout = ExplorerLayout.compute(width: width, height: height, visible: state.visiblePanes, headerHeight: headerHeight)
        if let header = layout.header { HeaderPanel.draw(&grid, header, c) }
        for (pane, rect) in layout.panes.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let focused = pane == state.focus
            let title: String?
            switch pane {
            case .architecture: title = ArchitecturePanel.title(c)
            case .candidates: title = CandidatesPanel.title(c)
            case .scatter: title = state.plotAxis == .latency ? "accuracy vs latency" : nil
            case .sparsity:
                title = snapshot.reference == nil ? nil
                    : "relative sparsity of \(c.state.selected != nil ? "selected" : snapshot.referenceKind.rawValue)"
            default: title = nil
            }
            let inner = PanelFrame.draw(&grid, rect, pane: pane, title: title, focused: focused, glyphs: glyphs)
            switch pane {
            case .header: break
            case .architecture: ArchitecturePanel.draw(&grid, inner, c)
            case .scatter: ScatterPanel.draw(&grid, inner, c)
            case .curves: CurvesPanel.draw(&grid, inner, c)
            case .sparsity: SparsityPanel.draw(&grid, inner, c)
            case .candidates: CandidatesPanel.draw(&grid, inner, c)
            case .log: LogPanel.draw(&grid, inner, c)
            }
        }
        if let line = layout.logLine { LogPanel.drawLatest(&grid, line, c) }
        switch state.mode {
        case .help:
            // The help may cover the header too: on a small screen every row counts.
            HelpOverlay.draw(&grid, Rect(x: 0, y: 0, width: width, height: height - 1), c)
        case .detail: DetailView.draw(&grid, layout.body, c)
        case .compare: CompareView.draw(&grid, layout.body, c)
        default: break
        }
        StatusBar.draw(&grid, layout.status, c)
        return grid
    }

    /// The message of a terminal below the minimum size.
    public static func tooSmallMessage(width: Int, height: Int) -> [String] {
        ["stp explore needs a terminal of at least \(ExplorerLayout.minimumWidth)x\(ExplorerLayout.minimumHeight)",
         "this one is \(width)x\(height): make it larger (training goes on), q quits"]
    }

    private static func drawTooSmall(_ grid: inout CellGrid) {
        // Word-wrapped to the width: the message must be readable on the smallest terminal.
        var rows = [(String, Bool)]()
        for (i, line) in tooSmallMessage(width: grid.width, height: grid.height).enumerated() {
            var current = ""
            for word in line.split(separator: " ") {
                if !current.isEmpty && current.count + 1 + word.count > grid.width {
                    rows.append((current, i == 0))
                    current = String(word)
                } else {
                    current += (current.isEmpty ? "" : " ") + word
                }
            }
            rows.append((current, i == 0))
        }
        let top = max(0, (grid.height - rows.count) / 2)
        for (i, (text, first)) in rows.enumerated() {
            grid.text(text, x: max(0, (grid.width - text.count) / 2), y: top + i, role: first ? .warning : .mainFg,
                      attributes: first ? [.bold] : [])
        }
    }
}
