import Foundation
import STPKernelsAVX512

// Whether the convolutions use the AVX-512 products (STPKernelsAVX512) instead of OpenBLAS for
// their main GEMMs: when the CPU has AVX-512F and the output channels are a multiple of 16 (up to
// 64), which covers every full-width CIFAR ResNet layer. They skip OpenBLAS's packing copies,
// which took a fifth of a training step. STP_NO_AVX512=1 turns them off (to compare, or on a
// CPU that misreports its features).

public enum FastKernels {
    public static let available: Bool =
        CPUFeatures.current().hasAVX512F && ProcessInfo.processInfo.environment["STP_NO_AVX512"] == nil

    static func usable(_ requested: Bool, columns: Int) -> Bool {
        requested && AVX512Kernels.supports(columns: columns)
    }
}

/// wt [K, N] = w [N, K] transposed.
func transposeWeight(_ w: UnsafePointer<Float>, rows n: Int, columns k: Int) -> UnsafeMutablePointer<Float> {
    let wt = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
    for o in 0..<n { for j in 0..<k { wt[j * n + o] = w[o * k + j] } }
    return wt
}
