#ifndef STP_CBLAS_SHIM_H
#define STP_CBLAS_SHIM_H
// OpenBLAS through its CBLAS interface. Debian installs cblas.h under the openblas-pthread
// include directory that pkg-config names.
#include <cblas.h>

// OpenBLAS extensions, declared in its cblas.h; wrapped so Swift sees plain functions.
static inline const char *stp_openblas_corename(void) { return openblas_get_corename(); }
static inline const char *stp_openblas_config(void) { return openblas_get_config(); }
static inline int stp_openblas_num_threads(void) { return openblas_get_num_threads(); }
static inline void stp_openblas_set_num_threads(int n) { openblas_set_num_threads(n); }
#endif
