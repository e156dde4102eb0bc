import STPTestSupport
import Testing
@testable import STPEngine
@testable import STPMethod

// Seeded, bounded fuzzing of the method's text parsers: architecture strings (parsed, then checked
// against a model and its space) and budget strings (parsed and resolved against the space). Every
// mutated text must parse or throw an STPError whose message names it. FuzzMutator.swift has the
// mutations.

@Suite struct MethodFuzzTests {
    private static let spec = try! ResNetSpec.named("resnet20")
    private static let r20 = space(spec)

    @Test func architectureFuzz() throws {
        let seeds = ["d=3,3,3 w=16,16,16|32,32,32|64,64,64", "w=8,12|16|32,48,64", "d=2,1,3 w=8,12|16|32,48,64",
                     "  d=1,1,1\tw=4|8|16  ", "w=16/32/64", "d=3,2,1 w=16,8,4|32,16|64"]
        var fuzz = FuzzMutator(seed: 0xa4c)
        var tally = FuzzTally()
        for i in 0..<FuzzMutator.cases(4000) {
            let text = fuzz.mutate(seeds[i % seeds.count], extraTokens: ["d=", "w=", "|", "/", "16", "64"], donors: seeds)
            tally.run(i, input: text.debugDescription, names: { $0.hasPrefix("architecture") && (text.isEmpty || $0.contains(text)) }) {
                let a = try Architecture(parsing: text)
                // What parses is checked against a model: errors there name the architecture by its text form.
                do {
                    try a.validate(for: Self.spec)
                    try a.validate(against: Self.r20)
                    _ = try a.subnet(for: Self.spec)
                    _ = a.summary(for: Self.spec)
                } catch let e as STPError where !e.message.isEmpty && e.message.contains(a.text) {
                    // A clear rejection of a well-formed architecture.
                }
            }
        }
        #expect(tally.bad.count == 0, "\(tally)\n\(tally.report)")
        #expect(tally.rejected > 1000 && tally.parsed > 50, "\(tally)")
    }

    @Test func budgetFuzz() throws {
        let seeds = ["50%", "remove 50%", "Remove 85 %", "keep 30%", "  KEEP 12.5% ", "20M", "2.5e7", "1.2G",
                     "300K", "20M MACs", "20 MFLOPs", "12345678", "0.5%", "99.9%"]
        var fuzz = FuzzMutator(seed: 0xb0d6)
        var tally = FuzzTally()
        for i in 0..<FuzzMutator.cases(4000) {
            let text = fuzz.mutate(seeds[i % seeds.count], extraTokens: ["remove", "keep", "M", "G", "K", "MACs",
                                                                         "FLOPs", "1e-9", "100", "%"], donors: seeds)
            tally.run(i, input: text.debugDescription, names: { $0.hasPrefix("budget") }) {
                let resolved = try Budget.resolve(text, for: Self.r20)
                _ = resolved.description
            }
        }
        #expect(tally.bad.count == 0, "\(tally)\n\(tally.report)")
        #expect(tally.rejected > 1000 && tally.parsed > 50, "\(tally)")
    }
}
