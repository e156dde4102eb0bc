import CCurses

// curses key codes to the explorer's keys. Special keys come from the shim (the KEY_* macros are
// read through it, never copied); control characters are mapped by their ASCII meaning.

enum KeyDecoder {
    /// A key from wget_wch: `isFunctionKey` when it returned KEY_CODE_YES.
    static func decode(_ code: UInt32, isFunctionKey: Bool) -> Key? {
        let c = Int32(bitPattern: code)
        if isFunctionKey {
            switch c {
            case stp_curses_key_up(): return .up
            case stp_curses_key_down(): return .down
            case stp_curses_key_left(): return .left
            case stp_curses_key_right(): return .right
            case stp_curses_key_home(): return .home
            case stp_curses_key_end(): return .end
            case stp_curses_key_ppage(): return .pageUp
            case stp_curses_key_npage(): return .pageDown
            case stp_curses_key_enter(): return .enter
            case stp_curses_key_backspace(): return .backspace
            case stp_curses_key_btab(): return .backTab
            case stp_curses_key_resize(): return .resize
            default: return nil
            }
        }
        switch code {
        case 27: return .escape
        case 9: return .tab
        case 10, 13: return .enter
        case 8, 127: return .backspace
        case 1...26: return .ctrl(Character(Unicode.Scalar(code + 96)!))
        default:
            guard let scalar = Unicode.Scalar(code) else { return nil }
            return .char(Character(scalar))
        }
    }
}
