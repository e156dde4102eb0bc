// A 24-bit colour as theme files write it ("#rrggbb"), plus the two encodings the curses backend
// needs to hand it to a terminal that can show it exactly.
public struct RGB: Hashable, Sendable, CustomStringConvertible {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(r: UInt8, g: UInt8, b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// Parses exactly `#rrggbb` (hex digits in either case). btop also reads a two-digit grey
    /// (`#gg`); that form is refused here so that a truncated colour such as `#12345` is reported
    /// as an error instead of being silently read as something else.
    public init?(hex: String) {
        let bytes = Array(hex.utf8)
        guard bytes.count == 7, bytes[0] == UInt8(ascii: "#") else { return nil }
        var channels: [UInt8] = []
        for start in stride(from: 1, to: 7, by: 2) {
            guard let high = RGB.hexDigitValue(bytes[start]),
                  let low = RGB.hexDigitValue(bytes[start + 1]) else { return nil }
            channels.append(high << 4 | low)
        }
        self.init(r: channels[0], g: channels[1], b: channels[2])
    }

    /// Lower-case `#rrggbb`, the form theme files and diagnostics use.
    public var hex: String {
        "#" + [r, g, b].map { channel in
            let digits = String(channel, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    public var description: String { hex }

    /// The colour number of a direct-colour terminal (a terminfo entry with 2^24 colours, such as
    /// xterm-direct), where the number itself is the colour: 0xRRGGBB.
    public var packed: Int { Int(r) << 16 | Int(g) << 8 | Int(b) }

    /// The channels on curses' `init_color` scale, 0...1000, rounded to nearest, for terminals that
    /// can redefine their palette entries (`can_change_color`).
    public var cursesScale: (r: Int, g: Int, b: Int) {
        func scale(_ channel: UInt8) -> Int { (Int(channel) * 1000 + 127) / 255 }
        return (scale(r), scale(g), scale(b))
    }

    /// Squared Euclidean distance in RGB space: the measure the quantiser minimises.
    public func squaredDistance(to other: RGB) -> Int {
        let dr = Int(r) - Int(other.r)
        let dg = Int(g) - Int(other.g)
        let db = Int(b) - Int(other.b)
        return dr * dr + dg * dg + db * db
    }

    private static func hexDigitValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
