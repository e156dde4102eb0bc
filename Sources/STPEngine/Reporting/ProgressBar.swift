// Progress of a long loop (an epoch, an evaluation pass) on stderr.
//
// On a terminal: one line redrawn in place, at most 10 times a second,
//   epoch 3/30 [#########.......] 61% 240/391 12.3s ETA 7.9s 1043 img/s loss 0.842 acc 71.2%
// with Unicode block characters when the locale is UTF-8, fitted to the terminal width.
// Elsewhere (a log file, a pipe, CI): complete plain lines, one per 10% and at least every
// `plainInterval` seconds, plus a final line.
//
// All formatting lives in `ProgressFormat` as pure functions of fixed numbers.

import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Everything one progress line shows.
public struct ProgressSnapshot: Sendable, Equatable {
    public var label: String
    public var completed: Int
    public var total: Int
    /// Seconds since the loop started.
    public var elapsed: Double
    /// Items processed so far (images), for the rate; nil shows steps per second ("it/s").
    public var items: Int?
    /// Unit of `items`, e.g. "img".
    public var unit: String
    /// Caller-supplied key/value pairs shown at the end ("loss" "0.842").
    public var fields: [Field]
    public var finished: Bool

    public struct Field: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) { self.key = key; self.value = value }
    }

    public init(label: String, completed: Int, total: Int, elapsed: Double, items: Int? = nil,
                unit: String = "img", fields: [(String, String)] = [], finished: Bool = false) {
        self.label = label
        self.completed = completed
        self.total = total
        self.elapsed = elapsed
        self.items = items
        self.unit = unit
        self.fields = fields.map { Field($0.0, $0.1) }
        self.finished = finished
    }

    /// Completed fraction in [0, 1] (1 for an empty loop).
    public var fraction: Double {
        total > 0 ? min(max(Double(completed) / Double(total), 0), 1) : 1
    }

    /// Remaining seconds at the average speed so far; nil before the first step completes.
    public var eta: Double? {
        guard completed > 0, total > completed, elapsed > 0 else { return completed >= total ? 0 : nil }
        return elapsed * Double(total - completed) / Double(completed)
    }
}

public enum ProgressFormat {
    /// 7.9s, 12.3s, 59.9s; 3m05s; 1h02m. Negative, NaN or infinite give "--".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--" }
        if seconds < 59.95 { return String(format3: seconds, decimals: 1) + "s" }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return "\(whole / 60)m" + twoDigits(whole % 60) + "s" }
        let minutes = Int((seconds / 60).rounded())
        return "\(minutes / 60)h" + twoDigits(minutes % 60) + "m"
    }

    /// "1043 img/s", "87.5 img/s", "3.25 it/s", "12.3k img/s"; "-- unit/s" when unknown.
    public static func rate(_ perSecond: Double, unit: String) -> String {
        guard perSecond.isFinite, perSecond >= 0 else { return "-- \(unit)/s" }
        let number: String
        if perSecond >= 9999.5 { number = String(format3: perSecond / 1000, decimals: 1) + "k" }
        else if perSecond >= 99.95 { number = String(Int(perSecond.rounded())) }
        else if perSecond >= 9.995 { number = String(format3: perSecond, decimals: 1) }
        else { number = String(format3: perSecond, decimals: 2) }
        return "\(number) \(unit)/s"
    }

    /// "61%": the fraction rounded down, so 100% appears only when done.
    public static func percent(_ fraction: Double) -> String {
        "\(Int((min(max(fraction, 0), 1) * 100).rounded(.down)))%"
    }

    /// The bar with its brackets; `width` counts the cells between them. ASCII fills with '#'
    /// and '.'; Unicode with full blocks, one eighth-block for the partial cell, and spaces.
    public static func bar(fraction: Double, width: Int, unicode: Bool) -> String {
        let width = max(width, 0)
        let f = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        if !unicode {
            let filled = Int((f * Double(width)).rounded(.down))
            return "[" + String(repeating: "#", count: filled)
                + String(repeating: ".", count: width - filled) + "]"
        }
        let eighths = Int((f * Double(width * 8)).rounded(.down))
        let full = eighths / 8, rest = eighths % 8
        let partials: [Character] = ["▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        var s = "[" + String(repeating: "█", count: full)
        var used = full
        if rest > 0 && used < width { s.append(partials[rest - 1]); used += 1 }
        return s + String(repeating: " ", count: width - used) + "]"
    }

    /// The parts after the bar: "61% 240/391 12.3s ETA 7.9s 1043 img/s" then the fields.
    static func statistics(_ p: ProgressSnapshot) -> [String] {
        var parts = [percent(p.fraction), "\(p.completed)/\(p.total)", duration(p.elapsed)]
        if !p.finished { parts.append("ETA " + (p.eta.map(duration) ?? "--")) }
        let perSecond: Double = p.elapsed > 0 ? Double(p.items ?? p.completed) / p.elapsed : .nan
        parts.append(rate(perSecond, unit: p.items == nil ? "it" : p.unit))
        return parts
    }

    static func fieldTexts(_ p: ProgressSnapshot) -> [String] {
        p.fields.map { $0.key.isEmpty ? $0.value : "\($0.key) \($0.value)" }
    }

    /// A complete line without a bar, for logs and pipes.
    public static func plainLine(_ p: ProgressSnapshot) -> String {
        ([p.label].filter { !$0.isEmpty } + statistics(p) + fieldTexts(p)).joined(separator: " ")
    }

    /// The redrawn terminal line, at most `width - 1` characters (the last column is left free so
    /// terminals never wrap). The bar takes the room left over (10 to 50 cells); when there is not
    /// enough room, fields are dropped from the end, then statistics, then the bar, and as a last
    /// resort the line is cut.
    public static func terminalLine(_ p: ProgressSnapshot, width: Int, unicode: Bool) -> String {
        let available = max(width - 1, 1)
        let minBar = 10, maxBar = 50
        var tail = statistics(p) + fieldTexts(p)
        let head = p.label.isEmpty ? [] : [p.label]
        while true {
            let words = head + tail
            // Text length plus one space between each word and around the bar, plus brackets.
            let textLength = words.reduce(0) { $0 + $1.count } + words.count + 2
            let room = available - textLength
            if room >= minBar || tail.count <= 2 {
                if room >= minBar || room >= 4 {
                    let cells = min(room, maxBar)
                    let line = (head + [bar(fraction: p.fraction, width: cells, unicode: unicode)] + tail)
                        .joined(separator: " ")
                    return String(line.prefix(available))
                }
                return String(words.joined(separator: " ").prefix(available))
            }
            tail.removeLast()
        }
    }

    /// Terminal redraw throttle: first draw, at least 0.1 s since the last, or the end.
    public static func shouldRedraw(now: Double, lastDraw: Double?, finished: Bool) -> Bool {
        guard let lastDraw else { return true }
        return finished || now - lastDraw >= 0.1 - 1e-9   // tolerate clock rounding
    }

    /// Plain-line policy: the first line, each new tenth, every `interval` seconds, and the end.
    /// `lastTenth` is the tenth (0...10) of the last emitted line.
    public static func shouldEmitPlain(fraction: Double, lastTenth: Int?, now: Double,
                                       lastEmit: Double?, interval: Double, finished: Bool) -> Bool {
        guard let lastTenth, let lastEmit else { return true }
        if finished { return true }
        if tenth(fraction) > lastTenth { return true }
        return now - lastEmit >= interval
    }

    static func tenth(_ fraction: Double) -> Int { Int((min(max(fraction, 0), 1) * 10).rounded(.down)) }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// Seconds on a monotonic clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// A progress reporter; thread-safe (updates may come from any thread).
public final class ProgressBar: Sendable {
    public enum Style: Sendable, Equatable {
        /// Redrawn single line of the given width; nil asks the console at every redraw, so the
        /// line follows terminal resizes.
        case terminal(width: Int?, unicode: Bool)
        /// Complete lines.
        case plain
    }

    private struct State: Sendable {
        var lastDraw: Double?
        var lastEmit: Double?
        var lastTenth: Int?
        var done = false
        // What the last update reported, for a finish() that does not repeat it.
        var lastCompleted: Int?
        var lastItems: Int?
        var lastFields: [(String, String)] = []
    }

    public let label: String
    public let total: Int
    public let unit: String
    public let style: Style
    public let plainInterval: Double
    private let console: Console
    private let clock: @Sendable () -> Double
    private let start: Double
    private let state = Mutex(State())

    /// - Parameters:
    ///   - label: shown first, e.g. "epoch 3/30".
    ///   - total: number of steps.
    ///   - unit: unit of the `items` passed to `update`, for the rate.
    ///   - style: nil chooses from the console: a terminal gets the redrawn line (width from the
    ///     terminal, Unicode if the locale is UTF-8), anything else plain lines.
    public init(label: String, total: Int, unit: String = "img", console: Console = .standardError,
                style: Style? = nil, plainInterval: Double = 30,
                clock: @escaping @Sendable () -> Double = monotonicSeconds) {
        self.label = label
        self.total = total
        self.unit = unit
        self.console = console
        self.plainInterval = plainInterval
        self.clock = clock
        self.start = clock()
        if let style {
            self.style = style
        } else if console.isTerminal {
            self.style = .terminal(width: nil,
                                   unicode: Console.localeIsUTF8(environment: BLASRuntime.currentEnvironment()))
        } else {
            self.style = .plain
        }
    }

    /// Reports `completed` steps (and `items` processed so far); draws if the policy allows.
    public func update(completed: Int, items: Int? = nil, fields: [(String, String)] = []) {
        report(completed: completed, items: items, fields: fields, finished: false)
    }

    /// Draws the final line (always) and ends it; later calls do nothing. `completed` defaults to
    /// the total; items and fields not given repeat the last update's.
    public func finish(completed: Int? = nil, items: Int? = nil, fields: [(String, String)] = []) {
        report(completed: completed, items: items, fields: fields, finished: true)
    }

    private func report(completed: Int?, items: Int?, fields: [(String, String)], finished: Bool) {
        let now = clock()
        state.withLock { s in
            guard !s.done else { return }
            let done = completed ?? (finished ? total : s.lastCompleted ?? 0)
            let count = items ?? (finished ? s.lastItems : nil)
            let shown = fields.isEmpty && finished ? s.lastFields : fields
            s.lastCompleted = done
            s.lastItems = count
            s.lastFields = shown
            let snapshot = ProgressSnapshot(label: label, completed: done, total: total,
                                            elapsed: now - start, items: count, unit: unit,
                                            fields: shown, finished: finished)

            switch style {
            case .terminal(let width, let unicode):
                guard ProgressFormat.shouldRedraw(now: now, lastDraw: s.lastDraw, finished: finished) else { return }
                s.lastDraw = now
                let line = ProgressFormat.terminalLine(snapshot, width: width ?? console.columns, unicode: unicode)
                if console.isTerminal {
                    console.setStatusLine(line)
                    if finished { console.endStatusLine(keep: true) }
                } else if finished {
                    console.writeLine(line)   // a forced terminal style on a non-terminal
                }
            case .plain:
                guard ProgressFormat.shouldEmitPlain(fraction: snapshot.fraction, lastTenth: s.lastTenth,
                                                     now: now, lastEmit: s.lastEmit,
                                                     interval: plainInterval, finished: finished) else { return }
                s.lastEmit = now
                s.lastTenth = ProgressFormat.tenth(snapshot.fraction)
                console.writeLine(ProgressFormat.plainLine(snapshot))
            }
            if finished { s.done = true }
        }
    }
}
