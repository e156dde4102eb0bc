import Testing
@testable import STPEngine

// Finite-difference checking for the kernels. Each kernel is wrapped as a scalar function
// L(inputs) = sum(output * probe) with a fixed random probe, so that dL/doutput = probe; the
// analytic gradient from the backward kernel is compared with central differences in every
// input element (small shapes keep this cheap). Float32 forward passes limit the precision of
// the differences, so the tolerance is relative with an absolute floor.

struct GradientCheck {
    var step: Float = 1e-2
    var relativeTolerance: Float = 2e-2
    var absoluteTolerance: Float = 2e-3

    /// Compares `analytic` with central differences of `loss` around `values`.
    /// Returns the worst (index, analytic, numeric) for the failure message.
    func check(_ name: String, values: inout [Float], analytic: [Float], loss: ([Float]) -> Double,
               maxSamples: Int = 400, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(values.count == analytic.count, "\(name): gradient size", sourceLocation: sourceLocation)
        var rng = SeededRandom(seed: 99)
        let indices: [Int] = values.count <= maxSamples
            ? Array(0..<values.count)
            : (0..<maxSamples).map { _ in Int(rng.next() % UInt64(values.count)) }
        var failures = 0
        var worst = ""
        for i in indices {
            let saved = values[i]
            values[i] = saved + step
            let up = loss(values)
            values[i] = saved - step
            let down = loss(values)
            values[i] = saved
            let numeric = Float((up - down) / Double(2 * step))
            let a = analytic[i]
            let err = abs(a - numeric)
            if err > absoluteTolerance + relativeTolerance * max(abs(a), abs(numeric)) {
                failures += 1
                if worst.isEmpty { worst = "index \(i): analytic \(a), numeric \(numeric)" }
            }
        }
        #expect(failures == 0, "\(name): \(failures) of \(indices.count) elements differ; first \(worst)",
                sourceLocation: sourceLocation)
    }
}

func dot(_ a: [Float], _ b: [Float]) -> Double {
    var s = 0.0
    for i in 0..<a.count { s += Double(a[i]) * Double(b[i]) }
    return s
}

extension Array where Element == Float {
    func withPointer<R>(_ body: (UnsafePointer<Float>) -> R) -> R {
        withUnsafeBufferPointer { body($0.baseAddress!) }
    }
    mutating func withMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}
