import Testing
@testable import STPEngine

@Test func seededRandomIsDeterministicAndResumable() {
    var a = SeededRandom(seed: 42)
    var b = SeededRandom(seed: 42)
    for _ in 0..<10 { #expect(a.next() == b.next()) }
    var resumed = SeededRandom(state: a.state)
    #expect(resumed.next() == a.next())
    var c = SeededRandom(seed: 43)
    #expect(c.next() != a.next())
}
