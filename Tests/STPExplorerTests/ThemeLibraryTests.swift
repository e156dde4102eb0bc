import Foundation
import Testing
@testable import STPExplorer

@Suite struct ThemeLibraryTests {
    /// A fresh directory tree under the temporary folder, removed by the caller.
    private func makeFolder(_ files: [String: String]) throws -> String {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("stp-theme-tests-\(UUID().uuidString)").path
        for (relative, contents) in files {
            let path = root + "/" + relative
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try contents.write(toFile: path, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    @Test func listsDefaultFirstThenNamesInOrderWithUserThemesOverriding() throws {
        let root = try makeFolder([
            "repo/nord.theme": "theme[main_bg]=\"#2e3440\"",
            "repo/Zebra.theme": "",
            "repo/apple.theme": "",
            "repo/notes.txt": "not a theme",
            "repo/.hidden.theme": "",
            "user/nord.theme": "theme[main_bg]=\"#000001\"",
            "user/mine.theme": "",
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let library = ThemeLibrary(directory: root + "/repo", userDirectory: root + "/user")
        #expect(library.names == ["default", "apple", "mine", "nord", "Zebra"])
        #expect(library.entries.first { $0.name == "nord" }?.path == root + "/user/nord.theme")
        #expect(library.entries[0].path == nil) // no default.theme on disk: the compiled-in one
        let (nord, diagnostics) = library.load("nord")
        #expect(diagnostics.isEmpty)
        #expect(nord.name == "nord")
        #expect(nord[.mainBg] == RGB(r: 0, g: 0, b: 1))
    }

    @Test func defaultIsAlwaysAvailable() {
        let library = ThemeLibrary(directory: "/nonexistent/stp/themes", userDirectory: nil)
        #expect(library.names == ["default"])
        #expect(library.next(after: "default") == "default")
        let (theme, diagnostics) = library.load("default")
        #expect(theme == Theme.builtinDefault)
        #expect(diagnostics.isEmpty)
    }

    @Test func aUserDefaultThemeFileTakesEffect() throws {
        let root = try makeFolder(["user/default.theme": "theme[title]=\"#abcdef\""])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let library = ThemeLibrary(directory: nil, userDirectory: root + "/user")
        #expect(library.names == ["default"])
        #expect(library.load("default").theme[.title] == RGB(r: 0xab, g: 0xcd, b: 0xef))
    }

    @Test func nextCyclesAndWraps() throws {
        let root = try makeFolder(["a.theme": "", "b.theme": ""])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let library = ThemeLibrary(directory: root, userDirectory: nil)
        #expect(library.next(after: "default") == "a")
        #expect(library.next(after: "a") == "b")
        #expect(library.next(after: "b") == "default")
        #expect(library.next(after: "gone") == "default")
    }

    @Test func aBrokenFileLoadsAsDefaultColoursWithItsPathAndLine() throws {
        let root = try makeFolder(["broken.theme": "# header\ntheme[main_bg]=\"#12345\"\n"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let library = ThemeLibrary(directory: root, userDirectory: nil)
        let (theme, diagnostics) = library.load("broken")
        #expect(theme == Theme.builtinDefault.renamed("broken"))
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.description.hasPrefix(root + "/broken.theme:2: bad colour") == true)
        // Cycling continues past the broken theme because it kept its name.
        #expect(library.next(after: theme.name) == "default")
    }

    @Test func unknownNamesAndUnreadableFilesAreErrors() throws {
        let library = ThemeLibrary(directory: nil, userDirectory: nil)
        let (theme, diagnostics) = library.load("missing")
        #expect(theme == Theme.builtinDefault.renamed("missing"))
        #expect(diagnostics.first?.severity == .error)
        #expect(diagnostics.first?.message.contains("no theme named missing") == true)

        let (_, fileDiagnostics) = ThemeLibrary.load(file: "/nonexistent/x.theme", name: "x")
        let missing = "cannot read the theme file: cannot open (no such file); expected a theme file"
        #expect(fileDiagnostics == [ThemeDiagnostic(severity: .error, file: "/nonexistent/x.theme", line: 0, message: missing)])
        #expect(fileDiagnostics[0].description == "/nonexistent/x.theme: " + missing)

        // A named pipe under a theme's name is refused at once instead of blocking the explorer's
        // start (issue 30's fault class: every reader of a user's file).
        let folder = try makeFolder([:])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let fifo = folder + "/pipe.theme"
        #expect(mkfifo(fifo, 0o600) == 0)
        let (fallback, pipeDiagnostics) = ThemeLibrary.load(file: fifo, name: "pipe")
        #expect(fallback == Theme.builtinDefault.renamed("pipe"))
        #expect(pipeDiagnostics.first?.message == "cannot read the theme file: is a named pipe, not a regular file; expected a theme file",
                "\(pipeDiagnostics)")
    }

    @Test func userDirectoryFollowsXdg() {
        #expect(ThemeLibrary.userDirectory(environment: ["XDG_CONFIG_HOME": "/cfg", "HOME": "/home/u"])
            == "/cfg/stp/themes")
        #expect(ThemeLibrary.userDirectory(environment: ["HOME": "/home/u"]) == "/home/u/.config/stp/themes")
        #expect(ThemeLibrary.userDirectory(environment: ["XDG_CONFIG_HOME": "", "HOME": "/home/u/"])
            == "/home/u/.config/stp/themes")
        #expect(ThemeLibrary.userDirectory(environment: ["XDG_CONFIG_HOME": "relative", "HOME": "/h"])
            == "/h/.config/stp/themes")
        #expect(ThemeLibrary.userDirectory(environment: [:]) == nil)
    }

    @Test func candidatesPutTheExplicitDirectoryFirstAndFindTheBinarysCheckout() throws {
        let root = try makeFolder(["Package.swift": "", ".build/x86_64-unknown-linux-gnu/release/stp": ""])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let candidates = ThemeLibrary.candidateDirectories(
            environment: ["STP_THEMES_DIR": "/opt/themes"],
            executablePath: root + "/.build/x86_64-unknown-linux-gnu/release/stp",
            currentDirectory: "/work")
        let checkout = URL(fileURLWithPath: root).resolvingSymlinksInPath().standardizedFileURL.path
        #expect(candidates == ["/opt/themes", checkout + "/themes", "/work/themes"])
        // A binary outside any checkout adds no candidate of its own.
        #expect(ThemeLibrary.candidateDirectories(environment: [:], executablePath: "/nonexistent/bin/stp", currentDirectory: "/w")
            == ["/w/themes"])
        #expect(ThemeLibrary.candidateDirectories(environment: [:], executablePath: nil, currentDirectory: "/w/")
            == ["/w/themes"])
    }

    @Test func theFirstExistingCandidateIsUsed() throws {
        let root = try makeFolder(["themes/only.theme": "", "file.theme": ""])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let chosen = ThemeLibrary.firstExistingDirectory([root + "/absent", root + "/file.theme", root + "/themes"])
        #expect(chosen == root + "/themes")
        let library = ThemeLibrary(candidates: [root + "/absent", root + "/themes"],
                                   environment: ["HOME": root + "/nohome"])
        #expect(library.names == ["default", "only"])
    }
}
