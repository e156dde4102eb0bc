// Masked AVX-512 loads and stores for STPKernelsAVX512, and the bfloat16 store of its transforms: the last vector of a row whose length is
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

/// Stores the 16 lanes of v at p as bfloat16, rounded to nearest even as PyTorch rounds (the upper
/// half of u + 0x7fff + bit 16 of u; NaN becomes 0x7fc0). Swift's SIMD conversions compile this
/// lane by lane; these are the five vector instructions.
static inline __attribute__((target("avx512f"), always_inline))
void stp_store_bfloat16(unsigned short *p, stp_float16 v) {
    __m512i u = _mm512_castps_si512((__m512)v);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb)), 16);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
    r = _mm512_mask_mov_epi32(r, nan, _mm512_set1_epi32(0x7fc0));
    _mm256_storeu_si256((__m256i *)p, _mm512_cvtepi32_epi16(r));
}

#endif
