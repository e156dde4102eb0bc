import Testing
@testable import STPExplorer

@Suite struct GlyphSetTests {
    @Test func localePrecedenceIsLcAllThenLcCtypeThenLang() {
        #expect(GlyphSet.detect(environment: ["LANG": "en_US.UTF-8"]) == .unicode)
        #expect(GlyphSet.detect(environment: ["LANG": "en_US.UTF-8", "LC_ALL": "C"]) == .ascii)
        #expect(GlyphSet.detect(environment: ["LANG": "C", "LC_CTYPE": "de_DE.UTF-8"]) == .unicode)
        #expect(GlyphSet.detect(environment: ["LC_ALL": "C.UTF-8", "LC_CTYPE": "POSIX", "LANG": "C"]) == .unicode)
        #expect(GlyphSet.detect(environment: ["LC_CTYPE": "C", "LANG": "en_US.UTF-8"]) == .ascii)
    }

    @Test func emptyVariablesCountAsUnset() {
        #expect(GlyphSet.detect(environment: ["LC_ALL": "", "LC_CTYPE": "", "LANG": "en_GB.UTF-8"]) == .unicode)
    }

    @Test func bothSpellingsOfUtf8InEitherCase() {
        for value in ["C.utf8", "en_US.utf-8", "EN_US.UTF8", "ja_JP.UTF-8@cjk"] {
            #expect(GlyphSet.localeIsUTF8(environment: ["LANG": value]), "\(value)")
        }
        for value in ["C", "POSIX", "en_US.ISO-8859-1", "en_US", "ja_JP.eucJP"] {
            #expect(!GlyphSet.localeIsUTF8(environment: ["LANG": value]), "\(value)")
        }
    }

    @Test func noLocaleAtAllIsAscii() {
        #expect(GlyphSet.detect(environment: [:]) == .ascii)
    }

    @Test func asciiGlyphsAreAllAscii() {
        let set = GlyphSet.ascii
        let glyphs = set.barEighths + set.sparkLevels + [
            set.horizontal, set.vertical, set.topLeft, set.topRight, set.bottomLeft, set.bottomRight,
            set.leftTee, set.rightTee, set.topTee, set.bottomTee, set.cross, set.scatterPoint, set.selectedMarker,
        ]
        #expect(glyphs.allSatisfy { $0.isASCII })
        #expect(set.ellipsis.allSatisfy { $0.isASCII })
        #expect(!set.hasBraille)
        #expect(!set.isUnicode)
    }

    @Test func tablesHaveTheirLengths() {
        for set in [GlyphSet.unicode, GlyphSet.ascii] {
            #expect(set.barEighths.count == 9)
            #expect(set.sparkLevels.count == 8)
            #expect(set.barEighths[0] == " ")
        }
        #expect(String(GlyphSet.unicode.sparkLevels) == "▁▂▃▄▅▆▇█")
        #expect(String(GlyphSet.ascii.sparkLevels) == " .:-=+*#")
        #expect(String(GlyphSet.unicode.barEighths) == " ▏▎▍▌▋▊▉█")
        #expect(GlyphSet.unicode.hasBraille)
    }

    @Test func unicodeBarsUseEighths() {
        let glyphs = GlyphSet.unicode
        #expect(glyphs.bar(cells: 2.5, width: 4) == "██▌ ")
        #expect(glyphs.bar(cells: 0.125, width: 3) == "▏  ")
        #expect(glyphs.bar(cells: 3, width: 3) == "███")
        #expect(glyphs.bar(cells: 0, width: 2) == "  ")
    }

    @Test func asciiBarsRoundToHalfCells() {
        let glyphs = GlyphSet.ascii
        #expect(glyphs.bar(cells: 2.5, width: 4) == "##= ")
        #expect(glyphs.bar(cells: 1.125, width: 3) == "#  ")
        #expect(glyphs.bar(cells: 1.8, width: 3) == "## ")
    }

    @Test func barsAreClampedToTheirWidth() {
        for glyphs in [GlyphSet.unicode, GlyphSet.ascii] {
            #expect(glyphs.bar(cells: 9, width: 3).count == 3)
            #expect(glyphs.bar(cells: -2, width: 3) == "   ")
            #expect(glyphs.bar(cells: .nan, width: 2) == "  ")
            #expect(glyphs.bar(cells: 1, width: 0) == "")
        }
    }

    @Test func sparkGlyphsReachBothEnds() {
        let glyphs = GlyphSet.unicode
        #expect(glyphs.sparkGlyph(0) == "▁")
        #expect(glyphs.sparkGlyph(1) == "█")
        #expect(glyphs.sparkGlyph(0.5) == "▅")  // 3.5 rounds up to level 4
        #expect(glyphs.sparkGlyph(-1) == "▁")
        #expect(glyphs.sparkGlyph(7) == "█")
        #expect(glyphs.sparkGlyph(.nan) == "▁")
        #expect(GlyphSet.ascii.sparkGlyph(1) == "#")
    }
}
