// The panes of the explorer, numbered by the digit key that shows or hides each one.

public enum Pane: Int, CaseIterable, Sendable, Hashable {
    case header = 1
    case architecture = 2
    case scatter = 3
    case curves = 4
    case sparsity = 5
    case candidates = 6
    case log = 7

    public var title: String {
        switch self {
        case .header: return "header"
        case .architecture: return "architecture"
        case .scatter: return "accuracy vs FLOPs"
        case .curves: return "training curves"
        case .sparsity: return "relative sparsity"
        case .candidates: return "candidates"
        case .log: return "log"
        }
    }

    /// Panes that take j/k and g/G when focused, in Tab order.
    public static let focusable: [Pane] = [.candidates, .sparsity, .log]
}
