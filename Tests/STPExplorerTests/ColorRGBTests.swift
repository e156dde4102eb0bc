import Testing
@testable import STPExplorer

@Suite struct ColorRGBTests {
    @Test func parsesHexInEitherCaseAndWritesLowerCase() throws {
        let color = try #require(RGB(hex: "#1E2a3F"))
        #expect(color == RGB(r: 0x1e, g: 0x2a, b: 0x3f))
        #expect(color.hex == "#1e2a3f")
        #expect(RGB(r: 0, g: 5, b: 255).hex == "#0005ff")
    }

    @Test(arguments: ["", "#", "#12345", "#1234567", "123456", "#gggggg", "#12 456", " #123456", "#12345g", "##12345"])
    func rejectsAnythingButSixHexDigits(text: String) {
        #expect(RGB(hex: text) == nil)
    }

    @Test func hexRoundTripsEveryChannelValue() {
        for value in 0...255 {
            let color = RGB(r: UInt8(value), g: UInt8(255 - value), b: UInt8(value / 2))
            #expect(RGB(hex: color.hex) == color)
        }
    }

    @Test func packedIsTheDirectColourNumber() {
        #expect(RGB(r: 0x12, g: 0x34, b: 0x56).packed == 0x123456)
        #expect(RGB(r: 255, g: 255, b: 255).packed == (1 << 24) - 1)
    }

    @Test func cursesScaleSpansZeroToAThousand() {
        let scaled = RGB(r: 0, g: 128, b: 255).cursesScale
        #expect(scaled.r == 0)
        #expect(scaled.g == 502)
        #expect(scaled.b == 1000)
    }
}
