// The themes the explorer can cycle through with `t`: the files of the repository's themes
// folder and of the user's theme folder, plus the compiled-in default, which is always there.
import Foundation
import STPEngine

public struct ThemeLibrary: Sendable {
    public struct Entry: Sendable, Equatable {
        /// The file name without `.theme`.
        public var name: String
        /// The file to read, or nil for the compiled-in default (only when no default.theme file
        /// was found, so a user's own default.theme takes effect).
        public var path: String?

        public init(name: String, path: String?) {
            self.name = name
            self.path = path
        }
    }

    /// Every theme once, `default` first and the rest in case-insensitive name order.
    public let entries: [Entry]

    public var names: [String] { entries.map(\.name) }

    /// Lists `directory` (the repository's themes) and then `userDirectory`; a user theme replaces
    /// a repository theme of the same name. A directory that is nil or does not exist contributes
    /// nothing: both are optional, the explorer works with the compiled-in default alone.
    public init(directory: String?, userDirectory: String?) {
        var pathByName: [String: String] = [:]
        for folder in [directory, userDirectory].compactMap({ $0 }) {
            for (name, path) in ThemeLibrary.themeFiles(in: folder) {
                pathByName[name] = path
            }
        }
        let defaultName = Theme.builtinDefault.name
        let others = pathByName.keys.filter { $0 != defaultName }.sorted { lhs, rhs in
            (lhs.lowercased(), lhs) < (rhs.lowercased(), rhs)
        }
        entries = [Entry(name: defaultName, path: pathByName[defaultName])]
            + others.map { Entry(name: $0, path: pathByName[$0]) }
    }

    /// Finds the repository's themes folder among `candidates` and the user's from the
    /// environment, then lists both.
    public init(candidates: [String], environment: [String: String]) {
        self.init(directory: ThemeLibrary.firstExistingDirectory(candidates),
                  userDirectory: ThemeLibrary.userDirectory(environment: environment))
    }

    /// `$XDG_CONFIG_HOME/stp/themes`, else `$HOME/.config/stp/themes` (the XDG base-directory
    /// rule: an empty or relative XDG_CONFIG_HOME is ignored); nil when neither is set.
    public static func userDirectory(environment: [String: String]) -> String? {
        if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") {
            return join(config, "stp/themes")
        }
        if let home = environment["HOME"], !home.isEmpty {
            return join(home, ".config/stp/themes")
        }
        return nil
    }

    /// Where the repository's themes folder may be, most specific first: `$STP_THEMES_DIR` (an
    /// explicit choice), `<executable dir>/../../themes` (a binary in `.build/release/` of a
    /// checkout), and `<current directory>/themes`.
    /// The checkout a binary was built in: the nearest folder above it that holds Package.swift
    /// (SwiftPM puts the binary in .build/<triple>/release, one level deeper than the
    /// .build/release link suggests). Symlinks are resolved first, so a link in ~/bin finds it too.
    static func checkout(of executablePath: String) -> String? {
        var url = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url.standardizedFileURL.path
            }
            url.deleteLastPathComponent()
        }
        return nil
    }

    public static func candidateDirectories(environment: [String: String], executablePath: String?,
                                            currentDirectory: String) -> [String] {
        var candidates: [String] = []
        if let explicit = environment["STP_THEMES_DIR"], !explicit.isEmpty {
            candidates.append(explicit)
        }
        if let executablePath, !executablePath.isEmpty, let checkout = checkout(of: executablePath) {
            candidates.append(join(checkout, "themes"))
        }
        candidates.append(join(currentDirectory, "themes"))
        return candidates
    }

    /// The first candidate that is an existing directory.
    public static func firstExistingDirectory(_ candidates: [String]) -> String? {
        candidates.first { candidate in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }

    /// The theme after `name`, wrapping around; the first (default) when `name` is not listed.
    public func next(after name: String) -> String {
        guard let index = entries.firstIndex(where: { $0.name == name }) else { return entries[0].name }
        return entries[(index + 1) % entries.count].name
    }

    /// Reads and parses a theme. Every failure still yields a theme (the default colours under the
    /// requested name) together with the diagnostics that say why.
    public func load(_ name: String) -> (theme: Theme, diagnostics: [ThemeDiagnostic]) {
        guard let entry = entries.first(where: { $0.name == name }) else {
            let error = ThemeDiagnostic(severity: .error, file: "\(name).theme", line: 0,
                                        message: "no theme named \(name); available: \(names.joined(separator: ", "))")
            return (Theme.builtinDefault.renamed(name), [error])
        }
        guard let path = entry.path else { return (Theme.builtinDefault, []) }
        return ThemeLibrary.load(file: path, name: name)
    }

    /// Reads and parses one theme file.
    public static func load(file path: String, name: String) -> (theme: Theme, diagnostics: [ThemeDiagnostic]) {
        // RegularFile: a named pipe or a device under a theme's name is refused, not read forever.
        let data: [UInt8]
        do {
            data = try RegularFile.read(path, kind: .theme, what: "a theme file")
        } catch let e as STPError {
            // The diagnostic names the file itself; the reason follows the error's "PATH: ".
            let reason = e.message.hasPrefix(path + ": ") ? String(e.message.dropFirst(path.count + 2)) : e.message
            let error = ThemeDiagnostic(severity: .error, file: path, line: 0, message: "cannot read the theme file: \(reason)")
            return (Theme.builtinDefault.renamed(name), [error])
        } catch {
            let error = ThemeDiagnostic(severity: .error, file: path, line: 0, message: "cannot read the theme file: \(error)")
            return (Theme.builtinDefault.renamed(name), [error])
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            let error = ThemeDiagnostic(severity: .error, file: path, line: 0, message: "the theme file is not UTF-8 text")
            return (Theme.builtinDefault.renamed(name), [error])
        }
        return ThemeParser.parse(text, name: name, file: path)
    }

    /// `(name, path)` of every `*.theme` file in `folder`; hidden files (editor backups, `.#x`)
    /// are skipped.
    private static func themeFiles(in folder: String) -> [(String, String)] {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        let suffix = ".theme"
        return files.compactMap { file in
            guard file.hasSuffix(suffix), !file.hasPrefix("."), file.count > suffix.count else { return nil }
            let path = join(folder, file)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                return nil
            }
            return (String(file.dropLast(suffix.count)), path)
        }
    }

    private static func join(_ folder: String, _ relative: String) -> String {
        folder.hasSuffix("/") ? folder + relative : folder + "/" + relative
    }
}
