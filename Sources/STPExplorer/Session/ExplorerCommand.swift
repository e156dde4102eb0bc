import STPEngine
import STPMethod

// What the UI asks the engine to do. Commands travel through the session's lock-protected inbox
// and are acted on by the engine queue between training steps (or between search evaluations),
// so a keypress takes effect within one step.

/// A budget as typed and what it resolved to, resolved once where it was typed (the reducer);
/// the engine applies or reports it as it is.
public struct BudgetChoice: Sendable, Equatable {
    public var text: String
    public var resolved: ResolvedBudget?
    /// Why the text is not a budget of this space (nil when it resolved).
    public var error: String?

    public init(_ text: String, space: ArchitectureSpace, tolerance: Double) {
        self.text = text
        do {
            resolved = try Budget.resolve(text, for: space, tolerance: tolerance)
        } catch {
            self.error = (error as? STPError)?.message ?? "\(error)"
        }
    }
}

public enum ExplorerCommand: Sendable, Equatable {
    case pause
    case resume
    /// A budget the UI resolved (once, against the snapshot's space): a good one becomes the
    /// budget, a bad one's error goes to the log and the current budget stays.
    case setBudget(BudgetChoice)
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
