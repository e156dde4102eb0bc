// Batch normalisation over the rows of an NHWC tensor, with an optional residual add and ReLU
// fused into the same pass (they are memory-bound, so one pass instead of three).
//
//   x, y, residual  [M, C]    M = N * H * W rows, C channels (innermost)
//   gamma, beta     [C]       the first C entries of the layer's (possibly wider) parameters
//   mean, invStd    [C]       saved by the training forward pass for the backward pass
//
//   train:  mean, var = batch statistics (biased var); running stats updated with unbiased var
//   eval:   mean, var = running statistics
//   y = relu?( gamma * (x - mean) * invStd + beta + residual? )
//
//   backward (given dy and the forward output y, whose sign is the ReLU mask):
//     g = relu? dy * [y > 0] : dy                       (g is also the residual's gradient)
//     dbeta += sum g;  dgamma += sum g * xhat
//     dx = gamma * invStd * (g - mean(g) - xhat * mean(g * xhat))
//
//   sync (data-parallel runs, docs/SCALING.md): the batch is split over the ranks of a job and
//   the statistics are those of the whole batch. The forward pass sums (rows, rows * mean,
//   rows * E[x^2]) per channel over the ranks; the backward pass sums (sum g, sum g * (x - mean))
//   after adding this rank's share to dbeta and dgamma (the gradient allreduce adds the rest).

public struct BatchNormOptions: Sendable {
    public var epsilon: Float = 1e-5
    public var momentum: Float = 0.1
    public init(epsilon: Float = 1e-5, momentum: Float = 0.1) {
        self.epsilon = epsilon
        self.momentum = momentum
    }
}

/// Per-channel reductions over rows, split across workers. `accumulate(r0, r1, partial)` adds
/// the rows r0..<r1 into `partial` (`width` floats, zeroed before each call); each worker runs it
/// on blocks of 256 rows and adds the blocks into Double totals, so a 131,072-row batch keeps full
/// float precision. Totals are combined in worker order: the result is deterministic.
func reduceRows(_ rows: Int, width: Int, into totals: UnsafeMutablePointer<Double>,
                _ accumulate: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
    let workers = rows < parallelRowThreshold ? 1 : ComputeThreads.workers
    let perWorker = UnsafeMutablePointer<Double>.allocate(capacity: workers * width)
    perWorker.initialize(repeating: 0, count: workers * width)
    defer { perWorker.deallocate() }
    parallelWorkers(workers) { w in
        let range = splitRange(rows, parts: workers, w)
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: width)
        defer { partial.deallocate() }
        let mine = perWorker + w * width
        var r0 = range.lowerBound
        while r0 < range.upperBound {
            let r1 = min(range.upperBound, r0 + 256)
            partial.update(repeating: 0, count: width)
            accumulate(r0, r1, partial)
            for j in 0..<width { mine[j] += Double(partial[j]) }
            r0 = r1
        }
    }
    for j in 0..<width { totals[j] = 0 }
    for w in 0..<workers { for j in 0..<width { totals[j] += perWorker[w * width + j] } }
}

/// Per-channel mean and biased variance in one pass over x: sums of (x - s) and (x - s)^2 with
/// the shift s = the first row, which keeps E[d^2] - E[d]^2 free of cancellation for activations
/// whose mean is large against their spread.
private func channelMoments(_ x: UnsafePointer<Float>, rows: Int, channels c: Int,
                            mean: UnsafeMutablePointer<Double>, variance: UnsafeMutablePointer<Double>) {
    let shift = x   // the first row
    let sums = UnsafeMutablePointer<Double>.allocate(capacity: 2 * c)
    defer { sums.deallocate() }
    let cv = vectorPart(c)
    reduceRows(rows, width: 2 * c, into: sums) { r0, r1, partial in
        for r in r0..<r1 {
            let row = x + r * c
            var j = 0
            while j < cv {
                let d = load8(row + j) - load8(shift + j)
                store8(load8(partial + j) + d, partial + j)
                store8(load8(partial + c + j) + d * d, partial + c + j)
                j += 8
            }
            while j < c {
                let d = row[j] - shift[j]
                partial[j] += d
                partial[c + j] += d * d
                j += 1
            }
        }
    }
    let m = Double(rows)
    for j in 0..<c {
        let d = sums[j] / m
        mean[j] = Double(shift[j]) + d
        variance[j] = max(0, sums[c + j] / m - d * d)
    }
}

/// Training-mode forward. Writes y, saves mean and invStd, updates the running statistics
/// (skipped when `runningMean` is nil, e.g. for passes that must not disturb them). Returns the
/// rows the statistics came from (all ranks' with `sync`), which the backward pass needs.
@discardableResult
public func batchNormForwardTrain(x: UnsafePointer<Float>, rows: Int, channels c: Int,
                                  gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                  residual: UnsafePointer<Float>?, relu: Bool,
                                  y: UnsafeMutablePointer<Float>,
                                  savedMean: UnsafeMutablePointer<Float>, savedInvStd: UnsafeMutablePointer<Float>,
                                  runningMean: UnsafeMutablePointer<Float>?, runningVar: UnsafeMutablePointer<Float>?,
                                  options: BatchNormOptions = BatchNormOptions(),
                                  sync: (any Communicator)? = nil) -> Int {
    let mean = UnsafeMutablePointer<Double>.allocate(capacity: c)
    let sq = UnsafeMutablePointer<Double>.allocate(capacity: c)
    defer { mean.deallocate(); sq.deallocate() }
    channelMoments(x, rows: rows, channels: c, mean: mean, variance: sq)
    var totalRows = rows
    if let sync, sync.isDistributed {
        // Raw moments combine by addition; in Double the E[x^2] - mean^2 of the whole batch keeps
        // far more than float precision for activations (|mean| / std well below 1e4).
        var sums = [Double](repeating: 0, count: 1 + 2 * c)
        sums[0] = Double(rows)
        for j in 0..<c {
            sums[1 + j] = Double(rows) * mean[j]
            sums[1 + c + j] = Double(rows) * (sq[j] + mean[j] * mean[j])
        }
        sync.allreduceSum(&sums)
        totalRows = Int(sums[0])
        for j in 0..<c {
            mean[j] = sums[1 + j] / sums[0]
            sq[j] = max(0, sums[1 + c + j] / sums[0] - mean[j] * mean[j])
        }
    }
    for j in 0..<c {
        let variance = sq[j]
        savedMean[j] = Float(mean[j])
        savedInvStd[j] = Float(1 / (variance + Double(options.epsilon)).squareRoot())
        if let runningMean, let runningVar {
            let unbiased = totalRows > 1 ? variance * Double(totalRows) / Double(totalRows - 1) : variance
            runningMean[j] = (1 - options.momentum) * runningMean[j] + options.momentum * Float(mean[j])
            runningVar[j] = (1 - options.momentum) * runningVar[j] + options.momentum * Float(unbiased)
        }
    }
    batchNormApply(x: x, rows: rows, channels: c, mean: savedMean, invStd: savedInvStd,
                   gamma: gamma, beta: beta, residual: residual, relu: relu, y: y)
    return totalRows
}

/// Eval-mode forward with the running statistics.
public func batchNormForwardEval(x: UnsafePointer<Float>, rows: Int, channels c: Int,
                                 gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                 runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
                                 residual: UnsafePointer<Float>?, relu: Bool, y: UnsafeMutablePointer<Float>,
                                 options: BatchNormOptions = BatchNormOptions()) {
    let invStd = UnsafeMutablePointer<Float>.allocate(capacity: c)
    defer { invStd.deallocate() }
    for j in 0..<c { invStd[j] = 1 / (runningVar[j] + options.epsilon).squareRoot() }
    batchNormApply(x: x, rows: rows, channels: c, mean: runningMean, invStd: invStd,
                   gamma: gamma, beta: beta, residual: residual, relu: relu, y: y)
}

/// y = relu?(x * scale + shift + residual?), with scale = gamma * invStd, shift = beta - mean * scale.
private func batchNormApply(x: UnsafePointer<Float>, rows: Int, channels c: Int,
                            mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
                            gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                            residual: UnsafePointer<Float>?, relu: Bool, y: UnsafeMutablePointer<Float>) {
    let scale = UnsafeMutablePointer<Float>.allocate(capacity: c)
    let shift = UnsafeMutablePointer<Float>.allocate(capacity: c)
    defer { scale.deallocate(); shift.deallocate() }
    for j in 0..<c {
        scale[j] = gamma[j] * invStd[j]
        shift[j] = beta[j] - mean[j] * scale[j]
    }
    let cv = vectorPart(c)
    parallelRows(rows) { r0, r1 in
        for r in r0..<r1 {
            let xr = x + r * c, yr = y + r * c
            var j = 0
            while j < cv {
                var v = load8(xr + j) * load8(scale + j) + load8(shift + j)
                if let residual { v += load8(residual + r * c + j) }
                if relu { v = v.replacing(with: 0, where: v .< 0) }
                store8(v, yr + j)
                j += 8
            }
            if j == c { continue }
            if let residual {
                let rr = residual + r * c
                if relu {
                    for j in j..<c { yr[j] = max(0, xr[j] * scale[j] + shift[j] + rr[j]) }
                } else {
                    for j in j..<c { yr[j] = xr[j] * scale[j] + shift[j] + rr[j] }
                }
            } else if relu {
                for j in j..<c { yr[j] = max(0, xr[j] * scale[j] + shift[j]) }
            } else {
                for j in j..<c { yr[j] = xr[j] * scale[j] + shift[j] }
            }
        }
    }
}

/// Backward of the training-mode forward. `dy` is overwritten with g (the gradient after the
/// ReLU mask), which is what a residual branch receives. dgamma and dbeta accumulate.
/// dx may be x itself (each element of x is read just before dx's is written); not dy.
public func batchNormBackward(dy: UnsafeMutablePointer<Float>, y: UnsafePointer<Float>?, x: UnsafePointer<Float>,
                              rows: Int, channels c: Int, gamma: UnsafePointer<Float>,
                              savedMean: UnsafePointer<Float>, savedInvStd: UnsafePointer<Float>,
                              dx: UnsafeMutablePointer<Float>,
                              dgamma: UnsafeMutablePointer<Float>, dbeta: UnsafeMutablePointer<Float>,
                              sync: (any Communicator)? = nil, totalRows: Int? = nil) {
    // sum g and sum g * (x - mean) per channel.
    let sums = UnsafeMutablePointer<Double>.allocate(capacity: 2 * c)
    defer { sums.deallocate() }
    let cv = vectorPart(c)
    let meanF = UnsafeMutablePointer(mutating: savedMean)
    reduceRows(rows, width: 2 * c, into: sums) { r0, r1, partial in
        for r in r0..<r1 {
            let gr = dy + r * c, xr = x + r * c
            var j = 0
            while j < cv {
                var g = load8(gr + j)
                if let y {
                    // The ReLU mask is applied in the same pass as the sums.
                    g = g.replacing(with: 0, where: load8(y + r * c + j) .<= 0)
                    store8(g, gr + j)
                }
                store8(load8(partial + j) + g, partial + j)
                store8(load8(partial + c + j) + g * (load8(xr + j) - load8(meanF + j)), partial + c + j)
                j += 8
            }
            while j < c {
                if let y, y[r * c + j] <= 0 { gr[j] = 0 }
                partial[j] += gr[j]
                partial[c + j] += gr[j] * (xr[j] - savedMean[j])
                j += 1
            }
        }
    }
    let sumG = sums, sumGX = sums + c
    let a = UnsafeMutablePointer<Float>.allocate(capacity: c)   // gamma * invStd
    let b = UnsafeMutablePointer<Float>.allocate(capacity: c)   // mean(g)
    let d = UnsafeMutablePointer<Float>.allocate(capacity: c)   // mean(g * xhat) * invStd
    defer { a.deallocate(); b.deallocate(); d.deallocate() }
    for j in 0..<c {
        dbeta[j] += Float(sumG[j])
        dgamma[j] += Float(sumGX[j] * Double(savedInvStd[j]))
    }
    if let sync, sync.isDistributed { sync.allreduceSum(sums, count: 2 * c) }
    let m = Double(totalRows ?? rows)
    for j in 0..<c {
        let inv = Double(savedInvStd[j])
        let sumGXhat = sumGX[j] * inv
        a[j] = gamma[j] * savedInvStd[j]
        b[j] = Float(sumG[j] / m)
        d[j] = Float(sumGXhat / m * inv)
    }
    // dx = a * (g - b - (x - mean) * d)
    parallelRows(rows) { r0, r1 in
        for r in r0..<r1 {
            let gr = dy + r * c, xr = x + r * c, dr = dx + r * c
            var j = 0
            while j < cv {
                let v = load8(a + j) * (load8(gr + j) - load8(b + j) - (load8(xr + j) - load8(meanF + j)) * load8(d + j))
                store8(v, dr + j)
                j += 8
            }
            while j < c { dr[j] = a[j] * (gr[j] - b[j] - (xr[j] - savedMean[j]) * d[j]); j += 1 }
        }
    }
}
