import Testing
@testable import STPExplorer

@Suite struct KeyMapTests {
    @Test func everyActionHasAKeyAndNoKeyIsBoundTwiceInAMode() {
        let bound = Set(KeyMap.bindings.map(\.action))
        for action in KeyAction.allCases { #expect(bound.contains(action), "\(action) has no key") }
        for mode in KeyMode.allCases {
            let mine = KeyMap.bindings(in: mode)
            let keys = mine.flatMap(\.keys)
            #expect(Set(keys).count == keys.count, "a key bound twice in \(mode)")
            #expect(mine.filter { $0.catchAll == .printable }.count <= 1 && mine.filter { $0.catchAll == .anyOtherKey }.count <= 1)
            #expect(!mine.isEmpty && mine.contains { $0.action == .quitNow }, "Ctrl-C in \(mode)")
        }
    }

    @Test func theKeysTheIssueAsksForAreThere() {
        let expected: [(Key, KeyAction)] = [
            (.char("q"), .quit), (.escape, .back), (.tab, .cycleFocus), (.char("j"), .down), (.down, .down),
            (.char("k"), .up), (.up, .up), (.char("g"), .top), (.char("G"), .bottom), (.char("b"), .budgetPrompt),
            (.char("+"), .budgetUp), (.char("-"), .budgetDown), (.char("p"), .togglePause), (.char(" "), .togglePause),
            (.char("s"), .searchNow), (.char("e"), .export), (.char("t"), .cycleTheme), (.ctrl("l"), .redraw),
            (.char("?"), .help), (.char("/"), .filter), (.enter, .open), (.char("1"), .togglePane), (.char("7"), .togglePane),
        ]
        for (key, action) in expected { #expect(KeyMap.binding(for: key)?.action == action, "\(key.label)") }
    }

    @Test func theMarkdownTableAndTheStatusBarComeFromTheTable() {
        let table = KeyMap.markdownTable.split(separator: "\n")
        #expect(table.count == KeyMap.bindings.count + 2)
        for binding in KeyMap.bindings { #expect(table.contains { $0.contains("`\(binding.label)`") && $0.contains(binding.help) }) }
        let status = KeyMap.statusHints().map(\.label)
        #expect(status.first == "quit" && status.contains("budget") && status.contains("search") && status.contains("export"))
        let grid = ExplorerFixtures.render(ExplorerFixtures.snapshot(), width: 120, height: 40)
        for hint in KeyMap.statusHints() { #expect(grid.line(39).contains("\(hint.key) \(hint.label)")) }
    }
}
