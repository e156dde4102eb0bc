// Maps 24-bit theme colours onto the palettes of lesser terminals, by least squared RGB distance.
public enum ColorQuantizer {
    /// The channel levels of the xterm 6x6x6 colour cube (indices 16-231).
    public static let cubeLevels: [UInt8] = [0, 95, 135, 175, 215, 255]

    /// xterm's default values for the 16 ANSI colours, in index order: black, red, green, yellow,
    /// blue, magenta, cyan, white, then the bright variants. Terminals let users change these,
    /// which is why xterm256 never picks them; ansi16 has nothing better to go on.
    public static let ansi16Palette: [RGB] = [
        RGB(r: 0x00, g: 0x00, b: 0x00), RGB(r: 0xcd, g: 0x00, b: 0x00),
        RGB(r: 0x00, g: 0xcd, b: 0x00), RGB(r: 0xcd, g: 0xcd, b: 0x00),
        RGB(r: 0x00, g: 0x00, b: 0xee), RGB(r: 0xcd, g: 0x00, b: 0xcd),
        RGB(r: 0x00, g: 0xcd, b: 0xcd), RGB(r: 0xe5, g: 0xe5, b: 0xe5),
        RGB(r: 0x7f, g: 0x7f, b: 0x7f), RGB(r: 0xff, g: 0x00, b: 0x00),
        RGB(r: 0x00, g: 0xff, b: 0x00), RGB(r: 0xff, g: 0xff, b: 0x00),
        RGB(r: 0x5c, g: 0x5c, b: 0xff), RGB(r: 0xff, g: 0x00, b: 0xff),
        RGB(r: 0x00, g: 0xff, b: 0xff), RGB(r: 0xff, g: 0xff, b: 0xff),
    ]

    /// The nearest entry of the xterm 256-colour palette among the cube (16-231) and the grey ramp
    /// (232-255), whichever is nearer; the cube wins ties since it holds exact black and white.
    public static func xterm256(_ color: RGB) -> Int {
        // Squared distance separates by channel, so the nearest cube entry is the nearest level
        // in each channel independently.
        let r = nearestCubeLevel(color.r), g = nearestCubeLevel(color.g), b = nearestCubeLevel(color.b)
        let cubeIndex = 16 + 36 * r + 6 * g + b
        let cubeColor = RGB(r: cubeLevels[r], g: cubeLevels[g], b: cubeLevels[b])

        // The distance to a grey (v, v, v) is 3(v - mean)^2 plus a constant, so the nearest ramp
        // step is the one nearest the mean of the channels. The ramp is 8, 18, ..., 238.
        let mean = (Double(color.r) + Double(color.g) + Double(color.b)) / 3
        let step = min(23, max(0, Int(((mean - 8) / 10).rounded())))
        let level = UInt8(8 + 10 * step)
        let greyColor = RGB(r: level, g: level, b: level)

        return greyColor.squaredDistance(to: color) < cubeColor.squaredDistance(to: color) ? 232 + step : cubeIndex
    }

    /// The nearest of the 16 ANSI colours (xterm's default values); the lower index wins ties.
    public static func ansi16(_ color: RGB) -> Int {
        var best = 0
        for index in 1..<ansi16Palette.count
        where ansi16Palette[index].squaredDistance(to: color) < ansi16Palette[best].squaredDistance(to: color) {
            best = index
        }
        return best
    }

    /// The colour an xterm palette index stands for (0-15 at xterm's defaults), for previews and
    /// for checking the quantiser against its own palette.
    public static func xterm256Color(_ index: Int) -> RGB {
        precondition((0...255).contains(index), "xterm palette index \(index) is outside 0...255")
        switch index {
        case 0..<16:
            return ansi16Palette[index]
        case 16..<232:
            let cube = index - 16
            return RGB(r: cubeLevels[cube / 36], g: cubeLevels[cube / 6 % 6], b: cubeLevels[cube % 6])
        default:
            let level = UInt8(8 + 10 * (index - 232))
            return RGB(r: level, g: level, b: level)
        }
    }

    private static func nearestCubeLevel(_ channel: UInt8) -> Int {
        var best = 0
        for index in 1..<cubeLevels.count
        where abs(Int(cubeLevels[index]) - Int(channel)) < abs(Int(cubeLevels[best]) - Int(channel)) {
            best = index
        }
        return best
    }
}
