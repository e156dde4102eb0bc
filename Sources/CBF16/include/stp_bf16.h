// bfloat16 products for the convolutions, on AVX512-BF16 (VDPBF16PS: two bf16 products summed
// into each float32 lane). Swift cannot emit these instructions; the kernels are C with the
// intrinsics, each function compiled for AVX512-BF16 through a target attribute, so nothing here
// runs unless the engine has checked the CPU (BF16Kernels.available).
//
// bfloat16 is the upper half of a float32: 8 exponent bits, 7 mantissa bits. A float converts by
// round to nearest, ties to even (as PyTorch and VCVTNEPS2BF16 do); NaN stays NaN. The products
// accumulate in float32, so the only error beyond float32's is the rounding of each operand to
// 8 significant bits (relative error at most 2^-8), so |C - C_fp32| <= ~2^-7 * sum_k |a_k b_k|.
//
// Shapes (bf16 values are uint16_t):
//   fields:  row i of the left operand F [cols, K] is the field starting at a + i * pixel_stride:
//            `segments` runs of `segment_length` contiguous values, `segment_stride` apart
//            (K = segments * segment_length). A plain matrix A [m, k] with rows lda apart is
//            the case segments = 1, segment_length = k, pixel_stride = lda. This is the
//            receptive field of an NHWC convolution (AVX512Kernels.convolutionRow's, in bf16).
//   packed:  the right operand B [K, n] in pair panels: 64-column panels (the last one narrower),
//            each holding, per segment, ceil(segment_length / 2) pair rows of width16 x 2 values
//            (width16 = the panel's width rounded up to 16): pair row j, column o holds
//            (B[2j, o], B[2j + 1, o]), zero past the segment's end and past n. Panel p starts at
//            p * stp_bf16_panel_values(segments, segment_length, 64).
//   output:  C [cols, n] float32, rows ldc apart, = or += F * B; nothing past column n is written.
#ifndef STP_BF16_H
#define STP_BF16_H

#include <stdint.h>

/// dst[i] = bf16(src[i]) for i < count, round to nearest even (NaN stays NaN).
void stp_bf16_from_float(const float *src, uint16_t *dst, long count);

/// dst[i] = float(src[i]) for i < count (exact).
void stp_bf16_to_float(const uint16_t *src, float *dst, long count);

/// bf16 values of one packed panel `width` columns wide.
long stp_bf16_panel_values(int segments, int segment_length, int width);

/// bf16 values of the whole packed operand of n columns.
long stp_bf16_packed_values(int segments, int segment_length, int n);

/// Packs B [K, n], element (row r, column o) at b[r * row_stride + o * column_stride], into
/// `packed` (stp_bf16_packed_values values).
void stp_bf16_pack(const float *b, long row_stride, long column_stride, int segments, int segment_length, int n,
                   uint16_t *packed);

/// C[cols, n] (= or += when `accumulate`) F * B for the fields at `a` (see the shapes above).
void stp_bf16_field_product(int cols, int n, const uint16_t *a, long pixel_stride, long segment_stride,
                            int segments, int segment_length, const uint16_t *packed,
                            float *c, long ldc, int accumulate);

#endif
