// Aligned plain-text tables (layer summaries, pruning results, `stp info`) and the same table as
// CSV for spreadsheets.

public struct TextTable: Sendable, Equatable {
    public enum Alignment: Sendable, Equatable { case left, right }

    public var headers: [String]
    public var rows: [[String]]
    /// Per column; nil entries (or a short array) mean automatic: right-aligned when every
    /// non-empty cell of the column looks numeric, left otherwise.
    public var alignments: [Alignment?]

    public init(headers: [String], rows: [[String]] = [], alignments: [Alignment?] = []) {
        self.headers = headers
        self.rows = rows
        self.alignments = alignments
    }

    public mutating func addRow(_ cells: [String]) { rows.append(cells) }

    public var columnCount: Int { max(headers.count, rows.map(\.count).max() ?? 0) }

    private func cell(_ row: [String], _ column: Int) -> String { column < row.count ? row[column] : "" }

    /// The alignment actually used for each column.
    public var resolvedAlignments: [Alignment] {
        (0..<columnCount).map { c in
            if c < alignments.count, let a = alignments[c] { return a }
            let cells = rows.map { cell($0, c) }.filter { !$0.isEmpty && $0 != "-" && $0 != "—" }
            return !cells.isEmpty && cells.allSatisfy(TextTable.looksNumeric) ? .right : .left
        }
    }

    /// Numbers as this module prints them: "40,551,040", "-0.5", "3e-7", "125.49M", "71.2%", "3.0x".
    public static func looksNumeric(_ text: String) -> Bool {
        var s = text.replacingAll(",", with: "")
        if let last = s.last, "%kMGTPx".contains(last) { s.removeLast() }
        return !s.isEmpty && Double(s) != nil
    }

    /// Header, a dashed rule, then the rows; columns separated by two spaces, no trailing blanks.
    public func render(separator: String = "  ") -> String {
        let n = columnCount
        let all = [headers] + rows
        let widths = (0..<n).map { c in all.map { cell($0, c).count }.max() ?? 0 }
        let align = resolvedAlignments
        func line(_ row: [String]) -> String {
            let cells = (0..<n).map { c -> String in
                let text = cell(row, c)
                let pad = String(repeating: " ", count: widths[c] - text.count)
                return align[c] == .right ? pad + text : text + pad
            }
            var s = cells.joined(separator: separator)
            while s.last == " " { s.removeLast() }
            return s
        }
        var lines = [line(headers)]
        lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: separator))
        lines += rows.map(line)
        return lines.joined(separator: "\n") + "\n"
    }

    /// RFC 4180 CSV: a header record, then the rows; fields containing a comma, quote, CR, LF or
    /// leading/trailing space are quoted, with quotes doubled. Records end with "\n".
    public func csv() -> String {
        let n = columnCount
        return ([headers] + rows).map { row in
            (0..<n).map { TextTable.csvField(cell(row, $0)) }.joined(separator: ",")
        }.joined(separator: "\n") + "\n"
    }

    public static func csvField(_ text: String) -> String {
        let needsQuotes = text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            || text.first == " " || text.last == " "
        guard needsQuotes else { return text }
        return "\"" + text.replacingAll("\"", with: "\"\"") + "\""
    }
}

/// Thousands separators: formatCount(40551040) == "40,551,040", formatCount(-1234) == "-1,234".
public func formatCount<T: BinaryInteger>(_ value: T) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return value < 0 ? "-" + out : out
}

/// SI prefixes with `decimals` decimals: formatSI(125485696) == "125.49M", formatSI(1500) ==
/// "1.50k", formatSI(999) == "999", formatSI(0.25) == "0.25". Rounding that reaches 1000 moves to
/// the next prefix (999999 → "1.00M").
public func formatSI(_ value: Double, decimals: Int = 2) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
    let prefixes = ["", "k", "M", "G", "T", "P", "E"]
    var scaled = abs(value)
    var index = 0
    while scaled >= 1000 && index < prefixes.count - 1 { scaled /= 1000; index += 1 }
    let sign = value < 0 ? "-" : ""
    if index == 0 {
        if scaled == scaled.rounded() { return sign + String(Int(scaled)) }
        return sign + String(format3: scaled, decimals: decimals)
    }
    var text = String(format3: scaled, decimals: decimals)
    if Double(text) ?? 0 >= 1000, index < prefixes.count - 1 {
        index += 1
        text = String(format3: scaled / 1000, decimals: decimals)
    }
    return sign + text + prefixes[index]
}

public func formatSI(_ value: Int, decimals: Int = 2) -> String { formatSI(Double(value), decimals: decimals) }

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for ch in self { if ch == target { out += replacement } else { out.append(ch) } }
        return out
    }
}
