import CAVX512

// Matrix products for convolutions, register-blocked for AVX-512: one 16-float vector per 16
// output channels (and one 8-float half vector for 8 more), several rows (or reduction columns)
// per block so each loaded vector feeds several fused multiply-adds. The forward products take
// any multiple of 8 output channels, in 64-column panels; the weight gradients a multiple of 8,
// at most 64.
//
// This module is compiled for Skylake-AVX512 (see Package.swift): the engine calls into it only
// after checking that the CPU has AVX-512F, and falls back to OpenBLAS otherwise. The products
// are exactly the GEMMs of a convolution on this library's layouts, with no packing copies:
//   forward:  y[P, N] = col[P, K] * wt[K, N]       (wt = the packed weight transposed)
//   weights:  dwt[K, N] += col[P, K]^T * dy[P, N]

public enum AVX512Kernels {
    /// Whether the weight-gradient products (and Winograd's) support `n` output columns: a
    /// multiple of 8, at most 64 (one register block of a row).
    public static func supports(columns n: Int) -> Bool { n > 0 && n % 8 == 0 && n <= 64 }

    /// Whether the forward products support `n` output columns: any multiple of 8 (a width of
    /// 8 more than a multiple of 16 ends in a 256-bit half vector); more than 64 (an
    /// ImageNet-size layer) run panel by panel, with B in panel layout.
    public static func supportsForward(columns n: Int) -> Bool { n > 0 && n % 8 == 0 }

    /// Output columns per panel of a wide forward operand.
    ///
    /// Panel layout of B [k, n]: panels of 64 columns (the last one n - 64 * (panels - 1) wide),
    /// each stored dense [k, width] one after the other, so panel p starts at b + p * 64 * k. For
    /// n <= 64 it is the dense layout. A panel is what the micro-kernels stream per block of
    /// rows; a wide B read in place would take a new page per row of k.
    public static let panelColumns = 64

    public static func panelCount(columns n: Int) -> Int { (n + panelColumns - 1) / panelColumns }

    /// Where element (row j, column o) of a [k, n] operand lies in panel layout.
    @inline(__always)
    public static func panelIndex(row j: Int, column o: Int, rows k: Int, columns n: Int) -> Int {
        let p = o / panelColumns, first = p * panelColumns
        return first * k + j * min(panelColumns, n - first) + (o - first)
    }

    /// Rows of A per block of a wide product: a block stays in L2 while every panel of B passes.
    static let wideRowBlock = 64

    /// C[m, n] = A[m, k] * B[k, n] (or += when `accumulate`), for the columns of `panels` (all by
    /// default). A has row stride `lda`, B is [k, n] in panel layout, C has row stride `ldc`.
    public static func product(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                               b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
                               panels: Range<Int>? = nil) {
        precondition(supportsForward(columns: n), "AVX512Kernels.product: \(n) columns")
        let panels = panels ?? 0..<panelCount(columns: n)
        if n <= panelColumns {
            if !panels.isEmpty {
                forwardProduct(m: m, width: n, k: k, a: a, lda: lda, b: b, c: c, ldc: ldc, accumulate: accumulate)
            }
            return
        }
        var i = 0
        while i < m {
            let rows = min(wideRowBlock, m - i)
            for p in panels {
                let first = p * panelColumns, width = min(panelColumns, n - first)
                forwardProduct(m: rows, width: width, k: k, a: a + i * lda, lda: lda, b: b + first * k,
                               c: c + i * ldc + first, ldc: ldc, accumulate: accumulate)
            }
            i += rows
        }
    }

    /// D[k, n] += sum over `rows` rows p of X[p, k] * G[p, n]. X has row stride `ldx`, G is dense
    /// [rows, n], D is dense [k, n].
    public static func weightGradient(rows: Int, n: Int, k: Int, x: UnsafePointer<Float>, ldx: Int,
                                      g: UnsafePointer<Float>, d: UnsafeMutablePointer<Float>) {
        precondition(supports(columns: n), "AVX512Kernels.weightGradient: \(n) columns")
        weightProduct(rows: rows, width: n, k: k, x: x, ldx: ldx, g: g, d: d)
    }
}

/// Where a pixel's receptive field lies in a zero-padded NHWC image: `segments` (kernel rows) runs
/// of `segmentLength` (kernel width x channels) contiguous floats, `segmentStride` apart (one
/// padded image row); neighbouring output pixels of one output row are `pixelStride` apart.
public struct ReceptiveField: Sendable {
    public var pixelStride: Int
    public var segmentStride: Int
    public var segments: Int
    public var segmentLength: Int
    public init(pixelStride: Int, segmentStride: Int, segments: Int, segmentLength: Int) {
        self.pixelStride = pixelStride
        self.segmentStride = segmentStride
        self.segments = segments
        self.segmentLength = segmentLength
    }
}

extension AVX512Kernels {
    /// Implicit-GEMM convolution of one output row: C[cols, n] (=|+=) fields * B[K, n], where the
    /// field of output pixel i starts at `a + i * field.pixelStride`; B is
    /// [segments * segmentLength, n] in panel layout and C dense [cols, n].
    public static func convolutionRow(cols: Int, n: Int, a: UnsafePointer<Float>, field: ReceptiveField,
                                      b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, accumulate: Bool) {
        precondition(supportsForward(columns: n), "AVX512Kernels.convolutionRow: \(n) columns")
        let k = field.segments * field.segmentLength
        // One row's fields stay in cache while the panels pass.
        for first in stride(from: 0, to: n, by: panelColumns) {
            let width = min(panelColumns, n - first)
            implicitForwardRow(cols: cols, width: width, a: a, pixStride: field.pixelStride, segStride: field.segmentStride,
                               segments: field.segments, segLen: field.segmentLength, b: b + first * k, c: c + first,
                               ldc: n, accumulate: accumulate)
        }
    }

    /// Weight gradient of one image: D[K, n] += sum over its rows x cols output pixels of the
    /// pixel's field (outer) G[pixel, n]. Output row r's first field starts at `x + r * rowStride`.
    public static func convolutionWeightGradient(rows: Int, rowStride: Int, cols: Int, n: Int, x: UnsafePointer<Float>,
                                                 field: ReceptiveField, g: UnsafePointer<Float>, d: UnsafeMutablePointer<Float>) {
        precondition(supports(columns: n), "AVX512Kernels.convolutionWeightGradient: \(n) columns")
        implicitWeightsImage(rows: rows, rowStride: rowStride, cols: cols, pixStride: field.pixelStride, width: n, x: x,
                             segStride: field.segmentStride, segments: field.segments, segLen: field.segmentLength, g: g, d: d)
    }
}

/// The first `count` (0...16) floats at `p` in a vector, zeros in the other lanes.
@inline(__always) func ldFirst(_ p: UnsafePointer<Float>, _ count: Int) -> V { stp_load_first(p, Int32(count)) }
/// Stores the first `count` (0...16) lanes of `v` at `p`.
@inline(__always) func stFirst(_ v: V, _ p: UnsafeMutablePointer<Float>, _ count: Int) { stp_store_first(p, v, Int32(count)) }
/// The first `count` (1...16) floats at `p`: a plain load for a whole vector, masked for the
/// last, shorter vector of a row (an odd width, or 8 columns past a multiple of 16).
@inline(__always) func ldUpTo(_ p: UnsafePointer<Float>, _ count: Int) -> V { count == 16 ? ld(p) : ldFirst(p, count) }
/// Stores the first `count` (1...16) lanes of `v` at `p`, as ldUpTo reads them.
@inline(__always) func stUpTo(_ v: V, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
    if count == 16 { st(v, p) } else { stFirst(v, p, count) }
}

extension AVX512Kernels {
    /// dst[p, 0..<columns] = epilogue(src[p, 0..<columns] (+ dst[p, ...] when `accumulate`)) for
    /// `pixels` pixels: src rows `srcStride` floats apart (a product's padded rows, or dst itself),
    /// dst rows `columns` apart, the epilogue relu?(v * scale + shift + residual?) when `scale`
    /// is given (residual rows `columns` apart). The last vector of a row is read and written
    /// through a mask, so an odd channel count needs no scalar tail. In place when src == dst.
    public static func finishRows(src: UnsafePointer<Float>, srcStride: Int, pixels: Int, columns: Int,
                                  dst: UnsafeMutablePointer<Float>, accumulate: Bool,
                                  scale: UnsafePointer<Float>? = nil, shift: UnsafePointer<Float>? = nil,
                                  residual: UnsafePointer<Float>? = nil, relu: Bool = false) {
        let zero = V()
        for p in 0..<pixels {
            let s = src + p * srcStride, d = dst + p * columns
            let r = residual.map { $0 + p * columns }
            var c0 = 0
            while c0 < columns {
                let count = min(16, columns - c0)
                var v = ldUpTo(s + c0, count)
                if accumulate { v += ldUpTo(d + c0, count) }
                if let scale, let shift {
                    v = v * ldUpTo(scale + c0, count) + ldUpTo(shift + c0, count)
                    if let r { v += ldUpTo(r + c0, count) }
                    if relu { v = v.replacing(with: zero, where: v .< zero) }
                }
                stUpTo(v, d + c0, count)
                c0 += 16
            }
        }
    }
}

/// The bfloat16 bits of each lane, rounded to nearest even as PyTorch (and CBF16's
/// stp_bf16_from_float) round: NaN becomes 0x7fc0, denormals are kept (CAVX512's stp_store_bfloat16).
@inline(__always) public func bfloat16Bits(_ v: SIMD16<Float>) -> SIMD16<UInt16> {
    var bits = SIMD16<UInt16>()
    withUnsafeMutableBytes(of: &bits) { storeBFloat16(v, $0.baseAddress!.assumingMemoryBound(to: UInt16.self)) }
    return bits
}

/// Stores the 16 lanes of `v` at `p` as bfloat16.
@inline(__always) func storeBFloat16(_ v: V, _ p: UnsafeMutablePointer<UInt16>) { stp_store_bfloat16(p, v) }
