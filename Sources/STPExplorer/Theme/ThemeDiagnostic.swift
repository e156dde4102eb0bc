// One problem found while reading a theme, located by file and line so the explorer's log can
// point the user at the exact place to fix.
public struct ThemeDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: Sendable, Equatable {
        /// The theme still loads (an unknown key is skipped, a repeated key's last value wins).
        case warning
        /// The theme is rejected and the default theme is used in its place.
        case error
    }

    public var severity: Severity
    /// The file as it was named to the parser (a path, usually `themes/NAME.theme`).
    public var file: String
    /// 1-based line number; 0 for problems with the file as a whole (missing, unreadable).
    public var line: Int
    public var message: String

    public init(severity: Severity, file: String, line: Int, message: String) {
        self.severity = severity
        self.file = file
        self.line = line
        self.message = message
    }

    /// Compiler-style `file:line: message`; warnings say so, errors are the unmarked case because
    /// they are what the user must act on.
    public var description: String {
        let location = line > 0 ? "\(file):\(line)" : file
        switch severity {
        case .error: return "\(location): \(message)"
        case .warning: return "\(location): warning: \(message)"
        }
    }
}
