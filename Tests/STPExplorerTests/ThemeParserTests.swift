import Testing
@testable import STPExplorer

@Suite struct ThemeParserTests {
    private func parse(_ text: String) -> (theme: Theme, diagnostics: [ThemeDiagnostic]) {
        ThemeParser.parse(text, name: "x", file: "themes/x.theme")
    }

    @Test func setsKeysAndKeepsDefaultsForTheRest() {
        let (theme, diagnostics) = parse("""
            # a comment
            theme[main_bg]="#101010"

            \ttheme[error] = "#FF0000"   # trailing comment
            """)
        #expect(diagnostics.isEmpty)
        #expect(theme.name == "x")
        #expect(theme[.mainBg] == RGB(r: 16, g: 16, b: 16))
        #expect(theme[.error] == RGB(r: 255, g: 0, b: 0))
        #expect(theme[.mainFg] == Theme.builtinDefault[.mainFg])
        #expect(theme[.kept] == Theme.builtinDefault[.kept])
    }

    @Test func emptyValueIsTheTerminalDefault() {
        let (theme, diagnostics) = parse("theme[main_bg]=\"\"\ntheme[main_fg]=\"\"")
        #expect(diagnostics.isEmpty)
        #expect(theme[.mainBg] == nil)
        #expect(theme[.mainFg] == nil)
        #expect(theme.keysUsingTerminalDefault == [.mainBg, .mainFg])
    }

    @Test func unknownKeysWarnWithFileAndLineAndAreIgnored() {
        let (theme, diagnostics) = parse("theme[main_bg]=\"#000000\"\ntheme[cpu_box]=\"#123456\"\ntheme[Main_Fg]=\"#ffffff\"")
        #expect(diagnostics.count == 2)
        #expect(diagnostics.allSatisfy { $0.severity == .warning && $0.file == "themes/x.theme" })
        #expect(diagnostics.map(\.line) == [2, 3])
        #expect(diagnostics[0].description == "themes/x.theme:2: warning: unknown key cpu_box ignored")
        #expect(diagnostics[1].message.contains("did you mean main_fg?"))
        // Warnings do not reject the theme.
        #expect(theme[.mainBg] == RGB(r: 0, g: 0, b: 0))
        #expect(theme[.mainFg] == Theme.builtinDefault[.mainFg])
    }

    @Test func aRepeatedKeyWarnsAndTheLaterValueWins() {
        let (theme, diagnostics) = parse("theme[title]=\"#111111\"\n\ntheme[title]=\"#222222\"")
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.severity == .warning)
        #expect(diagnostics.first?.line == 3)
        #expect(diagnostics.first?.message.contains("line 1") == true)
        #expect(theme[.title] == RGB(r: 0x22, g: 0x22, b: 0x22))
    }

    @Test(arguments: ["#12345", "#gggggg", "red", "#1234567", "rgb(1,2,3)", "#12"])
    func aBadColourIsAnErrorAndTheDefaultThemeIsUsed(value: String) {
        let text = "theme[main_bg]=\"#000000\"\n# comment\ntheme[kept]=\"\(value)\""
        let (theme, diagnostics) = parse(text)
        #expect(diagnostics.count == 1)
        let error = diagnostics.first
        #expect(error?.severity == .error)
        #expect(error?.line == 3)
        #expect(error?.description.hasPrefix("themes/x.theme:3: bad colour \"\(value)\" for kept") == true)
        #expect(theme == Theme.builtinDefault.renamed("x"))
    }

    @Test func malformedSyntaxIsAnErrorNamingFileLineAndWhatWasExpected() {
        let (theme, diagnostics) = parse("""
            theme[main_bg]="#000000"
            theme[main_fg]="#ffffff"
            # fine so far
            background = dark
            """)
        #expect(diagnostics == [ThemeDiagnostic(
            severity: .error, file: "themes/x.theme", line: 4,
            message: "expected theme[key]=\"#rrggbb\", found 'background = dark'")])
        #expect(diagnostics[0].description
            == "themes/x.theme:4: expected theme[key]=\"#rrggbb\", found 'background = dark'")
        #expect(theme[.mainBg] == Theme.builtinDefault[.mainBg])
    }

    @Test func unterminatedQuoteIsAnError() {
        let (_, diagnostics) = parse("theme[main_bg]=\"#000000")
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.line == 1)
        #expect(diagnostics.first?.message.hasPrefix("unterminated quote") == true)
    }

    @Test(arguments: [
        ("theme[main_bg\"#000000\"", "expected theme[key]"),
        ("theme[]=\"#000000\"", "expected a key"),
        ("theme[main bg]=\"#000000\"", "expected a key"),
        ("theme[main_bg] \"#000000\"", "expected = after theme[main_bg]"),
        ("theme[main_bg]=#000000", "expected a quoted colour"),
        ("theme[main_bg]=\"#000000\" extra", "expected the end of the line"),
        ("main_bg=\"#000000\"", "expected theme[key]"),
    ])
    func eachSyntaxMistakeSaysWhatWasExpected(line: String, messageStart: String) {
        let (theme, diagnostics) = parse("\n" + line)
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.severity == .error)
        #expect(diagnostics.first?.line == 2)
        #expect(diagnostics.first?.message.hasPrefix(messageStart) == true, "\(diagnostics)")
        #expect(theme == Theme.builtinDefault.renamed("x"))
    }

    @Test func everyMalformedLineIsReported() {
        let (_, diagnostics) = parse("oops\ntheme[kept]=\"#00ff00\"\ntheme[dropped]=\"#12345\"\ntheme[x]=\"")
        #expect(diagnostics.map(\.line) == [1, 3, 4])
        #expect(diagnostics.allSatisfy { $0.severity == .error })
    }

    @Test func windowsLineEndingsKeepLineNumbers() {
        let (theme, diagnostics) = parse("theme[main_bg]=\"#010203\"\r\n\r\ntheme[bogus]=\"#000000\"\r\n")
        #expect(theme[.mainBg] == RGB(r: 1, g: 2, b: 3))
        #expect(diagnostics.map(\.line) == [3])
    }

    @Test func longLinesAreQuotedShort() {
        let (_, diagnostics) = parse(String(repeating: "z", count: 500))
        #expect(diagnostics.count == 1)
        #expect(diagnostics[0].message.count < 120)
    }

    @Test func anEmptyFileIsTheDefaultThemeUnderItsName() {
        let (theme, diagnostics) = parse("")
        #expect(diagnostics.isEmpty)
        #expect(theme == Theme.builtinDefault.renamed("x"))
    }

    @Test func theBuiltinDefaultSetsEveryKey() {
        #expect(Theme.builtinDefault.keysUsingTerminalDefault.isEmpty)
        #expect(Theme.builtinDefault.name == "default")
    }
}
