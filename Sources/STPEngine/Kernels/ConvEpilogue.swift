// Eval-mode batch norm (and the residual add and ReLU after it) fused into the convolution that
// feeds it: the convolution applies it to each block of output rows right after computing them,
// while they are still in cache, instead of a separate pass over the whole tensor.
//
//   y[p, o] = relu?(conv[p, o] * scale[o] + shift[o] + residual?[p, o])
//   scale = gamma / sqrt(runningVar + eps), shift = beta - runningMean * scale
//
//   y, residual  [N * OH * OW, Cout]   p indexes output pixels across the whole batch

public struct ConvEpilogue {
    public var scale: UnsafePointer<Float>
    public var shift: UnsafePointer<Float>
    public var residual: UnsafePointer<Float>?
    public var relu: Bool

    public init(scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, residual: UnsafePointer<Float>?, relu: Bool) {
        self.scale = scale; self.shift = shift; self.residual = residual; self.relu = relu
    }

    /// Applies the epilogue in place to `count` output pixels starting at pixel `first` of y.
    @inline(__always)
    func apply(_ y: UnsafeMutablePointer<Float>, first: Int, count: Int, channels c: Int) {
        let cv = vectorPart(c)
        for p in first..<(first + count) {
            let row = y + p * c
            let res = residual.map { $0 + p * c }
            var j = 0
            while j < cv {
                var v = load8(row + j) * load8(scale + j) + load8(shift + j)
                if let res { v += load8(res + j) }
                if relu { v = v.replacing(with: 0, where: v .< 0) }
                store8(v, row + j)
                j += 8
            }
            while j < c {
                var v = row[j] * scale[j] + shift[j]
                if let res { v += res[j] }
                row[j] = relu ? max(0, v) : v
                j += 1
            }
        }
    }
}

/// scale and shift [c] of eval-mode batch norm (see ConvEpilogue).
public func batchNormEvalScaleShift(gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                    runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
                                    channels c: Int, epsilon: Float,
                                    scale: UnsafeMutablePointer<Float>, shift: UnsafeMutablePointer<Float>) {
    for j in 0..<c {
        scale[j] = gamma[j] / (runningVar[j] + epsilon).squareRoot()
        shift[j] = beta[j] - runningMean[j] * scale[j]
    }
}
