import STPEngine
import STPMethod

// Number formats shared by the panels.

enum Format {
    static func percent(_ fraction: Double?, digits: Int = 1) -> String {
        guard let f = fraction, f.isFinite else { return "-" }
        return String(format: "%.\(digits)f%%", 100 * f)
    }

    static func macs(_ value: Int) -> String { CountFormat.string(value) }

    /// `digits` decimals; "-" when there is no value, and "nan" or "inf" for a non-finite one
    /// (a diverged loss must not look like a missing one).
    static func number(_ value: Double?, digits: Int = 3) -> String {
        guard let v = value else { return "-" }
        guard v.isFinite else { return v.isNaN ? "nan" : v < 0 ? "-inf" : "inf" }
        return String(format: "%.\(digits)f", v)
    }

    static func duration(_ seconds: Double?) -> String {
        guard let s = seconds else { return "--" }
        return ProgressFormat.duration(s)
    }

    /// `text` cut to `width` characters, ending in the ellipsis when cut.
    static func fit(_ text: String, _ width: Int, ellipsis: String = "…") -> String {
        guard width > 0 else { return "" }
        if text.count <= width { return text }
        if width <= ellipsis.count { return String(text.prefix(width)) }
        return String(text.prefix(width - ellipsis.count)) + ellipsis
    }

    static func padLeft(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    static func padRight(_ text: String, _ width: Int) -> String {
        text.count >= width ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
    }
}
