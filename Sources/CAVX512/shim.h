// Masked AVX-512 loads and stores for STPKernelsAVX512: the last vector of a row whose length is
// not a multiple of 16 (a pruned network's odd channel count) is read and written through a
// mask instead of a padded copy of the whole row. Swift has no masked vector memory access;
// these are the intrinsics, as static inline functions (the module's only content).
#ifndef STP_CAVX512_SHIM_H
#define STP_CAVX512_SHIM_H

#include <immintrin.h>

typedef float stp_float16 __attribute__((ext_vector_type(16)));

/// The first `count` (0...16) floats at p, zeros in the other lanes; nothing past p + count is read.
static inline __attribute__((target("avx512f"), always_inline))
stp_float16 stp_load_first(const float *p, int count) {
    __mmask16 mask = (__mmask16)((1u << count) - 1u);
    return (stp_float16)_mm512_maskz_loadu_ps(mask, p);
}

/// Stores the first `count` (0...16) lanes of v at p; nothing past p + count is written.
static inline __attribute__((target("avx512f"), always_inline))
void stp_store_first(float *p, stp_float16 v, int count) {
    __mmask16 mask = (__mmask16)((1u << count) - 1u);
    _mm512_mask_storeu_ps(p, mask, (__m512)v);
}

#endif
