import Testing
@testable import STPEngine

@Test func reportingCountsAndSI() {
    #expect(formatCount(40551040) == "40,551,040")
    #expect(formatCount(0) == "0")
    #expect(formatCount(999) == "999")
    #expect(formatCount(1000) == "1,000")
    #expect(formatCount(-1234567) == "-1,234,567")
    #expect(formatCount(Int64.min) == "-9,223,372,036,854,775,808")
    #expect(formatCount(UInt8(255)) == "255")
    #expect(formatSI(125485696) == "125.49M")
    #expect(formatSI(1500) == "1.50k")
    #expect(formatSI(999) == "999")
    #expect(formatSI(0) == "0")
    #expect(formatSI(0.25) == "0.25")
    #expect(formatSI(999_999) == "1.00M")
    #expect(formatSI(-2_500_000_000) == "-2.50G")
    #expect(formatSI(40551040, decimals: 1) == "40.6M")
    #expect(formatSI(Double.nan) == "nan")
}

@Test func reportingTableRendering() {
    var table = TextTable(headers: ["layer", "params", "MACs", "kept"])
    table.addRow(["conv1", formatCount(432), formatSI(442368), "100%"])
    table.addRow(["layer1.0.conv1", formatCount(2304), formatSI(2359296), "62.5%"])
    table.addRow(["fc", formatCount(650), "-", ""])
    #expect(table.resolvedAlignments == [.left, .right, .right, .right])
    #expect(formatSI(442368) == "442.37k")
    let rendered = table.render()
    let lines = rendered.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    #expect(lines[0] == "layer           params     MACs   kept")
    #expect(lines[1] == "--------------  ------  -------  -----")
    #expect(lines[2] == "conv1              432  442.37k   100%")
    #expect(lines[3] == "layer1.0.conv1   2,304    2.36M  62.5%")
    #expect(lines[4] == "fc                 650        -")
    #expect(lines.count == 6 && lines[5] == "")

    var forced = TextTable(headers: ["a", "b"], rows: [["1", "x"], ["22", "yy"]], alignments: [.left])
    #expect(forced.render() == "a   b\n--  --\n1   x\n22  yy\n")
    forced.alignments = [.right, .right]
    #expect(forced.render() == " a   b\n--  --\n 1   x\n22  yy\n")
    // Ragged rows are padded with empty cells.
    let ragged = TextTable(headers: ["k"], rows: [["a", "1"]])
    #expect(ragged.render() == "k\n-  -\na  1\n")
}

@Test func reportingNumericDetection() {
    for s in ["1", "-0.5", "40,551,040", "3e-7", "125.49M", "71.2%", "3.0x", "1.50k"] {
        #expect(TextTable.looksNumeric(s), "\(s)")
    }
    for s in ["", "conv1", "M", "%", "1.2.3", "n/a"] {
        #expect(!TextTable.looksNumeric(s), "\(s)")
    }
}

@Test func reportingCSV() {
    let table = TextTable(headers: ["name", "value"], rows: [
        ["plain", "1,234"],
        ["say \"hi\"", " padded"],
        ["two\nlines", ""],
        ["short"],
    ])
    #expect(table.csv() == "name,value\nplain,\"1,234\"\n\"say \"\"hi\"\"\",\" padded\"\n\"two\nlines\",\nshort,\n")
    #expect(TextTable.csvField("a\rb") == "\"a\rb\"")
    #expect(TextTable.csvField("ok") == "ok")
}
