// One error type for everything a user can get wrong: each case says which file, where in it,
// and what was expected, so the message alone tells the user what to fix.

public struct STPError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable { case data, checkpoint, argument, io, theme, budget, terminal, engine }
    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// An error about a byte range of a file: "FILE: at byte OFFSET: what was expected".
    public static func file(_ kind: Kind, _ path: String, offset: Int? = nil, line: Int? = nil,
                            _ what: String) -> STPError {
        var where_ = path
        if let line { where_ += ":\(line)" }
        if let offset { where_ += ": at byte \(offset)" }
        return STPError(kind, "\(where_): \(what)")
    }

    public var description: String { message }
}
