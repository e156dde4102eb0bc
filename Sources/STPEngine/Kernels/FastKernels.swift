import Foundation
import STPKernelsAVX512

// Whether the convolutions use the AVX-512 products (STPKernelsAVX512) instead of OpenBLAS for
// their main GEMMs: when the CPU has AVX-512F; the weight gradients only for at most 64 output
// channels, which covers every CIFAR ResNet layer, the forward pass for any (wider layers in
// 64-column panels). They skip OpenBLAS's packing copies, which took a fifth of a training
// step. The kernels compute 16 output channels per vector, and 8 in a last half vector; a layer
// with another count (a pruned network's or a sampled subnet's odd width) runs on weights (and
// output gradients) padded with zero columns up to the next multiple of 8 (paddedColumns), and
// its results are stored compact, the last vector of each row through a mask (AVX512Kernels.finishRows, winogradOutput's `columns`): the
// wasted columns cost far less than OpenBLAS's generic path on such narrow GEMMs (measured in
// docs/PERFORMANCE.md). STP_NO_AVX512=1 turns them off (to compare, or on a CPU that
// misreports its features).

public enum FastKernels {
    public static let available: Bool =
        CPUFeatures.current().hasAVX512F && ProcessInfo.processInfo.environment["STP_NO_AVX512"] == nil

    /// Whether the weight gradients (and Winograd) run on the AVX-512 products: at most 64 columns.
    static func usable(_ requested: Bool, columns: Int) -> Bool {
        requested && AVX512Kernels.supports(columns: paddedColumns(columns))
    }

    /// Whether the forward pass runs on the AVX-512 products: any width, a wide layer's in
    /// 64-column panels (ImageNet-size layers; their weight gradients stay on OpenBLAS).
    static func usableForward(_ requested: Bool, columns: Int) -> Bool {
        requested && AVX512Kernels.supportsForward(columns: paddedColumns(columns))
    }

    /// `columns` rounded up to a multiple of 8: the kernels end a row in an 8-float half vector
    /// when that is enough (a pruned layer of 7 channels computes 8 columns, not 16).
    static func paddedColumns(_ columns: Int) -> Int { (columns + 7) / 8 * 8 }
}

/// wt [K, paddedRows] = w [N, K] transposed, in the products' panel layout
/// (AVX512Kernels.panelIndex), zero in the columns N..<paddedRows.
func transposeWeight(_ w: UnsafePointer<Float>, rows n: Int, columns k: Int, paddedRows: Int) -> UnsafeMutablePointer<Float> {
    let wt = UnsafeMutablePointer<Float>.allocate(capacity: paddedRows * k)
    if paddedRows > n { wt.initialize(repeating: 0, count: paddedRows * k) }
    for o in 0..<n { for j in 0..<k { wt[AVX512Kernels.panelIndex(row: j, column: o, rows: k, columns: paddedRows)] = w[o * k + j] } }
    return wt
}

/// dst[r, 0..<paddedColumns] = src[r, 0..<columns] followed by zeros, for `rows` dense rows.
@inline(__always)
func padColumns(_ src: UnsafePointer<Float>, rows: Int, columns: Int, paddedColumns: Int, into dst: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        let d = dst + r * paddedColumns
        d.update(from: src + r * columns, count: columns)
        (d + columns).update(repeating: 0, count: paddedColumns - columns)
    }
}
