// Reads btop-format theme files: one `theme[key]="#rrggbb"` per line, `#` comments and blank lines
// allowed. The parser never throws: it returns a usable theme and the diagnostics, so a bad file
// costs the user their colours, never the explorer.
//
// Rules, and why:
// - Keys the file does not set keep the default theme's value, so a theme can be a few lines and
//   stays valid when new roles are added.
// - An unknown key is a warning (the line is skipped): a file written for a newer stp, or a btop
//   theme with btop's own keys, still loads.
// - A key set twice is a warning; the later line wins, as in btop.
// - Any malformed line (bad syntax, bad colour, unterminated quote) is an error and the whole file
//   is rejected in favour of the default theme: a half-applied theme could put text in the
//   background colour, and an error that changes nothing visible is one the user notices.
// - An empty value, `theme[main_bg]=""`, means "the terminal's default colour" (the Theme holds
//   nil) for any key, foreground or background, as btop uses it. It does not mean "use the default
//   theme's value": leaving the line out already says that.

public enum ThemeParser {
    /// Parses a theme file's text. `name` becomes the theme's name (kept even when the file is
    /// rejected, so cycling with `t` moves on past it); `file` is used in diagnostics only.
    /// When there is any error the theme is `Theme.builtinDefault` under `name`.
    public static func parse(_ text: String, name: String, file: String) -> (theme: Theme, diagnostics: [ThemeDiagnostic]) {
        var theme = Theme.builtinDefault.renamed(name)
        var diagnostics: [ThemeDiagnostic] = []
        var lineSettingKey: [ThemeKey: Int] = [:]

        func report(_ severity: ThemeDiagnostic.Severity, _ line: Int, _ message: String) {
            diagnostics.append(ThemeDiagnostic(severity: severity, file: file, line: line, message: message))
        }

        // Splitting on isNewline treats "\r\n" (one Character in Swift) as one break, so files
        // written on Windows keep their line numbers.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        for (index, rawLine) in lines.enumerated() {
            let lineNumber = index + 1
            switch ThemeLine(rawLine) {
            case .blank:
                continue
            case .malformed(let message):
                report(.error, lineNumber, message)
            case .assignment(let keyName, let value):
                guard let key = ThemeKey(rawValue: keyName) else {
                    report(.warning, lineNumber, unknownKeyMessage(keyName))
                    continue
                }
                if let earlier = lineSettingKey[key] {
                    report(.warning, lineNumber, "\(keyName) is already set on line \(earlier); this later value wins")
                }
                lineSettingKey[key] = lineNumber
                if value.isEmpty {
                    theme[key] = nil
                } else if let color = RGB(hex: value) {
                    theme[key] = color
                } else {
                    report(.error, lineNumber,
                           "bad colour \"\(value)\" for \(keyName): expected \"#rrggbb\" (6 hex digits) or \"\" for the terminal default")
                }
            }
        }

        if diagnostics.contains(where: { $0.severity == .error }) {
            theme = Theme.builtinDefault.renamed(name)
        }
        return (theme, diagnostics)
    }

    private static func unknownKeyMessage(_ keyName: String) -> String {
        var message = "unknown key \(keyName) ignored"
        let closest = ThemeKey.allCases
            .map { ($0.rawValue, editDistance($0.rawValue, keyName)) }
            .min { $0.1 < $1.1 }
        // Two edits catches typos and case slips (Main_Bg) without suggesting unrelated keys.
        if let (suggestion, distance) = closest, distance <= 2 {
            message += "; did you mean \(suggestion)?"
        }
        return message
    }

    /// Levenshtein distance, case-insensitive.
    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// One line of a theme file, classified.
private enum ThemeLine {
    case blank
    case assignment(key: String, value: String)
    case malformed(String)

    init(_ raw: Substring) {
        var line = raw.drop(while: ThemeLine.isBlank)
        while let last = line.last, ThemeLine.isBlank(last) { line = line.dropLast() }
        let text = String(line)
        if text.isEmpty || text.hasPrefix("#") {
            self = .blank
            return
        }
        let found = ThemeLine.quoted(text)
        let expected = "expected theme[key]=\"#rrggbb\", found \(found)"

        var rest = Substring(text)
        guard rest.hasPrefix("theme[") else {
            self = .malformed(expected)
            return
        }
        rest = rest.dropFirst("theme[".count)
        guard let close = rest.firstIndex(of: "]") else {
            self = .malformed(expected)
            return
        }
        let key = String(rest[..<close])
        guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            self = .malformed("expected a key of letters, digits and _ in theme[key]=\"#rrggbb\", found \(found)")
            return
        }
        rest = rest[rest.index(after: close)...].drop(while: ThemeLine.isBlank)
        guard rest.first == "=" else {
            self = .malformed("expected = after theme[\(key)], found \(found)")
            return
        }
        rest = rest.dropFirst().drop(while: ThemeLine.isBlank)
        guard rest.first == "\"" else {
            self = .malformed("expected a quoted colour (\"#rrggbb\" or \"\") after theme[\(key)]=, found \(found)")
            return
        }
        rest = rest.dropFirst()
        guard let closingQuote = rest.firstIndex(of: "\"") else {
            self = .malformed("unterminated quote: expected a closing \" after the value, found \(found)")
            return
        }
        let value = String(rest[..<closingQuote])
        let trailing = rest[rest.index(after: closingQuote)...].drop(while: ThemeLine.isBlank)
        guard trailing.isEmpty || trailing.hasPrefix("#") else {
            self = .malformed("expected the end of the line or a # comment after the closing quote, found \(found)")
            return
        }
        self = .assignment(key: key, value: value)
    }

    private static func isBlank(_ character: Character) -> Bool {
        character == " " || character == "\t"
    }

    /// The offending line as diagnostics quote it, cut short so one long line cannot flood the log.
    private static func quoted(_ text: String) -> String {
        let limit = 60
        let shown = text.count > limit ? text.prefix(limit) + "..." : text
        return "'\(shown)'"
    }
}
