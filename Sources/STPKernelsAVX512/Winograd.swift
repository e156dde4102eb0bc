// Winograd F(2x2, 3x3) transforms for 3x3, stride-1 convolutions (Lavin & Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2016). A 2x2 block of outputs comes from a 4x4 input tile:
//
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A      (.) elementwise, per channel pair; summed over Cin
//
//   B^T = | 1  0 -1  0 |     G = | 1    0    0   |     A^T = | 1  1  1  0 |
//         | 0  1  1  0 |         | 1/2  1/2  1/2 |           | 0  1 -1 -1 |
//         | 0 -1  1  0 |         | 1/2 -1/2  1/2 |
//         | 0  1  0 -1 |         | 0    0    1   |
//
// The sum over input channels is 16 independent products (one per tile position xi = 4i + j),
// M_xi [tiles, Cout] = V_xi [tiles, Cin] * U_xi [Cin, Cout], which run on the register-blocked
// forward product. That is 16 multiply-adds per input/output channel pair for four outputs,
// against 36 for the direct convolution: 2.25x fewer. The transforms only add and subtract (and
// halve, for the weights), so the results differ from the direct convolution by float rounding.
// Every transform runs on 16-float channel vectors.
//
//   weights: wt [9 * Cin, N] rows (ky, kx, ci), N a multiple of 8  ->  u [16][Cin][N]
//            (in 64-column panels when N > 64, as the products read them)
//   input:   padded image [.., W + 2, C] (rows `rowStride` floats apart, pixels C apart)
//            -> v [16][tiles][ldv]  (ldv >= C rounded up to 16: the lanes past C are garbage,
//            never read by the products, which reduce over the first C columns only)
//   output:  m [16][tiles][N] -> out, the 2x2 pixels of every tile, pixels `ldo` floats apart,
//            output rows `outRowStride` floats apart

/// How a transform stores its vectors: as float32, or rounded to bfloat16 for the bf16 products.
protocol TransformValues {
    associatedtype Element
    static func store(_ v: V, _ p: UnsafeMutablePointer<Element>)
}

enum Float32Values: TransformValues {
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
}

enum BFloat16Values: TransformValues {
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<UInt16>) { storeBFloat16(v, p) }
}

extension AVX512Kernels {
    /// u [16][cin][n] = G g G^T for every (input channel, 16 output channels) of wt (8 for the
    /// last of a width of 8 more than a multiple of 16). Both in
    /// panel layout (AVX512Kernels.panelIndex) when n > 64: wt as one [9 * cin, n] operand, each
    /// of the 16 matrices of u as a [cin, n] operand of its product.
    public static func winogradWeights(cin: Int, n: Int, wt: UnsafePointer<Float>, u: UnsafeMutablePointer<Float>) {
        precondition(supportsForward(columns: n), "AVX512Kernels.winogradWeights: \(n) columns")
        let half = V(repeating: 0.5)
        let xiStride = cin * n
        for ci in 0..<cin {
            var co = 0
            while co < n {
                let count = min(16, n - co)
                func g(_ ky: Int, _ kx: Int) -> V {
                    ldUpTo(wt + panelIndex(row: (ky * 3 + kx) * cin + ci, column: co, rows: 9 * cin, columns: n), count)
                }
                // Rows of G g, one kernel column at a time.
                let g00 = g(0, 0), g10 = g(1, 0), g20 = g(2, 0)
                let g01 = g(0, 1), g11 = g(1, 1), g21 = g(2, 1)
                let g02 = g(0, 2), g12 = g(1, 2), g22 = g(2, 2)
                let t1 = ((g00 + g10 + g20) * half, (g01 + g11 + g21) * half, (g02 + g12 + g22) * half)
                let t2 = ((g00 - g10 + g20) * half, (g01 - g11 + g21) * half, (g02 - g12 + g22) * half)
                let out = u + panelIndex(row: ci, column: co, rows: cin, columns: n)
                func put(_ v: V, _ p: UnsafeMutablePointer<Float>) { stUpTo(v, p, count) }
                /// Row i of (G g) G^T from row i of G g.
                func store(_ i: Int, _ a: V, _ b: V, _ c: V) {
                    put(a, out + (4 * i + 0) * xiStride)
                    put((a + b + c) * half, out + (4 * i + 1) * xiStride)
                    put((a - b + c) * half, out + (4 * i + 2) * xiStride)
                    put(c, out + (4 * i + 3) * xiStride)
                }
                store(0, g00, g01, g02)
                store(1, t1.0, t1.1, t1.2)
                store(2, t2.0, t2.1, t2.2)
                store(3, g20, g21, g22)
                co += 16
            }
        }
    }

    /// v[xi][t][0..<c] = (B^T d B)[xi] of the 4x4 tile whose top-left input is at
    /// `pad + tileRow * 2 * rowStride + tileCol * 2 * c`, for `tiles` tiles taken row by row,
    /// `tilesPerRow` to a row, starting at tile row `firstTileRow`. Reads up to 15 floats past
    /// the last pixel when c is not a multiple of 16.
    public static func winogradInput(pad: UnsafePointer<Float>, rowStride: Int, channels c: Int, firstTileRow: Int,
                                     tileRows: Int, tilesPerRow: Int, v: UnsafeMutablePointer<Float>, ldv: Int,
                                     xiStride: Int) {
        winogradInputTiles(pad: pad, rowStride: rowStride, channels: c, firstTileRow: firstTileRow, tileRows: tileRows,
                           tilesPerRow: tilesPerRow, v: v, ldv: ldv, xiStride: xiStride, values: Float32Values.self)
    }

    /// winogradInput with v in bfloat16 (the bf16 products' left operand): each value rounded
    /// as `bfloat16Bits` rounds it; ldv and xiStride count bf16 values.
    public static func winogradInputBF16(pad: UnsafePointer<Float>, rowStride: Int, channels c: Int, firstTileRow: Int,
                                         tileRows: Int, tilesPerRow: Int, v: UnsafeMutablePointer<UInt16>, ldv: Int,
                                         xiStride: Int) {
        winogradInputTiles(pad: pad, rowStride: rowStride, channels: c, firstTileRow: firstTileRow, tileRows: tileRows,
                           tilesPerRow: tilesPerRow, v: v, ldv: ldv, xiStride: xiStride, values: BFloat16Values.self)
    }

    @inline(__always)
    static func winogradInputTiles<Values: TransformValues>(pad: UnsafePointer<Float>, rowStride: Int, channels c: Int,
                                                            firstTileRow: Int, tileRows: Int, tilesPerRow: Int,
                                                            v: UnsafeMutablePointer<Values.Element>, ldv: Int, xiStride: Int,
                                                            values: Values.Type) {
        @inline(__always) func st(_ x: V, _ p: UnsafeMutablePointer<Values.Element>) { Values.store(x, p) }
        var t = 0
        for ty in firstTileRow..<(firstTileRow + tileRows) {
            for tx in 0..<tilesPerRow {
                let base = pad + 2 * ty * rowStride + 2 * tx * c
                let r0 = base, r1 = base + rowStride, r2 = base + 2 * rowStride, r3 = base + 3 * rowStride
                let dst = v + t * ldv
                var c0 = 0
                while c0 < c {
                    // Columns first: e[k][j] = (B^T d)[k][j].
                    let c1 = c0 + c, c2 = c0 + 2 * c, c3 = c0 + 3 * c
                    let d00 = ld(r0 + c0), d01 = ld(r0 + c1), d02 = ld(r0 + c2), d03 = ld(r0 + c3)
                    let d10 = ld(r1 + c0), d11 = ld(r1 + c1), d12 = ld(r1 + c2), d13 = ld(r1 + c3)
                    let d20 = ld(r2 + c0), d21 = ld(r2 + c1), d22 = ld(r2 + c2), d23 = ld(r2 + c3)
                    let d30 = ld(r3 + c0), d31 = ld(r3 + c1), d32 = ld(r3 + c2), d33 = ld(r3 + c3)
                    let e00 = d00 - d20, e01 = d01 - d21, e02 = d02 - d22, e03 = d03 - d23
                    let e10 = d10 + d20, e11 = d11 + d21, e12 = d12 + d22, e13 = d13 + d23
                    let e20 = d20 - d10, e21 = d21 - d11, e22 = d22 - d12, e23 = d23 - d13
                    let e30 = d10 - d30, e31 = d11 - d31, e32 = d12 - d32, e33 = d13 - d33
                    // Then rows: (e B)[k][j].
                    let o = dst + c0
                    st(e00 - e02, o); st(e01 + e02, o + xiStride); st(e02 - e01, o + 2 * xiStride); st(e01 - e03, o + 3 * xiStride)
                    st(e10 - e12, o + 4 * xiStride); st(e11 + e12, o + 5 * xiStride)
                    st(e12 - e11, o + 6 * xiStride); st(e11 - e13, o + 7 * xiStride)
                    st(e20 - e22, o + 8 * xiStride); st(e21 + e22, o + 9 * xiStride)
                    st(e22 - e21, o + 10 * xiStride); st(e21 - e23, o + 11 * xiStride)
                    st(e30 - e32, o + 12 * xiStride); st(e31 + e32, o + 13 * xiStride)
                    st(e32 - e31, o + 14 * xiStride); st(e31 - e33, o + 15 * xiStride)
                    c0 += 16
                }
                t += 1
            }
        }
    }

    /// The 2x2 outputs A^T m A of every tile: pixel (2 * tileRow + i, 2 * tileCol + j) of the
    /// chunk at `out + (2 * tileRow + i) * outRowStride + (2 * tileCol + j) * ldo` (=|+=), for
    /// tiles row by row from tile row 0, `tilesPerRow` to a row; m [16][tiles][n] with xi
    /// matrices `xiStride` apart. Only the pixels of the chunk's first `outputRows` rows and
    /// first `outputColumns` columns exist (an odd output size: the last tiles' second row or
    /// column is dropped, neither read nor written); all of them by default.
    ///
    /// With `scale` (and `shift`; not with `accumulate`) each output becomes
    /// relu?(y * scale + shift + residual?) before it is stored: the eval-mode batch norm, residual
    /// add and ReLU of ConvEpilogue, applied in registers; `residual` has out's layout.
    public static func winogradOutput(m: UnsafePointer<Float>, xiStride: Int, n: Int, tileRows: Int, tilesPerRow: Int,
                                      out: UnsafeMutablePointer<Float>, ldo: Int, outRowStride: Int, accumulate: Bool,
                                      scale: UnsafePointer<Float>? = nil, shift: UnsafePointer<Float>? = nil,
                                      residual: UnsafePointer<Float>? = nil, relu: Bool = false, columns: Int? = nil,
                                      outputRows: Int? = nil, outputColumns: Int? = nil) {
        precondition(supportsForward(columns: n), "AVX512Kernels.winogradOutput: \(n) columns")
        precondition(scale == nil || (shift != nil && !accumulate), "AVX512Kernels.winogradOutput: epilogue")
        // `columns` < n: only the first `columns` output channels exist (an odd width on
        // zero-padded weights); the last vector of each pixel is stored through a mask.
        let columns = columns ?? n
        precondition(columns <= n && columns > n - 16, "AVX512Kernels.winogradOutput: \(columns) of \(n) columns")
        let outputRows = outputRows ?? 2 * tileRows, outputColumns = outputColumns ?? 2 * tilesPerRow
        precondition(outputRows > 2 * tileRows - 2 && outputRows <= 2 * tileRows
                     && outputColumns > 2 * tilesPerRow - 2 && outputColumns <= 2 * tilesPerRow,
                     "AVX512Kernels.winogradOutput: \(outputRows)x\(outputColumns) outputs of \(tileRows)x\(tilesPerRow) tiles")
        // The last vector of each tile's row of m is read through a mask too: with n a multiple
        // of 8, a full vector there would reach past the row.
        let zero = V()
        var t = 0
        for ty in 0..<tileRows {
            let bottom = 2 * ty + 1 < outputRows
            for tx in 0..<tilesPerRow {
                let right = 2 * tx + 1 < outputColumns
                let src = m + t * n
                let o0 = out + 2 * ty * outRowStride + 2 * tx * ldo, o1 = o0 + outRowStride
                var c0 = 0
                while c0 < columns {
                    let count = min(16, columns - c0)
                    func mm(_ xi: Int) -> V { ldUpTo(src + xi * xiStride + c0, count) }
                    // Columns: s[k][j] = (A^T m)[k][j].
                    let s00 = mm(0) + mm(4) + mm(8), s01 = mm(1) + mm(5) + mm(9)
                    let s02 = mm(2) + mm(6) + mm(10), s03 = mm(3) + mm(7) + mm(11)
                    let s10 = mm(4) - mm(8) - mm(12), s11 = mm(5) - mm(9) - mm(13)
                    let s12 = mm(6) - mm(10) - mm(14), s13 = mm(7) - mm(11) - mm(15)
                    let sc = scale.map { ldUpTo($0 + c0, count) } ?? zero, sh = shift.map { ldUpTo($0 + c0, count) } ?? zero
                    /// One output pixel at `o`: accumulated, finished by the epilogue, stored.
                    @inline(__always) func finish(_ y: V, _ o: UnsafeMutablePointer<Float>) {
                        var y = y
                        if accumulate { y += ldUpTo(o + c0, count) }
                        if scale != nil {
                            y = y * sc + sh
                            if let residual { y += ldUpTo(residual + (o - out) + c0, count) }
                            if relu { y = y.replacing(with: zero, where: y .< zero) }
                        }
                        stUpTo(y, o + c0, count)
                    }
                    // Rows: (s A)[k][j].
                    finish(s00 + s01 + s02, o0)
                    if right { finish(s01 - s02 - s03, o0 + ldo) }
                    if bottom {
                        finish(s10 + s11 + s12, o1)
                        if right { finish(s11 - s12 - s13, o1 + ldo) }
                    }
                    c0 += 16
                }
                t += 1
            }
        }
    }
}

// The weight gradient in the same domain. With M = U (.) V summed over Cin and Y = A^T M A,
//   dM = A dY A^T (per tile, 2x2 -> 4x4),  dU_xi [Cin, Cout] += V_xi^T dM_xi (over the tiles),
//   dg = G^T dU G (4x4 -> 3x3),
// the exact gradient of the function the forward pass computes, so of the convolution.
//
//   output gradient: dy rows of the chunk [2 * tileRows, 2 * tilesPerRow, N] -> dm [16][tiles][N]
//   weights:         du [16][Cin][N] -> dwt [9 * Cin, N] (+=), rows (ky, kx, ci)

extension AVX512Kernels {
    /// dm[xi][t] = (A dY A^T)[xi] of every tile's 2x2 output gradient: pixel (2 * tileRow + i,
    /// 2 * tileCol + j) at `dy + (2 * tileRow + i) * rowStride + (2 * tileCol + j) * n`.
    public static func winogradOutputGradient(dy: UnsafePointer<Float>, rowStride: Int, n: Int, tileRows: Int,
                                              tilesPerRow: Int, dm: UnsafeMutablePointer<Float>, xiStride: Int) {
        precondition(supports(columns: n), "AVX512Kernels.winogradOutputGradient: \(n) columns")
        var t = 0
        for ty in 0..<tileRows {
            for tx in 0..<tilesPerRow {
                let p0 = dy + 2 * ty * rowStride + 2 * tx * n, p1 = p0 + rowStride
                let dst = dm + t * n
                var c0 = 0
                while c0 < n {
                    // A width of 8 more than a multiple of 16 ends in a half vector, through masks.
                    let count = min(16, n - c0)
                    func load(_ p: UnsafePointer<Float>) -> V { ldUpTo(p, count) }
                    func put(_ v: V, _ p: UnsafeMutablePointer<Float>) { stUpTo(v, p, count) }
                    let y00 = load(p0 + c0), y01 = load(p0 + n + c0), y10 = load(p1 + c0), y11 = load(p1 + n + c0)
                    // Rows of A dY: r0 = y0, r1 = y0 + y1, r2 = y0 - y1, r3 = -y1 (per column).
                    /// Row i of (A dY) A^T from row i (a, b) of A dY.
                    func store(_ i: Int, _ a: V, _ b: V) {
                        let o = dst + c0 + 4 * i * xiStride
                        put(a, o); put(a + b, o + xiStride); put(a - b, o + 2 * xiStride); put(-b, o + 3 * xiStride)
                    }
                    store(0, y00, y01)
                    store(1, y00 + y10, y01 + y11)
                    store(2, y00 - y10, y01 - y11)
                    store(3, -y10, -y11)
                    c0 += 16
                }
                t += 1
            }
        }
    }

    /// dwt [(ky, kx, ci), n] += G^T du G for every input channel and 16 output channels (8 for
    /// the last of a width of 8 more than a multiple of 16).
    public static func winogradWeightsGradient(cin: Int, n: Int, du: UnsafePointer<Float>, dwt: UnsafeMutablePointer<Float>) {
        precondition(supports(columns: n), "AVX512Kernels.winogradWeightsGradient: \(n) columns")
        let half = V(repeating: 0.5)
        let xiStride = cin * n
        for ci in 0..<cin {
            var co = 0
            while co < n {
                let count = min(16, n - co)
                func load(_ p: UnsafePointer<Float>) -> V { ldUpTo(p, count) }
                func put(_ v: V, _ p: UnsafeMutablePointer<Float>) { stUpTo(v, p, count) }
                let src = du + ci * n + co
                func d(_ i: Int, _ j: Int) -> V { load(src + (4 * i + j) * xiStride) }
                /// Row ky of G^T du, column j.
                func t(_ ky: Int, _ j: Int) -> V {
                    switch ky {
                    case 0: return d(0, j) + (d(1, j) + d(2, j)) * half
                    case 1: return (d(1, j) - d(2, j)) * half
                    default: return (d(1, j) + d(2, j)) * half + d(3, j)
                    }
                }
                for ky in 0..<3 {
                    let t0 = t(ky, 0), t1 = t(ky, 1), t2 = t(ky, 2), t3 = t(ky, 3)
                    let out = dwt + (ky * 3 * cin + ci) * n + co
                    put(load(out) + t0 + (t1 + t2) * half, out)
                    put(load(out + cin * n) + (t1 - t2) * half, out + cin * n)
                    put(load(out + 2 * cin * n) + (t1 + t2) * half + t3, out + 2 * cin * n)
                }
                co += 16
            }
        }
    }
}
