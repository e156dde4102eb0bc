import STPTestSupport
import Testing
@testable import STPEngine
@testable import STPMethod

// Budget syntax, resolution to a MACs window, and errors that state the possible range.

private let r20 = space(try! ResNetSpec.named("resnet20"))

@Test(arguments: [
    ("50%", Budget.remove(fraction: 0.5)),
    ("remove 50%", .remove(fraction: 0.5)),
    ("Remove 85 %", .remove(fraction: 0.85)),
    ("keep 30%", .keep(fraction: 0.3)),
    ("  KEEP 12.5% ", .keep(fraction: 0.125)),
    ("20M", .macs(20_000_000)),
    ("20m", .macs(20_000_000)),
    ("2.5e7", .macs(25_000_000)),
    ("1.2G", .macs(1_200_000_000)),
    ("300K", .macs(300_000)),
    ("20M MACs", .macs(20_000_000)),
    ("20 MFLOPs", .macs(20_000_000)),
    ("12345678", .macs(12_345_678)),
])
func budgetFormsParse(text: String, budget: Budget) throws {
    #expect(try Budget.parse(text) == budget)
}

@Test(arguments: [
    ("abc", "'abc' is not a number"),
    ("", "the number is missing"),
    ("-5%", "cannot be negative"),
    ("-20M", "MACs cannot be negative"),
    ("150%", "cannot exceed 100%"),
    ("remove 50", "ending in '%'"),
    ("keep", "ending in '%'"),
    ("nanM", "is not a number"),
    ("0x10", "is not a number"),
])
func badBudgetSyntaxListsTheForms(text: String, expected: String) {
    let message = errorMessage { _ = try Budget.parse(text) }
    #expect(message?.contains(expected) == true, "'\(text)': \(message ?? "no error")")
    #expect(message?.contains("expected a form like 50%, remove 50%, keep 30%, 20M, 2.5e7, 1.2G, 1.5ms or 2x-faster") == true)
}

@Test func budgetsResolveToATargetAndWindow() throws {
    let full = 40_551_040
    let half = try Budget.resolve("50%", for: r20)
    #expect(half.targetMACs == full / 2)
    #expect(half.window == Int((Double(full / 2) * 0.97).rounded(.up))...(full / 2))
    #expect(half.full == full)
    #expect(abs(half.removedFraction - 0.5) < 1e-9)
    #expect(try Budget.resolve("keep 30%", for: r20).target == Int(Double(full) * 0.3))
    #expect(try Budget.resolve("20M", for: r20, tolerance: 0.1).window == 18_000_000...20_000_000)
    #expect(try Budget.resolve("2.5e7", for: r20, tolerance: 0).window == 25_000_000...25_000_000)
    #expect("\(half)".hasPrefix("remove 50%: at most 20.28M MACs (50% removed), window 19.67M...20.28M MACs"), "\(half)")
    #expect(throws: STPError.self) { _ = try Budget.resolve("50%", for: r20, tolerance: 1) }
}

@Test func impossibleBudgetsStateThePossibleRange() throws {
    let smallest = r20.cost.macs(of: r20.smallest)
    let maxRemoved = Budget.percent(1 - Double(smallest) / 40_551_040, rounding: .down)
    let smallestText = CountFormat.string(smallest, rounding: .up)
    let removedRange = "possible range is above 0% up to \(maxRemoved) FLOPs removed (\(smallestText) up to below 40.55M MACs)"
    let cases: [(String, String)] = [
        ("99%", "budget 99% removes more than the smallest architecture allows: " + removedRange),
        ("remove 100%", "budget 100% removes more than the smallest architecture allows"),
        ("0%", "budget 0% does not prune anything (the full network has 40.55M MACs): " + removedRange),
        ("keep 1%", "budget keep 1% keeps less than the smallest architecture: possible range is keep "),
        ("keep 100%", "does not prune anything"),
        ("1M", "budget 1M is below the smallest architecture (\(CountFormat.string(smallest)) MACs): possible range is \(smallestText) up to below 40.55M MACs (above 0% up to \(maxRemoved) FLOPs removed)"),
        ("1.2G", "budget 1.2G does not prune anything"),
        ("40551040", "does not prune anything"),
        ("abc", "'abc' is not a number"),
        ("-5%", "cannot be negative"),
    ]
    for (text, expected) in cases {
        let message = errorMessage { _ = try Budget.resolve(text, for: r20) } ?? "no error"
        #expect(message.contains(expected), "'\(text)': \(message)")
        #expect(message.contains("possible range is"), "'\(text)': \(message)")
        #expect(message.contains(smallestText), "'\(text)': \(message)")
    }
    // The displayed bounds are themselves possible.
    #expect(try Budget.resolve(maxRemoved, for: r20).target >= smallest)
    #expect(try Budget.resolve(smallestText, for: r20).target >= smallest)
    #expect(try Budget.resolve(CountFormat.string(40_551_039, rounding: .down), for: r20).target < 40_551_040)
}

@Test func spacesWithoutTheFullWidthBoundTheBudgetByTheirLargestArchitecture() throws {
    let s = space(try ResNetSpec.named("resnet20"), ArchitectureSpaceOptions(widthRatios: [0.25, 0.5]))
    let largest = s.cost.macs(of: s.largest)
    let message = errorMessage { _ = try Budget.resolve("10%", for: s) } ?? "no error"
    #expect(message.contains("is above the largest architecture of this space (\(CountFormat.string(largest)) MACs)"), "\(message)")
    #expect(!message.contains("above 0%"), "\(message)")
    #expect(try Budget.resolve("keep \(Int(Double(largest) / 40_551_040 * 100) - 1)%", for: s).target <= largest)
}

@Test func budgetWindowsContainArchitectures() throws {
    for text in ["50%", "70%", "85%", "keep 40%"] {
        let window = try Budget.resolve(text, for: r20).window
        var rng = SeededRandom(seed: 4)
        for _ in 0..<10 {
            let a = try #require(r20.randomArchitecture(in: window, using: &rng), "\(text)")
            #expect(window.contains(r20.cost.macs(of: a)))
            try r20.validate(a)
        }
    }
}
