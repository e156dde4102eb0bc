import Foundation
import STPTestSupport
import Testing
@testable import STPEngine
@testable import STPMethod

// The architecture value: its checks, its text and JSON forms, and its engine subnet.

@Test func fullArchitectureKeepsEveryBlockAtFullWidth() throws {
    let spec = tinyBasicSpec()
    let full = Architecture.full(spec)
    #expect(full.depths == [2, 1, 2])
    #expect(full.widths == [[4, 4], [6], [8, 8]])
    #expect(full.text == "d=2,1,2 w=4,4|6|8,8")
    #expect(try full.subnet(for: spec) == SubnetSelection.full(spec))
    #expect(full.meanWidthRatios(for: spec) == [1, 1, 1])
    #expect(full.depthString == "2,1,2")
}

@Test func subnetSelectionDropsTrailingBlocksAndSlicesWidths() throws {
    let spec = tinyBasicSpec()
    let a = try Architecture(parsing: "d=1,1,2 w=2|3|4,8")
    let sel = try a.subnet(for: spec)
    #expect(sel.keep == [true, false, true, true, true])
    #expect(sel.innerWidth == [2, 4, 3, 4, 8])
    #expect(a.meanWidthRatios(for: spec) == [0.5, 0.5, 0.75])
    #expect(a.summary(for: spec) == "depth 1,1,2 of 2,1,2  width 50%,50%,75%")
}

@Test func structuralErrorsNameTheStageBlockAndExpectedRange() throws {
    let spec = tinyBasicSpec()
    let tooDeep = errorMessage { try Architecture(widths: [[4], [6, 6], [8]]).validate(for: spec) }
    #expect(tooDeep?.contains("stage 2 keeps 2 blocks") == true && tooDeep?.contains("expected depth 1...1") == true, "\(tooDeep ?? "")")
    let tooWide = errorMessage { try Architecture(widths: [[4], [6], [8, 9]]).validate(for: spec) }
    #expect(tooWide?.contains("stage 3 block 2 has width 9") == true && tooWide?.contains("expected 1...8") == true, "\(tooWide ?? "")")
    let stages = errorMessage { try Architecture(widths: [[4], [6]]).validate(for: spec) }
    #expect(stages?.contains("has 2 stages but model tiny has 3") == true, "\(stages ?? "")")
    #expect(errorMessage { _ = try Architecture(widths: [[4], [], [8]]) }?.contains("stage 2 keeps no block") == true)
    #expect(errorMessage { _ = try Architecture(widths: [[4], [0], [8]]) }?.contains("stage 2 block 1 has width 0") == true)
    #expect(errorMessage { _ = try Architecture(depths: [1, 2], widths: [[4], [6]]) }?.contains("stage 2 has depth 2 but 1 widths") == true)
    #expect(throws: STPError.self) { _ = try Architecture(widths: []) }
}

@Test func spaceErrorsListTheAllowedValues() throws {
    let s = space(tinyBasicSpec(), ArchitectureSpaceOptions(minDepths: [2, 1, 1], pinnedBlocks: [4]))
    let shallow = errorMessage { try Architecture(widths: [[4], [6], [8, 8]]).validate(against: s) }
    #expect(shallow?.contains("stage 1 keeps 1 blocks; this space needs 2...2") == true, "\(shallow ?? "")")
    let width = errorMessage { try Architecture(widths: [[4, 4], [1], [8, 8]]).validate(against: s) }
    #expect(width?.contains("stage 2 block 1 has width 1; allowed widths there are 2, 3, 4, 5, 6") == true, "\(width ?? "")")
    // Block 4 (stage 3, second block) is pinned: stage 3 must keep it, at full width.
    let unpinned = errorMessage { try Architecture(widths: [[4, 4], [6], [8, 6]]).validate(against: s) }
    #expect(unpinned?.contains("allowed widths there are 8") == true, "\(unpinned ?? "")")
    let dropped = errorMessage { try Architecture(widths: [[4, 4], [6], [8]]).validate(against: s) }
    #expect(dropped?.contains("this space needs 2...2") == true, "\(dropped ?? "")")
    try Architecture(widths: [[4, 1], [2], [2, 8]]).validate(against: s)
}

@Test func textFormRoundTripsAndAcceptsItsVariants() throws {
    let a = try Architecture(parsing: "d=2,1,3 w=8,12|16|32,48,64")
    #expect(a.widths == [[8, 12], [16], [32, 48, 64]])
    #expect(a.text == "d=2,1,3 w=8,12|16|32,48,64")
    #expect(try Architecture(parsing: "w=8,12|16|32,48,64") == a, "d= is optional")
    #expect(try Architecture(parsing: "  d=2,1,3   w=8,12/16/32,48,64 ") == a, "/ separates stages too; spaces are trimmed")
    #expect("\(a)" == a.text)

    let s = space(tinyBasicSpec())
    var rng = SeededRandom(seed: 11)
    for _ in 0..<200 {
        let r = s.randomArchitecture(using: &rng)
        #expect(try Architecture(parsing: r.text) == r)
    }
}

@Test(arguments: [
    ("", "at character 1: expected 'd=' or 'w='"),
    ("d=2,1", "at character 6: expected ' w=' and the widths"),
    ("d=2;1 w=4", "at character 4: expected ',' or a space before 'w='"),
    ("d=a w=4", "at character 3: expected a depth"),
    ("d=2 x=4", "at character 5: expected 'w='"),
    ("w=4,,5", "at character 5: expected a width"),
    ("w=4|", "at character 5: expected a width (a positive channel count) starting the next stage, found the end"),
    ("w=4|6 x", "at character 7: expected ',' between widths, '|' between stages, or the end"),
    ("w=4.5", "at character 4: expected ',' between widths"),
    ("w=0,4", "at character 3: expected a width"),
    ("d=1,1 w=4|6|8", "d= lists 2 stages but w= has 3 stage groups"),
    ("d=2,1 w=4|6", "stage 1 has depth 2 but 1 widths"),
])
func badTextIsRejectedWithPositionAndExpectation(text: String, expected: String) {
    let message = errorMessage { _ = try Architecture(parsing: text) }
    #expect(message?.contains(expected) == true, "'\(text)' gave: \(message ?? "no error")")
    #expect(message?.contains("architecture '\(text)'") == true)
}

@Test func jsonRoundTripsAndChecksDepthsAgainstWidths() throws {
    let s = space(tinyBasicSpec())
    var rng = SeededRandom(seed: 5)
    for _ in 0..<100 {
        let a = s.randomArchitecture(using: &rng)
        let data = try JSONEncoder().encode(a)
        #expect(try JSONDecoder().decode(Architecture.self, from: data) == a)
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let json = String(decoding: try encoder.encode(try Architecture(widths: [[4, 2], [6]])), as: UTF8.self)
    #expect(json == #"{"depths":[2,1],"widths":[[4,2],[6]]}"#)
    #expect(try JSONDecoder().decode(Architecture.self, from: Data(#"{"widths":[[4],[6]]}"#.utf8)).depths == [1, 1])
    #expect(throws: STPError.self) {
        _ = try JSONDecoder().decode(Architecture.self, from: Data(#"{"depths":[2,1],"widths":[[4],[6]]}"#.utf8))
    }
    #expect(throws: STPError.self) {
        _ = try JSONDecoder().decode(Architecture.self, from: Data(#"{"widths":[[4],[-1]]}"#.utf8))
    }
}
