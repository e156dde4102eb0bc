import Testing
@testable import STPExplorer

@Suite struct ThemeKeyTests {
    @Test func keysAreDistinctSnakeCaseNames() {
        let names = ThemeKey.allCases.map(\.rawValue)
        #expect(Set(names).count == names.count)
        for name in names {
            #expect(name.allSatisfy { $0.isLowercase || $0 == "_" }, "\(name) is not a theme-file key")
        }
    }
}
