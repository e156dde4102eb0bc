#if canImport(Glibc)
import Glibc
#endif

// Losses on logits, averaged over the batch, computed in Double for the reductions.
//
//   logits, dlogits [N, K]   labels [N]
//   cross-entropy with label smoothing e:  q = (1 - e) * onehot(label) + e / K
//       loss = mean_n sum_k -q_k log softmax(z)_k;   dz = scale * (softmax(z) - q) / N
//   KL with temperature T (teacher t, student s):
//       loss = T^2 * mean_n KL(softmax(t/T) || softmax(s/T));  ds = scale * T * (softmax(s/T) - softmax(t/T)) / N
//       (the T^2 keeps gradient magnitudes comparable across temperatures; Hinton et al. 2015)
//   `scale` multiplies the gradient only (e.g. the KD weight lambda), never the returned loss.

/// Numerically stable softmax of one row into `p`; returns the row's maximum m (of z / T) and
/// log(sum(exp(z / T - m))), kept apart: a log-probability is then (z_j / T - m) - logSum, where
/// both differences are small even when the logits are huge (-6e31 - log(10) is -6e31 in Double,
/// so "z - (m + logSum)" would give a loss of 0 for a row of equal logits). A row with a NaN or
/// infinite logit has no softmax: `p` and both results are NaN, so every loss of it is NaN and a
/// broken network is reported as such, never as a small number.
@inline(__always)
func softmaxRow(_ z: UnsafePointer<Float>, _ k: Int, temperature: Float = 1,
                into p: UnsafeMutablePointer<Double>) -> (max: Double, logSum: Double) {
    var m = -Double.infinity
    for j in 0..<k {
        guard z[j].isFinite else {
            for i in 0..<k { p[i] = .nan }
            return (.nan, .nan)
        }
        m = max(m, Double(z[j]) / Double(temperature))
    }
    var s = 0.0
    for j in 0..<k { let e = exp(Double(z[j]) / Double(temperature) - m); p[j] = e; s += e }
    for j in 0..<k { p[j] /= s }
    return (m, log(s))
}

public func crossEntropyForwardBackward(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, classes k: Int,
                                        labelSmoothing e: Float = 0, gradScale: Float = 1,
                                        dlogits: UnsafeMutablePointer<Float>?) -> Float {
    let p = UnsafeMutablePointer<Double>.allocate(capacity: k)
    defer { p.deallocate() }
    var total = 0.0
    let eps = Double(e), off = eps / Double(k)
    for n in 0..<batch {
        let z = logits + n * k
        let (m, logSum) = softmaxRow(z, k, into: p)
        let y = Int(labels[n])
        var loss = m.isNaN ? Double.nan : 0.0
        for j in 0..<k {
            let q = (j == y ? 1 - eps : 0) + off
            if q != 0 { loss -= q * ((Double(z[j]) - m) - logSum) }
            if let dlogits { dlogits[n * k + j] = Float(Double(gradScale) * (p[j] - q) / Double(batch)) }
        }
        total += loss
    }
    return Float(total / Double(batch))
}

public func klDivergenceForwardBackward(teacher: UnsafePointer<Float>, student: UnsafePointer<Float>, batch: Int, classes k: Int,
                                        temperature t: Float = 1, gradScale: Float = 1,
                                        dstudent: UnsafeMutablePointer<Float>?) -> Float {
    let pt = UnsafeMutablePointer<Double>.allocate(capacity: k)
    let ps = UnsafeMutablePointer<Double>.allocate(capacity: k)
    defer { pt.deallocate(); ps.deallocate() }
    var total = 0.0
    let T = Double(t)
    for n in 0..<batch {
        let lt = softmaxRow(teacher + n * k, k, temperature: t, into: pt)
        let ls = softmaxRow(student + n * k, k, temperature: t, into: ps)
        var kl = lt.max.isNaN || ls.max.isNaN ? Double.nan : 0.0
        for j in 0..<k where pt[j] > 0 {
            let logPt = (Double(teacher[n * k + j]) / T - lt.max) - lt.logSum
            let logPs = (Double(student[n * k + j]) / T - ls.max) - ls.logSum
            kl += pt[j] * (logPt - logPs)
        }
        total += kl
        if let dstudent {
            for j in 0..<k { dstudent[n * k + j] = Float(Double(gradScale) * T * (ps[j] - pt[j]) / Double(batch)) }
        }
    }
    return Float(T * T * total / Double(batch))
}

/// Number of rows whose label is among the `k` largest logits (ties count against). A row with
/// a NaN logit has no ranking and counts as wrong: every comparison with NaN is false, so
/// without this check a broken network (NaN weights or inputs) would score 100%.
public func topKCorrect(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, classes: Int, k: Int) -> Int {
    var correct = 0
    rows: for n in 0..<batch {
        let z = logits + n * classes
        let label = Int(labels[n])
        let target = z[label]
        if target.isNaN { continue }
        var above = 0
        for j in 0..<classes where j != label {
            if z[j].isNaN { continue rows }
            if z[j] >= target { above += 1 }
        }
        if above < k { correct += 1 }
    }
    return correct
}
