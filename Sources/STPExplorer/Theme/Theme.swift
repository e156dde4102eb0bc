// A named assignment of a colour to every role in ThemeKey. A role without a colour draws in the
// terminal's own default colour (a theme file's empty value, `theme[main_bg]=""`), which lets a
// theme keep the user's terminal background.
public struct Theme: Sendable, Equatable {
    public var name: String
    // Roles absent from the dictionary use the terminal default colour; every constructor fills
    // the roles a theme does not mention from the default theme, so absence is always deliberate.
    private var colors: [ThemeKey: RGB]

    /// A theme with exactly these colours; roles not in `colors` use the terminal default colour.
    public init(name: String, colors: [ThemeKey: RGB]) {
        self.name = name
        self.colors = colors
    }

    /// The colour of a role; nil means the terminal's default foreground or background colour.
    public subscript(key: ThemeKey) -> RGB? {
        get { colors[key] }
        set { colors[key] = newValue }
    }

    /// The roles that draw in the terminal's default colour.
    public var keysUsingTerminalDefault: [ThemeKey] {
        ThemeKey.allCases.filter { colors[$0] == nil }
    }

    /// The same colours under another name.
    public func renamed(_ newName: String) -> Theme {
        var copy = self
        copy.name = newName
        return copy
    }
}
