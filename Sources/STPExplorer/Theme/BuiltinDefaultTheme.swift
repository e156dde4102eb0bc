// The dark default theme, compiled in so the explorer has colours even when the themes folder is
// not next to the binary. themes/default.theme carries the same values (a test keeps the two
// equal); every other theme falls back to these for the keys it does not set.
extension Theme {
    public static let builtinDefault = Theme(name: "default", colors: [
        // Screen and text
        .mainBg: RGB(r: 0x16, g: 0x18, b: 0x1d),
        .mainFg: RGB(r: 0xcf, g: 0xd3, b: 0xda),
        .title: RGB(r: 0xee, g: 0xf0, b: 0xf4),
        .hiFg: RGB(r: 0x5f, g: 0xaf, b: 0xff),
        .inactiveFg: RGB(r: 0x6b, g: 0x72, b: 0x80),
        // Selection
        .selectedBg: RGB(r: 0x2f, g: 0x3b, b: 0x52),
        .selectedFg: RGB(r: 0xff, g: 0xff, b: 0xff),
        // Borders
        .divLine: RGB(r: 0x3a, g: 0x3f, b: 0x4b),
        .focusLine: RGB(r: 0x5f, g: 0xaf, b: 0xff),
        // Status bar
        .statusBg: RGB(r: 0x23, g: 0x27, b: 0x33),
        .statusFg: RGB(r: 0xcf, g: 0xd3, b: 0xda),
        // Plots: axes, the candidate scatter, the Pareto front, the budget, the selection
        .graphText: RGB(r: 0x8a, g: 0x93, b: 0xa3),
        .candidate: RGB(r: 0x7f, g: 0x8e, b: 0xa3),
        .pareto: RGB(r: 0xff, g: 0xaf, b: 0x5f),
        .budget: RGB(r: 0xff, g: 0x5f, b: 0x87),
        .highlight: RGB(r: 0xff, g: 0xd7, b: 0x5f),
        // Training curves
        .lossFull: RGB(r: 0x5f, g: 0xaf, b: 0xff),
        .lossSubnet: RGB(r: 0xaf, g: 0x87, b: 0xff),
        .accuracyFull: RGB(r: 0x5f, g: 0xd7, b: 0xa7),
        .accuracySubnet: RGB(r: 0xd7, g: 0xd7, b: 0x5f),
        // Architecture and sparsity
        .kept: RGB(r: 0x4f, g: 0xc0, b: 0x8d),
        .dropped: RGB(r: 0x8c, g: 0x4a, b: 0x52),
        .sampled: RGB(r: 0xd7, g: 0xaf, b: 0x5f),
        .sparsityBar: RGB(r: 0x5f, g: 0xaf, b: 0xd7),
        .sparkline: RGB(r: 0x87, g: 0xd7, b: 0xff),
        // Events
        .good: RGB(r: 0x5f, g: 0xd7, b: 0x5f),
        .warning: RGB(r: 0xff, g: 0xaf, b: 0x00),
        .error: RGB(r: 0xff, g: 0x5f, b: 0x5f),
    ])
}
