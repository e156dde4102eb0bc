import Testing
@testable import STPExplorer

@Suite struct ColorQuantizerTests {
    @Test func xterm256KnownColours() throws {
        func index(_ hex: String) throws -> Int { ColorQuantizer.xterm256(try #require(RGB(hex: hex))) }
        #expect(try index("#ff0000") == 196)
        #expect(try index("#00ff00") == 46)
        #expect(try index("#0000ff") == 21)
        #expect(try index("#000000") == 16)
        #expect(try index("#ffffff") == 231)
        #expect(try index("#808080") == 244) // the grey ramp's 128 beats the cube's 135
        #expect(try index("#080808") == 232)
        #expect(try index("#eeeeee") == 255)
        #expect(try index("#5f87af") == 67)  // an exact cube entry
        #expect(try index("#fe0101") == 196) // near red rounds into the cube corner
        #expect(try index("#767676") == 243) // between cube levels: 118 is a grey step
    }

    @Test func everyPaletteEntryAbove15MapsToItself() {
        for index in 16...255 {
            #expect(ColorQuantizer.xterm256(ColorQuantizer.xterm256Color(index)) == index, "index \(index)")
        }
    }

    @Test func xterm256PicksTheNearestOfAllItsCandidates() {
        // Brute force over the cube and ramp for a spread of colours: no entry is strictly nearer.
        for r in stride(from: 0, through: 255, by: 17) {
            for g in stride(from: 3, through: 255, by: 36) {
                for b in stride(from: 7, through: 255, by: 41) {
                    let color = RGB(r: UInt8(r), g: UInt8(g), b: UInt8(b))
                    let chosen = ColorQuantizer.xterm256Color(ColorQuantizer.xterm256(color)).squaredDistance(to: color)
                    let best = (16...255).map { ColorQuantizer.xterm256Color($0).squaredDistance(to: color) }.min()
                    #expect(chosen == best, "\(color)")
                }
            }
        }
    }

    @Test func ansi16KnownColours() throws {
        func index(_ hex: String) throws -> Int { ColorQuantizer.ansi16(try #require(RGB(hex: hex))) }
        #expect(try index("#ff0000") == 9)
        #expect(try index("#cd0000") == 1)
        #expect(try index("#800000") == 1)
        #expect(try index("#000000") == 0)
        #expect(try index("#ffffff") == 15)
        #expect(try index("#808080") == 8)
        #expect(try index("#c0c0c0") == 7)
        #expect(try index("#16181d") == 0)  // the default background stays black
        #expect(try index("#5fafff") == 12)
    }

    @Test func everyAnsiColourMapsToItself() {
        for (index, color) in ColorQuantizer.ansi16Palette.enumerated() {
            #expect(ColorQuantizer.ansi16(color) == index)
        }
    }

    @Test func paletteColoursMatchXterm() {
        #expect(ColorQuantizer.xterm256Color(196) == RGB(r: 255, g: 0, b: 0))
        #expect(ColorQuantizer.xterm256Color(67) == RGB(r: 0x5f, g: 0x87, b: 0xaf))
        #expect(ColorQuantizer.xterm256Color(244) == RGB(r: 128, g: 128, b: 128))
        #expect(ColorQuantizer.xterm256Color(9) == RGB(r: 255, g: 0, b: 0))
    }
}
