import STPMethod

// What the UI remembers between frames, apart from the engine's snapshot: which panes are shown,
// which has the focus, the selected candidate, sort and filter, an open prompt or view. Changed
// only by the reducer, from keys.

public struct ExplorerUIState: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        case normal
        case budgetEntry(String)
        case filterEntry(String)
        case confirmQuit
        case help
        case detail
        /// The marked candidates side by side.
        case compare
    }

    public var mode: Mode = .normal
    public var visiblePanes: Set<Pane> = Set(Pane.allCases)
    public var focus: Pane = .candidates
    /// The selected candidate (by architecture, so that it stays selected as rows move).
    public var selected: Architecture?
    /// Marked candidates, in the order they were marked: compared side by side (c), exported
    /// together (E), and pinned in the engine so that a re-search keeps them.
    public var marked: [Architecture] = []
    /// The candidate the detail view compares the selected one with.
    public var compareWith: Architecture?
    public var sort: CandidateSort = .macs
    /// What the accuracy plot's x axis shows.
    public var plotAxis: PlotAxis = .macs
    public var sortDescending = false
    public var filter = ""
    /// First row shown of the log and sparsity panes when they scroll (0: follow the newest).
    public var logScroll = 0
    public var sparsityScroll = 0
    public var themeName: String
    /// A short message for the status bar (set by the app, e.g. a theme error).
    public var message: String?

    /// A budget the UI resolved and sent, shown until the engine's snapshot has it.
    public var pendingBudget: ResolvedBudget?
    /// A pause or resume sent and not yet in the snapshot.
    public var pendingPause: Bool?
    /// A search asked for and not yet running: the number of searches completed when it was.
    public var pendingSearch: Int?

    static let searchRequestedMessage = "search requested: it starts after the current training step"

    public init(themeName: String = "default") { self.themeName = themeName }

    /// Forgets what the engine has caught up with (called with every new snapshot).
    public mutating func reconcile(with snapshot: ExplorerSnapshot) {
        if let p = pendingBudget, snapshot.budgetText == p.budget.description && snapshot.targetMACs == p.targetMACs {
            pendingBudget = nil
        }
        if let p = pendingPause, snapshot.paused == p { pendingPause = nil }
        if let p = pendingSearch, snapshot.search.running || snapshot.search.completed > p {
            pendingSearch = nil
            if message == Self.searchRequestedMessage { message = nil }
        }
    }

    /// The snapshot as the UI shows it: with the pending budget and pause applied, so that a key
    /// shows its effect in the next frame even while the engine finishes a training step.
    public func presented(_ snapshot: ExplorerSnapshot) -> ExplorerSnapshot {
        var s = snapshot
        if let p = pendingBudget {
            s.budgetText = p.budget.description
            s.targetMACs = p.targetMACs ?? 0
            s.window = p.window
        }
        if let p = pendingPause { s.paused = p }
        return s
    }

    public func isVisible(_ pane: Pane) -> Bool { visiblePanes.contains(pane) }
}

/// What a key asks of the app besides changing the UI state.
public enum UIEffect: Sendable, Equatable {
    case send(ExplorerCommand)
    case redraw
    case cycleTheme
    /// Leave the explorer (after the engine has stopped and saved).
    case exit
}
