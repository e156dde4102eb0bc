import Foundation
import STPTestSupport
import Testing
@testable import STPExplorer
import STPEngine

// Seeded, bounded fuzzing of the theme file parser. ThemeParser never throws: every mutated file
// must give a theme and diagnostics that each name the file and a line of it, with a message;
// a file with an error must fall back to the default colours. FuzzMutator.swift has the mutations.

@Suite struct ThemeFuzzTests {
    @Test func themeFileFuzz() throws {
        var seeds = [
            "# a comment\ntheme[main_bg]=\"#101010\"\n\n\ttheme[error] = \"#FF0000\"   # trailing comment\n",
            "theme[main_bg]=\"\"\r\ntheme[main_fg]=\"\"\r\n",
            "theme[main_bg]=\"#000000\"\ntheme[cpu_box]=\"#123456\"\ntheme[Main_Fg]=\"#ffffff\"\ntheme[main_bg]=\"#010101\"",
        ]
        // The shipped themes, when the sources are at hand.
        let themes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("themes")
        for name in ["nord.theme", "light.theme"] {
            if let text = try? String(contentsOf: themes.appendingPathComponent(name), encoding: .utf8) { seeds.append(text) }
        }
        var fuzz = FuzzMutator(seed: 0x7e3e)
        var bad: [String] = []
        var rejected = 0, accepted = 0
        for i in 0..<FuzzMutator.cases(2500) {
            let text = fuzz.mutate(seeds[i % seeds.count],
                                   extraTokens: ["theme[", "]", "=\"", "\"#", "#ffffff", "main_bg", "kept", "\"\""],
                                   donors: seeds)
            let (theme, diagnostics) = ThemeParser.parse(text, name: "fuzz", file: "themes/fuzz.theme")
            let lineCount = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).count
            for d in diagnostics where d.file != "themes/fuzz.theme" || d.message.isEmpty || !(1...lineCount).contains(d.line) {
                bad.append("case \(i): diagnostic \(d.description.debugDescription) for \(text.debugDescription)")
            }
            if theme.name != "fuzz" { bad.append("case \(i): theme named \(theme.name)") }
            if diagnostics.contains(where: { $0.severity == .error }) {
                rejected += 1
                if theme != Theme.builtinDefault.renamed("fuzz") {
                    bad.append("case \(i): a rejected file changed colours: \(text.debugDescription)")
                }
            } else {
                accepted += 1
            }
        }
        #expect(bad.isEmpty, "\(bad.count) bad\n\(bad.prefix(5).joined(separator: "\n"))")
        #expect(rejected > 500 && accepted > 200, "\(accepted) accepted, \(rejected) rejected")
    }
}
