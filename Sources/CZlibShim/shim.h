#ifndef STP_CZLIB_SHIM_H
#define STP_CZLIB_SHIM_H
#include <zlib.h>

// inflateInit2 is a macro over inflateInit2_; Swift cannot call macros, so wrap it.
static inline int stp_inflate_init2(z_streamp strm, int window_bits) {
    return inflateInit2(strm, window_bits);
}
static inline const char *stp_zlib_version(void) { return zlibVersion(); }
#endif
