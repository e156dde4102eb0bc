import STPMethod

// What every panel draws from: the snapshot, the UI state, the glyphs, and the rows of the
// candidates table (computed once per frame so that all panels agree on them).

public struct RenderContext {
    public let snapshot: ExplorerSnapshot
    public let state: ExplorerUIState
    public let glyphs: GlyphSet
    public let rows: [Candidate]

    public init(snapshot: ExplorerSnapshot, state: ExplorerUIState, glyphs: GlyphSet) {
        self.snapshot = snapshot
        self.state = state
        self.glyphs = glyphs
        rows = CandidateList.rows(snapshot, filter: state.filter, sort: state.sort, descending: state.sortDescending)
    }

    /// The architecture the plots highlight: the selection, else the engine's reference.
    public var highlighted: Architecture? { state.selected ?? snapshot.reference }
}
