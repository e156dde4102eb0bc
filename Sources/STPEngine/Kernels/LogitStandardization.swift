// Standardised logits for the "KD-" distillation variant: each row of logits is centred and
// scaled to unit (biased) standard deviation, times an amplitude A, before the softmax, so that
// the student matches the teacher's ranking and relative margins rather than its raw scale.
//
//   z, out, dz, dout  [N, K]
//   forward:   zhat = (z - mean(z)) / sqrt(var(z) + eps);  out = A * zhat
//   backward:  dz = A / sqrt(var + eps) * (dout - mean(dout) - zhat * mean(dout * zhat))

public let logitStandardizationEpsilon: Float = 1e-6

/// Writes out = A * standardised z and saves each row's 1 / std in `invStd` [N].
public func standardizeLogitsForward(_ z: UnsafePointer<Float>, batch: Int, classes k: Int, amplitude: Float,
                                     out: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>) {
    for n in 0..<batch {
        let row = z + n * k, o = out + n * k
        var mean = 0.0
        for j in 0..<k { mean += Double(row[j]) }
        mean /= Double(k)
        var variance = 0.0
        for j in 0..<k { let d = Double(row[j]) - mean; variance += d * d }
        variance /= Double(k)
        let inv = 1 / (variance + Double(logitStandardizationEpsilon)).squareRoot()
        invStd[n] = Float(inv)
        for j in 0..<k { o[j] = amplitude * Float((Double(row[j]) - mean) * inv) }
    }
}

/// dz from dout, given the forward's output (`out` = A * zhat) and saved 1 / std.
public func standardizeLogitsBackward(out: UnsafePointer<Float>, invStd: UnsafePointer<Float>, dout: UnsafePointer<Float>,
                                      batch: Int, classes k: Int, amplitude: Float, dz: UnsafeMutablePointer<Float>) {
    for n in 0..<batch {
        let o = out + n * k, g = dout + n * k, d = dz + n * k
        var meanG = 0.0, meanGZ = 0.0
        for j in 0..<k {
            let zhat = Double(o[j]) / Double(amplitude)
            meanG += Double(g[j])
            meanGZ += Double(g[j]) * zhat
        }
        meanG /= Double(k)
        meanGZ /= Double(k)
        let scale = Double(amplitude) * Double(invStd[n])
        for j in 0..<k {
            let zhat = Double(o[j]) / Double(amplitude)
            d[j] = Float(scale * (Double(g[j]) - meanG - zhat * meanGZ))
        }
    }
}
