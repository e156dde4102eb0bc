import STPEngine

// An architecture of the weight-sharing supernet, as a value (METHOD.md section 2): stage s keeps
// its first d_s blocks (1 <= d_s <= n_s, so the first block, which carries the stride and the
// shortcut, is always kept), and every kept block keeps the first k of its inner channels.
//
// The depth of a stage is the number of widths listed for it, so the two can never disagree.
//
// Text form (command line, terminal UI, logs):
//
//     d=2,1,3 w=8,12|16|32,48,64
//
//   `d=` lists the kept depth of every stage, separated by commas; `w=` lists, stage by stage,
//   the inner widths of the kept blocks (commas inside a stage, `|` between stages). The `d=`
//   part is optional when parsing (it is implied by the widths) and must agree when given; `/` is
//   accepted in place of `|` because `|` needs quoting in a shell. Widths are channel counts, not
//   ratios, so there is no decimal point anywhere and no ambiguity.
//
// JSON form: {"depths":[2,1,3],"widths":[[8,12],[16],[32,48,64]]} (depths written for readers,
// checked against the widths when read).

public struct Architecture: Hashable, Sendable, CustomStringConvertible {
    /// Inner widths of the kept blocks, stage by stage.
    public let widths: [[Int]]

    /// Kept depth of every stage.
    public var depths: [Int] { widths.map(\.count) }
    public var stageCount: Int { widths.count }

    /// An architecture from the kept widths of every stage. Every stage keeps at least one block
    /// and every width is positive.
    public init(widths: [[Int]]) throws {
        guard !widths.isEmpty else {
            throw STPError(.argument, "architecture: expected at least one stage, got none")
        }
        for (s, stage) in widths.enumerated() {
            guard !stage.isEmpty else {
                throw STPError(.argument, "architecture: stage \(s + 1) keeps no block; expected at least its first block (depth >= 1)")
            }
            for (i, k) in stage.enumerated() where k < 1 {
                throw STPError(.argument, "architecture: stage \(s + 1) block \(i + 1) has width \(k); expected a positive channel count")
            }
        }
        self.widths = widths
    }

    /// Same, checking that `depths` agrees with the number of widths of each stage.
    public init(depths: [Int], widths: [[Int]]) throws {
        guard depths.count == widths.count else {
            throw STPError(.argument, "architecture: \(depths.count) depths but \(widths.count) width groups; expected one of each per stage")
        }
        for (s, d) in depths.enumerated() where d != widths[s].count {
            throw STPError(.argument, "architecture: stage \(s + 1) has depth \(d) but \(widths[s].count) widths; expected one width per kept block")
        }
        try self.init(widths: widths)
    }

    /// Already-checked widths (internal use by the space and the operators).
    init(unchecked widths: [[Int]]) { self.widths = widths }

    /// The whole network: every block at its full inner width.
    public static func full(_ spec: ResNetSpec) -> Architecture {
        let inner = spec.innerWidths
        var out = [[Int]]()
        var b = 0
        for n in spec.blocksPerStage {
            out.append(Array(inner[b..<(b + n)]))
            b += n
        }
        return Architecture(unchecked: out)
    }

    // MARK: Text form

    /// `d=2,1,3 w=8,12|16|32,48,64`.
    public var text: String {
        "d=" + depths.map(String.init).joined(separator: ",") + " w="
            + widths.map { $0.map(String.init).joined(separator: ",") }.joined(separator: "|")
    }

    public var description: String { text }

    /// Parses the text form. Errors name the 1-based character position and what was expected.
    public init(parsing text: String) throws {
        var parser = ArchitectureTextParser(text)
        self = try parser.parse()
    }

    // MARK: Checks

    /// Structural check against a model: as many stages, depth at most the stage's block count,
    /// widths 1...the block's full inner width. (The architecture space adds its own rules.)
    public func validate(for spec: ResNetSpec) throws {
        guard stageCount == spec.blocksPerStage.count else {
            throw STPError(.argument, "architecture \(text): has \(stageCount) stages but model \(spec.name) has \(spec.blocksPerStage.count)")
        }
        let inner = spec.innerWidths
        var b = 0
        for (s, n) in spec.blocksPerStage.enumerated() {
            guard depths[s] <= n else {
                throw STPError(.argument, "architecture \(text): stage \(s + 1) keeps \(depths[s]) blocks but model \(spec.name) has only \(n) there; expected depth 1...\(n)")
            }
            for (i, k) in widths[s].enumerated() where k > inner[b + i] {
                throw STPError(.argument, "architecture \(text): stage \(s + 1) block \(i + 1) has width \(k) but the block is only \(inner[b + i]) wide; expected 1...\(inner[b + i])")
            }
            b += n
        }
    }

    /// Checks the architecture against every rule of `space` (depth range with pins, allowed widths).
    public func validate(against space: ArchitectureSpace) throws {
        try space.validate(self)
    }

    /// The engine's description of this subnet of `spec`.
    public func subnet(for spec: ResNetSpec) throws -> SubnetSelection {
        try validate(for: spec)
        return try SubnetSelection.fromDepths(spec, depths: depths, widths: widths)
    }

    // MARK: Summaries

    /// Kept depth per stage, e.g. "2,1,3".
    public var depthString: String { depths.map(String.init).joined(separator: ",") }

    /// Mean of (kept width / full width) over the kept blocks of each stage.
    public func meanWidthRatios(for spec: ResNetSpec) -> [Double] {
        let inner = spec.innerWidths
        var out = [Double]()
        var b = 0
        for (s, n) in spec.blocksPerStage.enumerated() where s < stageCount {
            let ratios = widths[s].enumerated().map { Double($0.element) / Double(inner[b + $0.offset]) }
            out.append(ratios.reduce(0, +) / Double(ratios.count))
            b += n
        }
        return out
    }

    /// One line for logs and the explorer: "depth 2,1,3 of 3,3,3  width 62%,100%,75%".
    public func summary(for spec: ResNetSpec) -> String {
        let ratios = meanWidthRatios(for: spec).map { "\(Int(($0 * 100).rounded()))%" }
        return "depth \(depthString) of \(spec.blocksPerStage.map(String.init).joined(separator: ","))  width \(ratios.joined(separator: ","))"
    }
}

extension Architecture: Codable {
    private enum CodingKeys: String, CodingKey { case depths, widths }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let widths = try c.decode([[Int]].self, forKey: .widths)
        if let depths = try c.decodeIfPresent([Int].self, forKey: .depths) {
            try self.init(depths: depths, widths: widths)
        } else {
            try self.init(widths: widths)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(depths, forKey: .depths)
        try c.encode(widths, forKey: .widths)
    }
}

/// Recursive-descent parser of the text form; positions are 1-based characters.
struct ArchitectureTextParser {
    let source: String
    let chars: [Character]
    var i = 0

    init(_ text: String) {
        source = text
        chars = Array(text)
    }

    private func fail(_ expected: String) -> STPError {
        let found = i < chars.count ? "'\(chars[i])'" : "the end of the text"
        return STPError(.argument, "architecture '\(source)': at character \(i + 1): expected \(expected), found \(found) (form: d=2,1,3 w=8,12|16|32,48,64)")
    }

    private mutating func skipSpaces() { while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 } }

    private mutating func accept(_ s: String) -> Bool {
        let want = Array(s)
        guard i + want.count <= chars.count, Array(chars[i..<(i + want.count)]) == want else { return false }
        i += want.count
        return true
    }

    private mutating func number(_ what: String) throws -> Int {
        let start = i
        while i < chars.count, chars[i].isASCII, chars[i].isNumber { i += 1 }
        guard i > start else { throw fail(what) }
        guard let value = Int(String(chars[start..<i])), value >= 1 else {
            i = start
            throw fail(what)
        }
        return value
    }

    mutating func parse() throws -> Architecture {
        skipSpaces()
        var depths: [Int]?
        if accept("d=") {
            var list = [try number("a depth (a positive integer)")]
            while accept(",") { list.append(try number("a depth (a positive integer)")) }
            depths = list
            guard i < chars.count, chars[i] == " " || chars[i] == "\t" else {
                throw fail(i < chars.count ? "',' or a space before 'w='" : "' w=' and the widths")
            }
            skipSpaces()
        }
        guard accept("w=") else { throw fail(depths == nil ? "'d=' or 'w='" : "'w='") }
        var groups = [[Int]]()
        var group = [try number("a width (a positive channel count)")]
        while i < chars.count {
            if accept(",") {
                group.append(try number("a width (a positive channel count)"))
            } else if accept("|") || accept("/") {
                groups.append(group)
                group = [try number("a width (a positive channel count) starting the next stage")]
            } else {
                break
            }
        }
        groups.append(group)
        skipSpaces()
        guard i == chars.count else { throw fail("',' between widths, '|' between stages, or the end") }
        if let depths {
            guard depths.count == groups.count else {
                throw STPError(.argument, "architecture '\(source)': d= lists \(depths.count) stages but w= has \(groups.count) stage groups; expected the same number")
            }
            for (s, d) in depths.enumerated() where d != groups[s].count {
                throw STPError(.argument, "architecture '\(source)': stage \(s + 1) has depth \(d) but \(groups[s].count) widths; expected one width per kept block")
            }
        }
        return Architecture(unchecked: groups)
    }
}
