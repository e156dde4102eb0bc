// The kernels of stp_bf16.h. Register blocks: a block of R output rows by NV 16-column vectors
// keeps R * NV float32 accumulators in zmm registers; per pair of reduction values it loads NV
// vectors of B (32 bf16 each: 16 columns x 2 rows) and broadcasts each row's 32-bit pair of A.
// R is chosen per NV so that about 24 of the 32 registers accumulate (6x4, 8x3, 12x2, 16x1).

#include "stp_bf16.h"

#include <immintrin.h>
#include <string.h>

#define STP_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define STP_AVX512_TARGET __attribute__((target("avx512f")))

enum { PANEL = 64 };

// Conversions. Round to nearest even in integer arithmetic, as PyTorch's c10::BFloat16 does
// (u + 0x7fff + lsb, then the upper half; NaN becomes 0x7fc0). VCVTNEPS2BF16 would flush
// denormals to zero; this keeps them, so every value converts as PyTorch converts it.

static inline uint16_t bf16_from_float(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

STP_AVX512_TARGET
void stp_bf16_from_float(const float *src, uint16_t *dst, long count) {
    const __m512i bias = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
    const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
    const __m512i qnan = _mm512_set1_epi32(0x7fc0);
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512i u = _mm512_loadu_si512(src + i);
        __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), one);
        __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(bias, lsb)), 16);
        __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs_mask), inf);
        r = _mm512_mask_mov_epi32(r, nan, qnan);
        _mm256_storeu_si256((__m256i *)(dst + i), _mm512_cvtepi32_epi16(r));
    }
    for (; i < count; i++) dst[i] = bf16_from_float(src[i]);
}

void stp_bf16_to_float(const uint16_t *src, float *dst, long count) {
    for (long i = 0; i < count; i++) {
        uint32_t u = (uint32_t)src[i] << 16;
        memcpy(dst + i, &u, 4);
    }
}

// Packing.

static inline int round16(int n) { return (n + 15) / 16 * 16; }

long stp_bf16_panel_values(int segments, int segment_length, int width) {
    return (long)segments * ((segment_length + 1) / 2) * round16(width) * 2;
}

long stp_bf16_packed_values(int segments, int segment_length, int n) {
    long total = 0;
    for (int first = 0; first < n; first += PANEL) {
        int width = n - first < PANEL ? n - first : PANEL;
        total += stp_bf16_panel_values(segments, segment_length, width);
    }
    return total;
}

void stp_bf16_pack(const float *b, long row_stride, long column_stride, int segments, int segment_length, int n,
                   uint16_t *packed) {
    const int pairs = (segment_length + 1) / 2;
    uint16_t *out = packed;
    for (int first = 0; first < n; first += PANEL) {
        const int width = n - first < PANEL ? n - first : PANEL, width16 = round16(width);
        for (int s = 0; s < segments; s++) {
            for (int j = 0; j < pairs; j++) {
                for (int o = 0; o < width16; o++) {
                    for (int h = 0; h < 2; h++) {
                        const int row = 2 * j + h;
                        float v = 0;
                        if (o < width && row < segment_length)
                            v = b[(long)(s * segment_length + row) * row_stride + (long)(first + o) * column_stride];
                        out[(j * width16 + o) * 2 + h] = bf16_from_float(v);
                    }
                }
            }
            out += (long)pairs * width16 * 2;
        }
    }
}

// Products.

typedef struct {
    const uint16_t *a;
    long pixel_stride, segment_stride;
    int segments, segment_length;
} Fields;

// The pair (a[0], a[1]) (or (a[0], 0) for a segment's odd last value) in every 32-bit lane.
static inline STP_BF16_TARGET __m512bh pair_at(const uint16_t *a) {
    uint32_t pair;
    memcpy(&pair, a, 4);
    return (__m512bh)_mm512_set1_epi32((int)pair);
}
static inline STP_BF16_TARGET __m512bh last_at(const uint16_t *a) {
    return (__m512bh)_mm512_set1_epi32((int)(uint32_t)a[0]);
}

// One block: `rows` (<= R) rows from `row0`, NV vectors of the panel at `b` (width16 wide),
// the last vector's columns limited by `last_mask`. Inlined with constant R and NV.
static inline __attribute__((always_inline)) STP_BF16_TARGET
void block(const int R, const int NV, int rows, const Fields *f, int row0, const uint16_t *b, int width16,
           __mmask16 last_mask, float *c, long ldc, int accumulate) {
    __m512 acc[16][4];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
    const int pairs = f->segment_length / 2, odd = f->segment_length & 1;
    const uint16_t *bp = b;
    for (int s = 0; s < f->segments; s++) {
        const uint16_t *base = f->a + (long)row0 * f->pixel_stride + (long)s * f->segment_stride;
        for (int j = 0; j <= pairs; j++) {
            if (j == pairs && !odd) break;
            __m512bh bv[4];
            for (int v = 0; v < NV; v++) bv[v] = (__m512bh)_mm512_loadu_si512(bp + v * 32);
            for (int r = 0; r < R; r++) {
                if (r < rows) {
                    const uint16_t *ar = base + (long)r * f->pixel_stride + 2 * j;
                    __m512bh av = j < pairs ? pair_at(ar) : last_at(ar);
                    for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
                }
            }
            bp += width16 * 2;
        }
    }
    for (int r = 0; r < R; r++) {
        if (r < rows) {
            float *cr = c + (long)(row0 + r) * ldc;
            for (int v = 0; v < NV; v++) {
                __mmask16 m = v == NV - 1 ? last_mask : (__mmask16)0xffff;
                __m512 x = acc[r][v];
                if (accumulate) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, cr + v * 16));
                _mm512_mask_storeu_ps(cr + v * 16, m, x);
            }
        }
    }
}

// Every row of one panel with NV vectors: full blocks of R rows with R constant, then the rest.
#define PANEL_ROWS(R, NV)                                                                              \
    static STP_BF16_TARGET void panel_##NV(int cols, const Fields *f, const uint16_t *b, int width16,  \
                                           __mmask16 last_mask, float *c, long ldc, int accumulate) {  \
        int i = 0;                                                                                     \
        for (; i + R <= cols; i += R) block(R, NV, R, f, i, b, width16, last_mask, c, ldc, accumulate); \
        if (i < cols) block(R, NV, cols - i, f, i, b, width16, last_mask, c, ldc, accumulate);        \
    }
PANEL_ROWS(16, 1)
PANEL_ROWS(12, 2)
PANEL_ROWS(8, 3)
PANEL_ROWS(6, 4)

STP_BF16_TARGET
void stp_bf16_field_product(int cols, int n, const uint16_t *a, long pixel_stride, long segment_stride,
                            int segments, int segment_length, const uint16_t *packed,
                            float *c, long ldc, int accumulate) {
    const Fields f = {a, pixel_stride, segment_stride, segments, segment_length};
    const uint16_t *b = packed;
    for (int first = 0; first < n; first += PANEL) {
        const int width = n - first < PANEL ? n - first : PANEL, width16 = round16(width), nv = width16 / 16;
        const int tail = width - (nv - 1) * 16;
        const __mmask16 last_mask = (__mmask16)((1u << tail) - 1u);
        float *cp = c + first;
        switch (nv) {
        case 1: panel_1(cols, &f, b, width16, last_mask, cp, ldc, accumulate); break;
        case 2: panel_2(cols, &f, b, width16, last_mask, cp, ldc, accumulate); break;
        case 3: panel_3(cols, &f, b, width16, last_mask, cp, ldc, accumulate); break;
        default: panel_4(cols, &f, b, width16, last_mask, cp, ldc, accumulate); break;
        }
        b += stp_bf16_panel_values(segments, segment_length, width);
    }
}
