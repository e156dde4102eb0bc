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

/// The channel loops below run over a [rows, C] tensor as one flat array of 8-float vectors,
/// whatever C is: the channels of consecutive vectors repeat every lcm(C, 8) floats, so a
/// per-channel operand repeated over that period (`channelPattern`) lines up with every vector.
/// Before, each row ran 8 channels at a time and the rest one at a time: a pruned layer of 7
/// channels ran entirely scalar, and batch norm took a quarter of its training step.
///
/// Floats after which the channels of a [rows, c] tensor's 8-float vectors repeat.
func channelPeriod(_ c: Int) -> Int {
    var a = c, b = 8
    while b != 0 { (a, b) = (b, a % b) }
    return c / a * 8
}

/// `values` [c] repeated over `channelPeriod(c)` floats (deallocate it).
func channelPattern(_ values: UnsafePointer<Float>, channels c: Int) -> UnsafeMutablePointer<Float> {
    let period = channelPeriod(c)
    let pattern = UnsafeMutablePointer<Float>.allocate(capacity: period)
    for l in 0..<period { pattern[l] = values[l % c] }
    return pattern
}

/// Adds lane totals over a period (`lanes` [k * period], k sums side by side) into per-channel
/// totals [k * c].
func foldChannelPeriod(_ lanes: UnsafePointer<Double>, sums k: Int, channels c: Int, into totals: UnsafeMutablePointer<Double>) {
    let period = channelPeriod(c)
    for j in 0..<(k * c) { totals[j] = 0 }
    for s in 0..<k { for l in 0..<period { totals[s * c + l % c] += lanes[s * period + l] } }
}

/// Per-channel mean and biased variance in one pass over x: sums of (x - s) and (x - s)^2 with
/// the shift s = the first row, which keeps E[d^2] - E[d]^2 free of cancellation for activations
/// whose mean is large against their spread.
private func channelMoments(_ x: UnsafePointer<Float>, rows: Int, channels c: Int,
                            mean: UnsafeMutablePointer<Double>, variance: UnsafeMutablePointer<Double>) {
    let shift = x   // the first row
    let period = channelPeriod(c)
    let shiftP = channelPattern(shift, channels: c)
    let lanes = UnsafeMutablePointer<Double>.allocate(capacity: 2 * period)
    let sums = UnsafeMutablePointer<Double>.allocate(capacity: 2 * c)
    defer { shiftP.deallocate(); lanes.deallocate(); sums.deallocate() }
    reduceRows(rows, width: 2 * period, into: lanes) { r0, r1, partial in
        let end = r1 * c
        var i = r0 * c, l = 0
        while i + 8 <= end {
            let d = load8(x + i) - load8(shiftP + l)
            store8(load8(partial + l) + d, partial + l)
            store8(load8(partial + period + l) + d * d, partial + period + l)
            i += 8; l += 8
            if l == period { l = 0 }
        }
        while i < end {
            let d = x[i] - shiftP[l]
            partial[l] += d
            partial[period + l] += d * d
            i += 1; l += 1
        }
    }
    foldChannelPeriod(lanes, sums: 2, channels: c, into: sums)
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
    let period = channelPeriod(c)
    let scaleP = channelPattern(scale, channels: c), shiftP = channelPattern(shift, channels: c)
    defer { scaleP.deallocate(); shiftP.deallocate() }
    parallelRows(rows) { r0, r1 in
        let end = r1 * c
        var i = r0 * c, l = 0
        while i + 8 <= end {
            var v = load8(x + i) * load8(scaleP + l) + load8(shiftP + l)
            if let residual { v += load8(residual + i) }
            if relu { v = v.replacing(with: 0, where: v .< 0) }
            store8(v, y + i)
            i += 8; l += 8
            if l == period { l = 0 }
        }
        while i < end {
            var v = x[i] * scaleP[l] + shiftP[l]
            if let residual { v += residual[i] }
            y[i] = relu ? max(0, v) : v
            i += 1; l += 1
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
    let period = channelPeriod(c)
    let meanP = channelPattern(savedMean, channels: c)
    let lanes = UnsafeMutablePointer<Double>.allocate(capacity: 2 * period)
    let sums = UnsafeMutablePointer<Double>.allocate(capacity: 2 * c)
    defer { meanP.deallocate(); lanes.deallocate(); sums.deallocate() }
    reduceRows(rows, width: 2 * period, into: lanes) { r0, r1, partial in
        let end = r1 * c
        var i = r0 * c, l = 0
        while i + 8 <= end {
            var g = load8(dy + i)
            if let y {
                // The ReLU mask is applied in the same pass as the sums.
                g = g.replacing(with: 0, where: load8(y + i) .<= 0)
                store8(g, dy + i)
            }
            store8(load8(partial + l) + g, partial + l)
            store8(load8(partial + period + l) + g * (load8(x + i) - load8(meanP + l)), partial + period + l)
            i += 8; l += 8
            if l == period { l = 0 }
        }
        while i < end {
            if let y, y[i] <= 0 { dy[i] = 0 }
            partial[l] += dy[i]
            partial[period + l] += dy[i] * (x[i] - meanP[l])
            i += 1; l += 1
        }
    }
    foldChannelPeriod(lanes, sums: 2, channels: c, into: sums)
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
    let aP = channelPattern(a, channels: c), bP = channelPattern(b, channels: c), dP = channelPattern(d, channels: c)
    defer { aP.deallocate(); bP.deallocate(); dP.deallocate() }
    parallelRows(rows) { r0, r1 in
        let end = r1 * c
        var i = r0 * c, l = 0
        while i + 8 <= end {
            let v = load8(aP + l) * (load8(dy + i) - load8(bP + l) - (load8(x + i) - load8(meanP + l)) * load8(dP + l))
            store8(v, dx + i)
            i += 8; l += 8
            if l == period { l = 0 }
        }
        while i < end {
            dx[i] = aP[l] * (dy[i] - bP[l] - (x[i] - meanP[l]) * dP[l])
            i += 1; l += 1
        }
    }
}
