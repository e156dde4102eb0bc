import Foundation
import Testing
@testable import STPExplorer

/// The themes shipped in the repository's themes/ folder.
@Suite struct ThemeFilesTests {
    /// <repo>/themes, found from this file's location: Tests/STPExplorerTests/ThemeFilesTests.swift.
    private static let themesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("themes").path

    private static let shippedNames = ["default", "light", "high-contrast", "nord", "gruvbox-dark"]

    @Test func theRequiredThemesAreShipped() {
        let names = ThemeLibrary(directory: Self.themesDirectory, userDirectory: nil).names
        #expect(names.first == "default")
        for name in Self.shippedNames {
            #expect(names.contains(name), "themes/\(name).theme is missing")
        }
    }

    @Test(arguments: shippedNames)
    func everyShippedThemeParsesCleanlyAndSetsEveryKey(name: String) throws {
        let path = Self.themesDirectory + "/\(name).theme"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let (theme, diagnostics) = ThemeParser.parse(text, name: name, file: path)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(theme.keysUsingTerminalDefault.isEmpty)
        // Every key is written out in the file, not inherited from the default theme.
        let setKeys = Set(text.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("theme["), let close = line.firstIndex(of: "]") else { return nil }
            return String(line[line.index(line.startIndex, offsetBy: 6)..<close])
        })
        #expect(setKeys == Set(ThemeKey.allCases.map(\.rawValue)))
    }

    @Test func defaultThemeFileMatchesTheCompiledInDefault() throws {
        let path = Self.themesDirectory + "/default.theme"
        let (theme, _) = ThemeParser.parse(try String(contentsOfFile: path, encoding: .utf8), name: "default", file: path)
        for key in ThemeKey.allCases {
            #expect(theme[key] == Theme.builtinDefault[key], "\(key.rawValue)")
        }
    }

    @Test(arguments: shippedNames)
    func textIsDistinguishableFromItsBackground(name: String) {
        let theme = ThemeLibrary.load(file: Self.themesDirectory + "/\(name).theme", name: name).theme
        let pairs: [(ThemeKey, ThemeKey)] = [(.mainFg, .mainBg), (.selectedFg, .selectedBg), (.statusFg, .statusBg)]
        for (foreground, background) in pairs {
            guard let fg = theme[foreground], let bg = theme[background] else { continue }
            // WCAG contrast ratio 4.5:1, the level for body text.
            #expect(Self.contrastRatio(fg, bg) >= 4.5, "\(name): \(foreground.rawValue) on \(background.rawValue)")
            // Even after quantisation to 16 colours text and background must differ.
            #expect(ColorQuantizer.ansi16(fg) != ColorQuantizer.ansi16(bg), "\(name): \(foreground.rawValue) in 16 colours")
        }
    }

    private static func contrastRatio(_ a: RGB, _ b: RGB) -> Double {
        func luminance(_ c: RGB) -> Double {
            func linear(_ channel: UInt8) -> Double {
                let v = Double(channel) / 255
                return v <= 0.03928 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
            }
            return 0.2126 * linear(c.r) + 0.7152 * linear(c.g) + 0.0722 * linear(c.b)
        }
        let (high, low) = (max(luminance(a), luminance(b)), min(luminance(a), luminance(b)))
        return (high + 0.05) / (low + 0.05)
    }
}
