import CCurses
import Foundation

// The only code that touches curses, and only from the UI thread. It copies a CellGrid to the
// terminal, writing just the cells that changed since the previous frame (so an idle explorer
// writes nothing and a training frame a few dozen cells), maps theme roles to colour pairs for
// the terminal's colour mode, and reads keys with a timeout.

final class CursesScreen {
    let colorMode: ColorMode
    private var previous: CellGrid?
    private var pairs: [PairKey: Int16] = [:]
    private var roleColor: [ThemeKey: Int32] = [:]
    /// Roles drawn bold because an 8-colour terminal shows bright colours that way.
    private var boldRoles: Set<ThemeKey> = []
    private var isOpen = false
    private let directColor: Bool

    private struct PairKey: Hashable {
        var fg: ThemeKey
        var bg: ThemeKey
    }

    /// Starts curses: raw keys (Ctrl-C arrives as a key), no echo, hidden cursor, keypad
    /// translation, colours in the best mode the terminal and the environment allow.
    init(environment: [String: String]) {
        initscr()
        isOpen = true
        raw()
        noecho()
        nonl()
        keypad(stp_curses_stdscr(), true)
        set_escdelay(25)
        curs_set(0)
        var colors = -1
        var canChange = false
        if has_colors() {
            start_color()
            use_default_colors()
            colors = Int(stp_curses_colors())
            canChange = can_change_color()
        }
        colorMode = has_colors() ? ColorMode.detect(environment: environment, terminalColors: colors, canChangeColor: canChange) : .none
        directColor = colors >= 1 << 24
        CursesScreen.installCrashHandlers()
        // Clicks and the wheel; mouseinterval 0 reports presses at once instead of waiting to
        // tell clicks from drags.
        mousemask(stp_curses_mouse_mask(), nil)
        mouseinterval(0)
    }

    deinit { close() }

    /// Restores the terminal (idempotent).
    func close() {
        guard isOpen else { return }
        isOpen = false
        CursesScreen.removeCrashHandlers()
        endwin()
    }

    /// Signals of a crash (a Swift runtime trap is SIGILL or SIGTRAP): restore the terminal
    /// before the process dies, so a crash never leaves the shell in raw mode without echo.
    private static let crashSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE]

    private static func installCrashHandlers() {
        for sig in crashSignals {
            signal(sig) { received in
                endwin()
                signal(received, SIG_DFL)
                raise(received)
            }
        }
    }

    private static func removeCrashHandlers() {
        for sig in crashSignals { signal(sig, SIG_DFL) }
    }

    var size: (width: Int, height: Int) {
        (Int(stp_curses_cols()), Int(stp_curses_lines()))
    }

    /// Maps every role to a terminal colour of `theme` and forgets the pairs (redraws all).
    func apply(_ theme: Theme) {
        roleColor = [:]
        boldRoles = []
        pairs = [:]
        previous = nil
        guard colorMode != .none else { return }
        let colors = theme.terminalColors(in: colorMode)
        let terminalColors = Int(stp_curses_colors())
        for (index, key) in ThemeKey.allCases.enumerated() {
            switch colors[key] ?? .terminalDefault {
            case .terminalDefault:
                roleColor[key] = -1
            case .palette(let i):
                if i >= terminalColors && i >= 8 && i < 16 {
                    roleColor[key] = Int32(i - 8)
                    boldRoles.insert(key)
                } else {
                    roleColor[key] = Int32(min(i, terminalColors - 1))
                }
            case .rgb(let rgb):
                if directColor {
                    roleColor[key] = Int32(rgb.packed)
                } else {
                    // Palette entries 16 and up are redefined, one per role; 0-15 stay the user's.
                    let slot = Int32(16 + index)
                    let s = rgb.cursesScale
                    init_extended_color(slot, Int32(s.r), Int32(s.g), Int32(s.b))
                    roleColor[key] = slot
                }
            }
        }
    }

    private func pair(fg: ThemeKey, bg: ThemeKey) -> Int16 {
        let key = PairKey(fg: fg, bg: bg)
        if let p = pairs[key] { return p }
        let number = Int32(pairs.count + 1)
        guard number < stp_curses_color_pairs() else { return 0 }
        init_extended_pair(number, roleColor[fg] ?? -1, roleColor[bg] ?? -1)
        pairs[key] = Int16(number)
        return Int16(number)
    }

    /// Forgets what is on the screen: the next draw repaints every cell (Ctrl-L, resize).
    func invalidate() {
        previous = nil
        clearok(stp_curses_stdscr(), true)
    }

    func draw(_ grid: CellGrid) {
        let window = stp_curses_stdscr()
        let full = previous == nil || previous!.width != grid.width || previous!.height != grid.height
        if full { werase(window) }
        var cc = cchar_t()
        var chars: [wchar_t] = [0, 0]
        for y in 0..<grid.height {
            for x in 0..<grid.width {
                let cell = grid[x, y]
                if !full, let p = previous, p[x, y] == cell { continue }
                var attributes = stp_curses_a_normal()
                if cell.attributes.contains(.bold) || boldRoles.contains(cell.role) { attributes |= stp_curses_a_bold() }
                if cell.attributes.contains(.underline) { attributes |= stp_curses_a_underline() }
                if cell.attributes.contains(.dim) { attributes |= stp_curses_a_dim() }
                if cell.attributes.contains(.reverse) { attributes |= stp_curses_a_reverse() }
                var pairNumber: Int16 = 0
                if colorMode == .none {
                    // Without colour the selection shows as reverse video.
                    if cell.background == .selectedBg || cell.background == .statusBg { attributes |= stp_curses_a_reverse() }
                } else {
                    pairNumber = pair(fg: cell.role, bg: cell.background ?? .mainBg)
                }
                chars[0] = wchar_t(bitPattern: cell.character.unicodeScalars.first.map { $0.value } ?? 32)
                setcchar(&cc, chars, attributes, pairNumber, nil)
                mvwadd_wch(window, Int32(y), Int32(x), &cc)
            }
        }
        wrefresh(window)
        previous = grid
    }

    /// The next key, waiting at most `milliseconds` (nil: none arrived).
    func readKey(milliseconds: Int32) -> Key? {
        wtimeout(stp_curses_stdscr(), milliseconds)
        var value: wint_t = 0
        let result = wget_wch(stp_curses_stdscr(), &value)
        if result == stp_curses_err() { return nil }
        if result == stp_curses_key_code_yes() && Int32(bitPattern: UInt32(value)) == stp_curses_key_mouse() {
            var x: Int32 = 0, y: Int32 = 0
            var buttons: mmask_t = 0
            guard stp_curses_getmouse(&x, &y, &buttons) == stp_curses_ok() else { return nil }
            if buttons & stp_curses_button4_pressed() != 0 { return .mouse(x: Int(x), y: Int(y), .wheelUp) }
            if buttons & stp_curses_button5_pressed() != 0 { return .mouse(x: Int(x), y: Int(y), .wheelDown) }
            if buttons & (stp_curses_button1_pressed() | stp_curses_button1_clicked()) != 0 { return .mouse(x: Int(x), y: Int(y), .click) }
            return nil
        }
        return KeyDecoder.decode(UInt32(value), isFunctionKey: result == stp_curses_key_code_yes())
    }
}
