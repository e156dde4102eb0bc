// The colour roles of the explorer: every cell the panels draw names one of these roles, never a
// colour, and the terminal backend maps a role to a colour through the active theme. A theme file
// sets roles with btop-style lines, `theme[main_bg]="#1e1e2e"`; keys it does not set keep the
// default theme's value. The raw values are the keys as they appear in theme files.
public enum ThemeKey: String, CaseIterable, Sendable, Hashable {
    case mainBg = "main_bg"                 // screen background
    case mainFg = "main_fg"                 // ordinary text
    case title = "title"                    // panel titles
    case hiFg = "hi_fg"                     // highlighted key letters, emphasis
    case selectedBg = "selected_bg"         // background of the selected row or cell
    case selectedFg = "selected_fg"         // text of the selected row or cell
    case inactiveFg = "inactive_fg"         // dimmed text: dropped blocks, disabled panes, hints
    case divLine = "div_line"               // panel borders and separators
    case focusLine = "focus_line"           // border of the focused panel
    case statusBg = "status_bg"             // status bar background
    case statusFg = "status_fg"             // status bar text
    case graphText = "graph_text"           // axis labels and ticks
    case kept = "kept"                      // kept blocks / channels (bars)
    case dropped = "dropped"                // dropped blocks / channels
    case sampled = "sampled"                // sampling-frequency marks
    case candidate = "candidate"            // evaluated candidates in the scatter
    case pareto = "pareto"                  // the Pareto front line
    case budget = "budget"                  // the budget line and budget figures
    case highlight = "highlight"            // the selected candidate in plots
    case lossFull = "loss_full"             // full-network loss curve
    case lossSubnet = "loss_subnet"         // sampled-subnet loss curve
    case accuracyFull = "accuracy_full"     // full-network accuracy curve
    case accuracySubnet = "accuracy_subnet" // sampled-subnet accuracy curve
    case sparsityBar = "sparsity_bar"       // relative-sparsity bars
    case sparkline = "sparkline"            // relative-sparsity history
    case good = "good"                      // success events, new best
    case warning = "warning"                // warnings
    case error = "error"                    // errors
}
