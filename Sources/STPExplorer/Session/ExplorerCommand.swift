import STPMethod

// What the UI asks the engine to do. Commands travel through the session's lock-protected inbox
// and are acted on by the engine queue between training steps (or between search evaluations),
// so a keypress takes effect within one step.

public enum ExplorerCommand: Sendable, Equatable {
    case pause
    case resume
    /// A budget as the user typed it (Budget.forms); a bad one is reported in the log and the
    /// current budget stays.
    case setBudget(String)
    /// Starts a search for the current budget on the current weights (or re-targets one running).
    case searchNow
    /// Makes `architecture` the reference of the architecture and sparsity panels (nil: the best).
    case select(Architecture?)
    /// Extracts, recalibrates, evaluates and saves the architecture (weights, description, ONNX).
    case export(Architecture)
    /// Keeps these architectures among the candidates (the marked ones): when the weights
    /// change they are evaluated again, so no re-search or front renewal drops them.
    case pin([Architecture])
    /// Saves a checkpoint now.
    case save
    /// Stops training and search, saves a checkpoint and ends the engine.
    case quit
}
