import Testing
@testable import STPExplorer

@Suite struct ColorModeTests {
    private func detect(_ environment: [String: String], colors: Int, canChange: Bool = false) -> ColorMode {
        ColorMode.detect(environment: environment, terminalColors: colors, canChangeColor: canChange)
    }

    @Test func noColorSetAndNonEmptyTurnsColourOff() {
        let everything = ["TERM": "xterm-256color", "COLORTERM": "truecolor", "NO_COLOR": "1"]
        #expect(detect(everything, colors: 1 << 24, canChange: true) == .none)
        #expect(detect(["NO_COLOR": "0", "TERM": "xterm"], colors: 8) == .none) // any value counts
    }

    @Test func emptyNoColorIsIgnored() {
        #expect(detect(["NO_COLOR": "", "TERM": "xterm-256color"], colors: 256) == .palette256)
    }

    @Test func trueColorNeedsTheAskAndATerminalThatCanShowIt() {
        let asks = ["TERM": "xterm-256color", "COLORTERM": "truecolor"]
        #expect(detect(asks, colors: 256, canChange: true) == .trueColor)
        #expect(detect(["TERM": "xterm-256color", "COLORTERM": "24bit"], colors: 256, canChange: true) == .trueColor)
        #expect(detect(["COLORTERM": "TrueColor", "TERM": "xterm"], colors: 256, canChange: true) == .trueColor)
        // Cannot redefine colours and no direct colour: the 256 palette is the best it can do.
        #expect(detect(asks, colors: 256, canChange: false) == .palette256)
        // Redefinable, but too few entries beyond the 16 ANSI colours for every role.
        #expect(detect(asks, colors: 16, canChange: true) == .basic16)
        // A direct-colour terminfo entry (xterm-direct) shows RGB with or without COLORTERM.
        #expect(detect(["TERM": "xterm-direct"], colors: 1 << 24) == .trueColor)
        #expect(detect(asks, colors: 1 << 24) == .trueColor)
    }

    @Test func withoutTheAskRedefinablePalettesStayPalettes() {
        #expect(detect(["TERM": "xterm-256color"], colors: 256, canChange: true) == .palette256)
        #expect(detect(["TERM": "xterm-256color", "COLORTERM": "yes"], colors: 256, canChange: true) == .palette256)
    }

    @Test func theTerminalsColourCountCapsWhatTermClaims() {
        #expect(detect(["TERM": "xterm-256color"], colors: 8) == .basic16)
        #expect(detect(["TERM": "xterm"], colors: 16) == .basic16)
        #expect(detect(["TERM": "xterm"], colors: 256) == .palette256)
        #expect(detect(["TERM": "linux"], colors: 8) == .basic16)
        #expect(detect(["TERM": "vt100"], colors: 0) == .none)
        #expect(detect(["TERM": "xterm-256color"], colors: 2) == .none)
    }

    @Test func dumbTerminalsHaveNoColour() {
        #expect(detect(["TERM": "dumb", "COLORTERM": "truecolor"], colors: 256, canChange: true) == .none)
    }

    @Test func unknownCapabilitiesFallBackToTheEnvironment() {
        #expect(detect(["TERM": "xterm-256color"], colors: -1) == .palette256)
        #expect(detect(["TERM": "screen-256color"], colors: -1) == .palette256)
        #expect(detect(["TERM": "xterm", "COLORTERM": "truecolor"], colors: -1) == .trueColor)
        #expect(detect(["TERM": "xterm"], colors: -1) == .basic16)
        #expect(detect([:], colors: -1) == .none)
    }

    @Test func terminalColoursFollowTheMode() throws {
        let red = RGB(r: 255, g: 0, b: 0)
        #expect(ColorMode.trueColor.terminalColor(for: red) == .rgb(red))
        #expect(ColorMode.palette256.terminalColor(for: red) == .palette(196))
        #expect(ColorMode.basic16.terminalColor(for: red) == .palette(9))
        #expect(ColorMode.none.terminalColor(for: red) == .terminalDefault)
        for mode in ColorMode.allCases {
            #expect(mode.terminalColor(for: nil) == .terminalDefault)
        }
    }

    @Test func aThemeResolvesEveryRole() {
        var theme = Theme.builtinDefault
        theme[.mainBg] = nil
        let resolved = theme.terminalColors(in: .palette256)
        #expect(resolved.count == ThemeKey.allCases.count)
        #expect(resolved[.mainBg] == .terminalDefault)
        #expect(resolved[.error] == .palette(ColorQuantizer.xterm256(Theme.builtinDefault[.error]!)))
    }
}
