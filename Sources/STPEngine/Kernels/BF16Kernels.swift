import CBF16
import Foundation
import Synchronization

// bfloat16 compute (issue 27). Which products run in bf16 is decided once per process by
// `ComputePrecision`; the kernels are CBF16's (C, AVX512-BF16), the conversions match PyTorch's
// (round to nearest even, NaN to 0x7fc0, denormals kept).
//
// What runs in bf16: every convolution's forward pass (eval and training; direct and Winograd)
// and the input gradient of the stride-1 convolutions (BF16Conv.swift), with float32
// accumulation and float32 outputs. Float32 stay: the weight gradients, the strided and 1x1
// input gradients, batch norm, the losses (KD included), the optimizer and its state, the saved
// activations and the checkpoints. The AMX path (TDPBF16PS) is not built: no machine of this
// project with AMX has been available to test it on.

/// Whether the CPU can run the bf16 products, and why not.
public enum BF16Kernels {
    /// The CPU's AVX512-BF16 (VDPBF16PS), unless STP_NO_BF16 is set (which makes a CPU look as
    /// if it had none: the float32 path then runs, bit for bit today's).
    public static let available: Bool = unavailableReason == nil

    /// Why bf16 cannot run here; nil when it can.
    public static let unavailableReason: String? = {
        if ProcessInfo.processInfo.environment["STP_NO_BF16"] != nil { return "STP_NO_BF16 is set" }
        let cpu = CPUFeatures.current()
        if !cpu.hasAVX512F { return "the CPU has no AVX-512F" }
        if !cpu.hasAVX512BF16 { return "the CPU has no AVX512-BF16 (avx512_bf16 in /proc/cpuinfo)" }
        return nil
    }()

    /// The bf16 value of `x` as PyTorch's torch.bfloat16 rounds it.
    public static func bits(_ x: Float) -> UInt16 {
        var v = x, out: UInt16 = 0
        stp_bf16_from_float(&v, &out, 1)
        return out
    }

    /// The float32 value of bf16 `bits` (exact).
    public static func float(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// dst[i] = bf16(src[i]) for i < count.
    static func convert(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
        stp_bf16_from_float(src, dst, count)
    }

    /// bf16 values of B [segments * segmentLength, n] packed for fieldProduct.
    static func packedCount(segments: Int, segmentLength: Int, columns n: Int) -> Int {
        stp_bf16_packed_values(Int32(segments), Int32(segmentLength), Int32(n))
    }

    /// Packs B [K, n] (element (r, o) at b[r * rowStride + o * columnStride]) for fieldProduct.
    static func pack(_ b: UnsafePointer<Float>, rowStride: Int, columnStride: Int, segments: Int, segmentLength: Int,
                     columns n: Int, into packed: UnsafeMutablePointer<UInt16>) {
        stp_bf16_pack(b, rowStride, columnStride, Int32(segments), Int32(segmentLength), Int32(n), packed)
    }

    /// C[cols, n] (=|+=) F * B: row i of F is the field at `a + i * pixelStride` (`segments`
    /// runs of `segmentLength` bf16 values, `segmentStride` apart), B packed by `pack`; C's rows
    /// are `ldc` floats apart and nothing past column n is written (CBF16's stp_bf16.h).
    static func fieldProduct(cols: Int, n: Int, a: UnsafePointer<UInt16>, pixelStride: Int, segmentStride: Int,
                             segments: Int, segmentLength: Int, packed: UnsafePointer<UInt16>,
                             c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        precondition(available, "BF16Kernels.fieldProduct without AVX512-BF16")
        stp_bf16_field_product(Int32(cols), Int32(n), a, pixelStride, segmentStride, Int32(segments), Int32(segmentLength),
                               packed, c, ldc, accumulate ? 1 : 0)
    }
}

/// The precision of the products a run computes in: `--precision fp32|bf16|auto`.
public enum Precision: String, Sendable, CaseIterable {
    case fp32, bf16, auto
}

/// The process's compute precision, set once from `--precision` (float32 until then). Tests
/// choose it for their own task with `$override.withValue`, so that tests running side by side
/// never see each other's choice; the engine reads it on the thread that calls a layer's forward
/// pass, before the work is split across workers.
public enum ComputePrecision {
    private static let configured = Mutex<Bool>(false)
    @TaskLocal public static var override: Bool?

    /// Whether the eval-mode convolutions run their products in bf16.
    public static var usesBF16: Bool { override ?? configured.withLock { $0 } }

    /// What `requested` means on this CPU: whether bf16 runs and the line that says so. bf16 on
    /// a CPU without it is an error naming what is missing; auto then falls back to float32.
    public static func resolve(_ requested: Precision, unavailableReason: String? = BF16Kernels.unavailableReason,
                               option: String = "--precision") throws -> (bf16: Bool, line: String) {
        let scope = "for the convolutions' forward passes and stride-1 input gradients; weight gradients, batch norm and the optimizer in fp32"
        switch (requested, unavailableReason) {
        case (.fp32, _):
            return (false, "precision: fp32")
        case (.bf16, let reason?):
            throw STPError(.argument, "\(option) bf16: \(reason); use --precision fp32, or auto to fall back")
        case (.bf16, nil):
            return (true, "precision: bf16 (AVX512-BF16) \(scope)")
        case (.auto, let reason?):
            return (false, "precision: auto -> fp32 (\(reason))")
        case (.auto, nil):
            return (true, "precision: auto -> bf16 (AVX512-BF16) \(scope)")
        }
    }

    /// Sets the process's precision from `requested` and returns the line to log.
    @discardableResult
    public static func set(_ requested: Precision, option: String = "--precision") throws -> String {
        let decision = try resolve(requested, option: option)
        configured.withLock { $0 = decision.bf16 }
        return decision.line
    }
}
