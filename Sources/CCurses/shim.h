#ifndef STP_CCURSES_SHIM_H
#define STP_CCURSES_SHIM_H
// ncurses (wide-character build) for the explorer. Macros and globals that Swift cannot import
// directly are read through static inline functions here; no logic lives in this file.
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <ncursesw/curses.h>

static inline WINDOW *stp_curses_stdscr(void) { return stdscr; }
static inline int stp_curses_lines(void) { return LINES; }
static inline int stp_curses_cols(void) { return COLS; }
static inline int stp_curses_colors(void) { return COLORS; }
static inline int stp_curses_color_pairs(void) { return COLOR_PAIRS; }
static inline int stp_curses_err(void) { return ERR; }
static inline int stp_curses_ok(void) { return OK; }
static inline int stp_curses_key_resize(void) { return KEY_RESIZE; }
static inline int stp_curses_key_up(void) { return KEY_UP; }
static inline int stp_curses_key_down(void) { return KEY_DOWN; }
static inline int stp_curses_key_left(void) { return KEY_LEFT; }
static inline int stp_curses_key_right(void) { return KEY_RIGHT; }
static inline int stp_curses_key_home(void) { return KEY_HOME; }
static inline int stp_curses_key_end(void) { return KEY_END; }
static inline int stp_curses_key_npage(void) { return KEY_NPAGE; }
static inline int stp_curses_key_ppage(void) { return KEY_PPAGE; }
static inline int stp_curses_key_enter(void) { return KEY_ENTER; }
static inline int stp_curses_key_backspace(void) { return KEY_BACKSPACE; }
static inline int stp_curses_key_btab(void) { return KEY_BTAB; }
static inline int stp_curses_key_mouse(void) { return KEY_MOUSE; }
static inline int stp_curses_key_code_yes(void) { return KEY_CODE_YES; }
static inline attr_t stp_curses_a_normal(void) { return A_NORMAL; }
static inline attr_t stp_curses_a_bold(void) { return A_BOLD; }
static inline attr_t stp_curses_a_reverse(void) { return A_REVERSE; }
static inline attr_t stp_curses_a_underline(void) { return A_UNDERLINE; }
static inline attr_t stp_curses_a_dim(void) { return A_DIM; }
static inline int stp_curses_color_pair(int n) { return COLOR_PAIR(n); }
static inline int stp_curses_lc_all(void) { return LC_ALL; }
/* Mouse: the masks are macros; getmouse's MEVENT is read into plain values here. */
static inline mmask_t stp_curses_mouse_mask(void) {
    return BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED;
}
static inline mmask_t stp_curses_button1_pressed(void) { return BUTTON1_PRESSED; }
static inline mmask_t stp_curses_button1_clicked(void) { return BUTTON1_CLICKED; }
static inline mmask_t stp_curses_button4_pressed(void) { return BUTTON4_PRESSED; }
static inline mmask_t stp_curses_button5_pressed(void) { return BUTTON5_PRESSED; }
static inline int stp_curses_getmouse(int *x, int *y, mmask_t *state) {
    MEVENT event;
    int result = getmouse(&event);
    if (result == OK) { *x = event.x; *y = event.y; *state = event.bstate; }
    return result;
}
#endif
