// Matrix products for convolutions whose output channels are a multiple of 16 (at most 64),
// register-blocked for AVX-512: one 16-float vector per 16 output channels, several rows (or
// reduction columns) per block so each loaded vector feeds several fused multiply-adds.
//
// This module is compiled for Skylake-AVX512 (see Package.swift): the engine calls into it only
// after checking that the CPU has AVX-512F, and falls back to OpenBLAS otherwise. The products
// are exactly the GEMMs of a convolution on this library's layouts, with no packing copies:
//   forward:  y[P, N] = col[P, K] * wt[K, N]       (wt = the packed weight transposed)
//   weights:  dwt[K, N] += col[P, K]^T * dy[P, N]

public enum AVX512Kernels {
    /// Whether a product with `n` output columns is supported.
    public static func supports(columns n: Int) -> Bool { n > 0 && n % 16 == 0 && n <= 64 }

    /// C[m, n] = A[m, k] * B[k, n] (or += when `accumulate`). A has row stride `lda`, B is dense
    /// [k, n], C has row stride `ldc`.
    public static func product(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                               b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        precondition(supports(columns: n), "AVX512Kernels.product: \(n) columns")
        forwardProduct(m: m, nv: n / 16, k: k, a: a, lda: lda, b: b, c: c, ldc: ldc, accumulate: accumulate)
    }

    /// D[k, n] += sum over `rows` rows p of X[p, k] * G[p, n]. X has row stride `ldx`, G is dense
    /// [rows, n], D is dense [k, n].
    public static func weightGradient(rows: Int, n: Int, k: Int, x: UnsafePointer<Float>, ldx: Int,
                                      g: UnsafePointer<Float>, d: UnsafeMutablePointer<Float>) {
        precondition(supports(columns: n), "AVX512Kernels.weightGradient: \(n) columns")
        weightProduct(rows: rows, nv: n / 16, k: k, x: x, ldx: ldx, g: g, d: d)
    }
}
