import Foundation
import STPEngine

// A small seeded mutator for the parser fuzz tests (*FuzzTests.swift). Each input is a valid seed
// with one mutation (half the time) or up to four stacked: bit flips, interesting bytes (0x00,
// 0xFF, 0x7F, 0x80), inserted, deleted, duplicated and moved ranges, a range repeated 16 to 4096
// times (the input grows, as a bomb does), truncation, interesting
// integers (0, -1, Int32.max, huge lengths, in both byte orders), a number in the text replaced by
// an interesting one (Int.max, 2^32, 1e309, "nan", ...), interesting tokens ("nan", "-", "%",
// ",", ":", "=", unicode, "") and pieces of the other seeds. The same seed always gives the same
// inputs, so a failure names its case and reproduces. (In STPTestSupport: every test target's
// fuzz tests use it.)
//
// STP_FUZZ_SCALE=K runs K times as many cases (the first ones are those `swift test` runs). With
// STP_FUZZ_TRACE=DIR set, every input is written to DIR/<label> before it is parsed, so a crash
// (which no test can catch) leaves the input that caused it behind.

public struct FuzzMutator {
    public var rng: SeededRandom

    public init(seed: UInt64) { rng = SeededRandom(seed: seed) }

    /// Uniform in 0..<n (n > 0).
    public mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }

    public static let interestingBytes: [UInt8] = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0x20, 0x0A, 0x22, 0x5C]
    public static let interestingIntegers: [UInt64] = [
        0, 1, UInt64(bitPattern: -1), UInt64(Int32.max), UInt64(UInt32(bitPattern: Int32.min)),
        UInt64(UInt32.max), UInt64(Int64.max), UInt64(bitPattern: Int64.min), 1 << 31, 1 << 32, 1 << 40,
        1 << 62, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x1_0000,
    ]
    public static let textTokens: [String] = [
        "", "nan", "NaN", "-nan", "inf", "-inf", "-", "+", "%", ",", ":", "=", ".", "e", "E", "e999", "-0",
        "0", "-1", "99999999999999999999999999", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "2147483647", "4294967296", "1e308", "1e-320", "0x10", "_", "[", "]", "{", "}",
        "(", ")", "|", "\"", "\\", "\\u0000", "\\ud800", "#", " ", "\t", "\n", "\r\n", "\0", "é", "∞", "日本",
        "🙂", "\u{301}", "\u{FEFF}", "\u{202E}", "null", "true", "[]", "{}", "1.5", "1e3", "%%", "==", "::",
    ]

    /// Numbers to put in place of a number already in the input.
    public static let interestingNumbers: [String] = [
        "0", "-1", "1", "-0", "2147483647", "2147483648", "-2147483648", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775000", "9223372036854775808", "-9223372036854775808",
        "18446744073709551615",
        "99999999999999999999999999", "1e308", "1e309", "-1e309", "1.5", "nan", "inf", "",
    ]

    /// One mutated copy of `input`: one to four stacked mutations.
    public mutating func mutate(_ input: [UInt8], tokens: [[UInt8]] = [], donors: [[UInt8]] = []) -> [UInt8] {
        var b = input
        // Half the inputs carry a single mutation: they get past the early checks to the later ones.
        for _ in 0..<(below(2) == 0 ? 1 : 1 + below(4)) { mutateOnce(&b, tokens: tokens, donors: donors) }
        return b
    }

    /// A mutated text: the bytes are mutated with text tokens spliced in, then read back as UTF-8
    /// (invalid sequences become U+FFFD, as a file read as text would).
    public mutating func mutate(_ text: String, extraTokens: [String] = [], donors: [String] = []) -> String {
        let tokens = (Self.textTokens + extraTokens).map { Array($0.utf8) }
        return String(decoding: mutate(Array(text.utf8), tokens: tokens, donors: donors.map { Array($0.utf8) }),
                      as: UTF8.self)
    }

    private mutating func mutateOnce(_ b: inout [UInt8], tokens: [[UInt8]], donors: [[UInt8]]) {
        // Numbers are where lengths, offsets and counts live: replacing one is weighted up.
        var op = below(15)
        if op == 12 || op == 13 { op = 9 }
        if b.isEmpty && op != 5 && (op < 10 || op == 14) {
            b.append(Self.interestingBytes[below(Self.interestingBytes.count)])
            return
        }
        switch op {
        case 0:  // flip a bit
            b[below(b.count)] ^= 1 << UInt8(below(8))
        case 1:  // an interesting byte
            b[below(b.count)] = Self.interestingBytes[below(Self.interestingBytes.count)]
        case 2:  // a random byte
            b[below(b.count)] = UInt8(truncatingIfNeeded: rng.next())
        case 3:  // delete a range
            let (start, length) = range(in: b.count)
            b.removeSubrange(start..<start + length)
        case 4:  // duplicate a range in place
            let (start, length) = range(in: b.count)
            b.insert(contentsOf: b[start..<start + length], at: start + length)
        case 5:  // insert random bytes
            let at = below(b.count + 1)
            b.insert(contentsOf: (0..<1 + below(8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
        case 6:  // truncate
            b.removeLast(1 + below(b.count))
        case 7:  // overwrite with an interesting integer, 1, 2, 4 or 8 bytes, either byte order
            let width = [1, 2, 4, 8][below(4)]
            let v = Self.interestingIntegers[below(Self.interestingIntegers.count)]
            var bytes = (0..<width).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
            if below(2) == 0 { bytes.reverse() }
            let at = below(b.count)
            for (i, x) in bytes.enumerated() where at + i < b.count { b[at + i] = x }
        case 9:  // replace a run of ASCII digits (a length, an offset, a count) with an interesting number
            let isDigit = { (c: UInt8) in c >= 0x30 && c <= 0x39 }
            let from = below(b.count)
            guard let start = b[from...].firstIndex(where: isDigit) ?? b[..<from].firstIndex(where: isDigit) else {
                b.insert(contentsOf: Array(Self.interestingNumbers[below(Self.interestingNumbers.count)].utf8), at: from)
                return
            }
            let end = b[start...].firstIndex { !isDigit($0) } ?? b.count
            b.replaceSubrange(start..<end, with: Array(Self.interestingNumbers[below(Self.interestingNumbers.count)].utf8))
        case 14:  // grow: a range repeated up to 4096 times in place (inputs up to ~64 KiB larger),
                  // so that sizes, counts and nesting depth grow past the readers' bounds
            let (start, length) = range(in: b.count)
            let piece = Array(b[start..<start + length])
            let times = 1 << (4 + below(9))
            b.insert(contentsOf: (0..<times).flatMap { _ in piece }, at: start + length)
        case 8:  // move a range elsewhere (a swap of fields)
            let (start, length) = range(in: b.count)
            let piece = Array(b[start..<start + length])
            b.removeSubrange(start..<start + length)
            b.insert(contentsOf: piece, at: below(b.count + 1))
        default:  // insert or overwrite with a token, or splice in part of a donor
            var piece = tokens.isEmpty ? [] : tokens[below(tokens.count)]
            if op == 11 && !donors.isEmpty {
                let d = donors[below(donors.count)]
                if !d.isEmpty {
                    let (start, length) = range(in: d.count)
                    piece = Array(d[start..<start + length])
                }
            }
            let at = below(b.count + 1)
            if below(2) == 0 || at == b.count {
                b.insert(contentsOf: piece, at: at)
            } else {
                let end = min(b.count, at + 1 + below(4))
                b.replaceSubrange(at..<end, with: piece)
            }
        }
    }

    /// A range of 1...16 bytes (rarely up to a quarter of the input) inside 0..<count (count > 0).
    private mutating func range(in count: Int) -> (start: Int, length: Int) {
        let maxLength = below(8) == 0 ? max(1, count / 4) : 16
        let length = 1 + below(min(count, maxLength))
        return (below(count - length + 1), length)
    }

    /// `n` cases, times STP_FUZZ_SCALE when it is set.
    public static func cases(_ n: Int) -> Int {
        n * max(1, Int(ProcessInfo.processInfo.environment["STP_FUZZ_SCALE"] ?? "") ?? 1)
    }

    /// Writes the input about to be parsed when STP_FUZZ_TRACE names a directory.
    public static func trace(_ label: String, _ bytes: [UInt8]) {
        guard let dir = ProcessInfo.processInfo.environment["STP_FUZZ_TRACE"] else { return }
        _ = FileManager.default.createFile(atPath: dir + "/" + label, contents: Data(bytes))
    }
}

/// Counts what a fuzz run saw, for its expectations and its report.
public struct FuzzTally: CustomStringConvertible {
    public var parsed = 0
    public var rejected = 0
    /// Inputs that threw something other than a clear STPError: (case, why, input).
    public var bad: [(index: Int, why: String, input: String)] = []

    public init() {}

    public var description: String { "\(parsed) parsed, \(rejected) rejected, \(bad.count) bad" }

    /// Runs `body` on case `index`; `names` says whether a rejection's message names the source.
    public mutating func run(_ index: Int, input: @autoclosure () -> String, names: (String) -> Bool,
                      _ body: () throws -> Void) {
        do {
            try body()
            parsed += 1
        } catch let e as STPError {
            rejected += 1
            if e.message.isEmpty || !names(e.message) {
                bad.append((index, "unclear message: \(e.message.debugDescription)", input()))
            }
        } catch {
            bad.append((index, "not an STPError: \(type(of: error)): \(error)", input()))
        }
    }

    /// The first few bad cases, for the test's failure message.
    public var report: String {
        bad.prefix(5).map { "case \($0.index): \($0.why)\n  input: \($0.input)" }.joined(separator: "\n")
    }
}

/// Bytes as hex, for a failure message that holds the exact input.
public func fuzzHex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}
