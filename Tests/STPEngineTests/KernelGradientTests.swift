import STPTestSupport
import Testing
import Foundation
import STPKernelsAVX512
@testable import STPEngine

// Forward results against plain reference loops, and backward passes against finite differences,
// for every kernel, over several shapes (stride 2, odd sizes, padding 0, 1x1, 5x5, chunked).

private func convForward(_ g: ConvGeometry, _ x: [Float], _ w: [Float], workers: Int = 1) -> [Float] {
    var y = [Float](repeating: 0, count: g.outputCount)
    var col = [Float](repeating: 0, count: max(1, g.colScratchFloats(workers: workers)))
    x.withPointer { xp in w.withPointer { wp in y.withMutablePointer { yp in col.withMutablePointer { cp in
        conv2dForward(g, x: xp, w: wp, y: yp, col: cp, workers: workers)
    } } } }
    return y
}

/// dw and dx of one backward pass with `workers` workers; dx starts at `dxStart` and is
/// accumulated into when `accumulate`.
private func convBackward(_ g: ConvGeometry, _ x: [Float], _ w: [Float], _ dy: [Float], workers: Int,
                          accumulate: Bool = false, dxStart: Float = .nan) -> (dw: [Float], dx: [Float]) {
    var dw = [Float](repeating: 0, count: w.count)
    var dx = [Float](repeating: dxStart, count: x.count)
    let need = backwardDataScratchFloats(g, workers: workers)
    var col = [Float](repeating: 0, count: max(1, g.colScratchFloats(workers: workers), need.col))
    var flipped = [Float](repeating: 0, count: max(1, need.flipped))
    var scratch = [Float](repeating: .nan, count: max(1, g.weightGradientScratchFloats(workers: workers)))
    x.withPointer { xp in w.withPointer { wp in dy.withPointer { dyp in
        dw.withMutablePointer { dwp in dx.withMutablePointer { dxp in col.withMutablePointer { cp in scratch.withMutablePointer { sp in
            flipped.withMutablePointer { fp in
                conv2dBackwardWeights(g, x: xp, dy: dyp, dw: dwp, col: cp, dwScratch: sp, workers: workers)
                conv2dBackwardData(g, w: wp, dy: dyp, dx: dxp, accumulate: accumulate, col: cp, flipped: fp, workers: workers)
            }
        } } } }
    } } }
    return (dw, dx)
}

/// Direct convolution, the definition, in Double.
private func convReference(_ g: ConvGeometry, _ x: [Float], _ w: [Float]) -> [Float] {
    var y = [Float](repeating: 0, count: g.outputCount)
    for n in 0..<g.batch { for oy in 0..<g.outHeight { for ox in 0..<g.outWidth { for o in 0..<g.outChannels {
        var s = 0.0
        for ky in 0..<g.kernelH { for kx in 0..<g.kernelW {
            let iy = oy * g.stride - g.padding + ky, ix = ox * g.stride - g.padding + kx
            guard iy >= 0, iy < g.height, ix >= 0, ix < g.width else { continue }
            for c in 0..<g.inChannels {
                s += Double(x[((n * g.height + iy) * g.width + ix) * g.inChannels + c])
                    * Double(w[((o * g.kernelH + ky) * g.kernelW + kx) * g.inChannels + c])
            }
        } }
        y[((n * g.outHeight + oy) * g.outWidth + ox) * g.outChannels + o] = Float(s)
    } } } }
    return y
}

private let convCases: [(String, ConvGeometry)] = {
    var chunked = ConvGeometry(batch: 3, height: 6, width: 6, inChannels: 3, outChannels: 4, kernel: 3, stride: 1, padding: 1)
    chunked.maxColFloats = 6 * 6 * 27   // one image per chunk
    return [
        ("3x3 stride 1", ConvGeometry(batch: 2, height: 5, width: 6, inChannels: 3, outChannels: 4, kernel: 3, stride: 1, padding: 1)),
        ("3x3 stride 2 odd", ConvGeometry(batch: 2, height: 7, width: 5, inChannels: 2, outChannels: 5, kernel: 3, stride: 2, padding: 1)),
        ("3x3 no padding", ConvGeometry(batch: 1, height: 6, width: 5, inChannels: 3, outChannels: 2, kernel: 3, stride: 1, padding: 0)),
        ("1x1 pointwise", ConvGeometry(batch: 2, height: 4, width: 3, inChannels: 5, outChannels: 3, kernel: 1, stride: 1, padding: 0)),
        ("1x1 stride 2", ConvGeometry(batch: 2, height: 5, width: 5, inChannels: 4, outChannels: 6, kernel: 1, stride: 2, padding: 0)),
        ("5x5 stride 2 pad 2", ConvGeometry(batch: 1, height: 9, width: 8, inChannels: 2, outChannels: 3, kernel: 5, stride: 2, padding: 2)),
        ("7x7 stride 2 pad 3", ConvGeometry(batch: 1, height: 9, width: 9, inChannels: 3, outChannels: 2, kernel: 7, stride: 2, padding: 3)),
        ("chunked batch", chunked),
    ]
}()

@Test(arguments: convCases.map { $0.0 })
func conv2dMatchesReferenceAndFiniteDifferences(_ name: String) {
    let g = convCases.first { $0.0 == name }!.1
    var x = gaussians(g.inputCount, seed: 1)
    var w = gaussians(g.outChannels * g.patchSize, seed: 2, scale: 0.5)
    let probe = gaussians(g.outputCount, seed: 3)

    let y = convForward(g, x, w)
    let ref = convReference(g, x, w)
    for i in 0..<y.count { #expect(abs(y[i] - ref[i]) <= 1e-4 * (1 + abs(ref[i])), "\(name) forward at \(i)") }

    let (dw, dx) = convBackward(g, x, w, probe, workers: 1)
    // Accumulating adds the same gradient to what dx held.
    let (_, dxPlusOne) = convBackward(g, x, w, probe, workers: 2, accumulate: true, dxStart: 1)
    for i in 0..<dx.count { #expect(abs(dxPlusOne[i] - (1 + dx[i])) <= 1e-5 * (1 + abs(dx[i])), "\(name) accumulated dx") }
    // Splitting the images across workers gives the same result up to summation order.
    for workers in [2, 3] {
        let yw = convForward(g, x, w, workers: workers)
        for i in 0..<y.count { #expect(abs(yw[i] - y[i]) <= 1e-5 * (1 + abs(y[i])), "\(name) forward, \(workers) workers") }
        let (dw2, dx2) = convBackward(g, x, w, probe, workers: workers)
        for i in 0..<dw.count { #expect(abs(dw2[i] - dw[i]) <= 1e-4 * (1 + abs(dw[i])), "\(name) dw, \(workers) workers") }
        for i in 0..<dx.count { #expect(abs(dx2[i] - dx[i]) <= 1e-5 * (1 + abs(dx[i])), "\(name) dx, \(workers) workers") }
    }
    let wFixed = w, xFixed = x
    GradientCheck().check("\(name) dx", values: &x, analytic: dx) { dot(convForward(g, $0, wFixed), probe) }
    GradientCheck().check("\(name) dw", values: &w, analytic: dw) { dot(convForward(g, xFixed, $0), probe) }
}

@Test func convWeightPackingSlicesTheFirstChannelsAndAccumulatesBack() {
    // Full OIHW weight [4, 3, 3, 3]; the slice keeps 2 outputs and 2 inputs.
    let full = (0..<(4 * 3 * 9)).map { Float($0) }
    var packed = [Float](repeating: -1, count: 2 * 9 * 2)
    full.withPointer { fp in packed.withMutablePointer { pp in
        packConvWeight(fp, fullIn: 3, kernelH: 3, kernelW: 3, outChannels: 2, inChannels: 2, into: pp)
    } }
    // packed[o][ky][kx][c] == full[o][c][ky][kx]
    for o in 0..<2 { for t in 0..<9 { for c in 0..<2 {
        #expect(packed[(o * 9 + t) * 2 + c] == full[(o * 3 + c) * 9 + t])
    } } }
    var grad = [Float](repeating: 1, count: full.count)
    packed.withPointer { pp in grad.withMutablePointer { gp in
        unpackConvGradientAccumulate(pp, fullIn: 3, kernelH: 3, kernelW: 3, outChannels: 2, inChannels: 2, into: gp)
    } }
    for o in 0..<4 { for c in 0..<3 { for t in 0..<9 {
        let i = (o * 3 + c) * 9 + t
        #expect(grad[i] == (o < 2 && c < 2 ? 1 + full[i] : 1), "unpacked gradient at \(i)")
    } } }
}

// MARK: - Batch normalisation

private struct BNCase { var rows: Int; var channels: Int; var residual: Bool; var relu: Bool }

private func bnForward(_ c: BNCase, x: [Float], gamma: [Float], beta: [Float], residual: [Float]) -> (y: [Float], mean: [Float], inv: [Float]) {
    var y = [Float](repeating: 0, count: x.count)
    var mean = [Float](repeating: 0, count: c.channels), inv = mean
    x.withPointer { xp in gamma.withPointer { gp in beta.withPointer { bp in residual.withPointer { rp in
        y.withMutablePointer { yp in mean.withMutablePointer { mp in inv.withMutablePointer { ip in
            batchNormForwardTrain(x: xp, rows: c.rows, channels: c.channels, gamma: gp, beta: bp,
                                  residual: c.residual ? rp : nil, relu: c.relu, y: yp,
                                  savedMean: mp, savedInvStd: ip, runningMean: nil, runningVar: nil)
        } } }
    } } } }
    return (y, mean, inv)
}

@Test(arguments: [(6, 3, false, false), (10, 4, false, true), (7, 5, true, true), (9, 2, true, false)])
func batchNormTrainMatchesFiniteDifferences(rows: Int, channels: Int, residual: Bool, relu: Bool) {
    let c = BNCase(rows: rows, channels: channels, residual: residual, relu: relu)
    var x = gaussians(rows * channels, seed: 5)
    var gamma = gaussians(channels, seed: 6, scale: 0.5).map { $0 + 1 }
    var beta = gaussians(channels, seed: 7, scale: 0.5)
    var res = gaussians(rows * channels, seed: 8)
    let probe = gaussians(rows * channels, seed: 9)
    let (y, mean, inv) = bnForward(c, x: x, gamma: gamma, beta: beta, residual: res)

    // Forward against the definition.
    for j in 0..<channels {
        var m = 0.0, v = 0.0
        for r in 0..<rows { m += Double(x[r * channels + j]) }
        m /= Double(rows)
        for r in 0..<rows { let d = Double(x[r * channels + j]) - m; v += d * d }
        v /= Double(rows)
        #expect(abs(Double(mean[j]) - m) < 1e-5)
        for r in 0..<rows {
            var e = Double(gamma[j]) * (Double(x[r * channels + j]) - m) / (v + 1e-5).squareRoot() + Double(beta[j])
            if residual { e += Double(res[r * channels + j]) }
            if relu { e = max(0, e) }
            #expect(abs(Double(y[r * channels + j]) - e) < 1e-4)
        }
    }

    var g = probe
    var dx = [Float](repeating: 0, count: x.count)
    var dgamma = [Float](repeating: 0, count: channels), dbeta = dgamma
    g.withMutablePointer { gp in y.withPointer { yp in x.withPointer { xp in gamma.withPointer { gm in
        mean.withPointer { mp in inv.withPointer { ip in dx.withMutablePointer { dxp in
            dgamma.withMutablePointer { dgp in dbeta.withMutablePointer { dbp in
                batchNormBackward(dy: gp, y: relu ? yp : nil, x: xp, rows: rows, channels: channels, gamma: gm,
                                  savedMean: mp, savedInvStd: ip, dx: dxp, dgamma: dgp, dbeta: dbp)
            } }
        } } }
    } } } }
    let (gm0, b0, r0, x0) = (gamma, beta, res, x)
    // ReLU kinks make single elements non-differentiable; a coarser tolerance covers them.
    let check = GradientCheck(step: 1e-3, relativeTolerance: 3e-2, absoluteTolerance: 5e-3)
    check.check("bn dx", values: &x, analytic: dx) { dot(bnForward(c, x: $0, gamma: gm0, beta: b0, residual: r0).y, probe) }
    check.check("bn dgamma", values: &gamma, analytic: dgamma) { dot(bnForward(c, x: x0, gamma: $0, beta: b0, residual: r0).y, probe) }
    check.check("bn dbeta", values: &beta, analytic: dbeta) { dot(bnForward(c, x: x0, gamma: gm0, beta: $0, residual: r0).y, probe) }
    if residual {
        // The residual's gradient is g, which the backward pass leaves in dy.
        check.check("bn dresidual", values: &res, analytic: g) { dot(bnForward(c, x: x0, gamma: gm0, beta: b0, residual: $0).y, probe) }
    }
}

@Test func batchNormUpdatesRunningStatisticsWithUnbiasedVarianceAndEvalUsesThem() {
    let rows = 8, channels = 2
    let x = gaussians(rows * channels, seed: 11, scale: 2)
    let gamma: [Float] = [1.5, 0.5], beta: [Float] = [0.1, -0.2]
    var rm: [Float] = [0, 0], rv: [Float] = [1, 1]
    var y = [Float](repeating: 0, count: x.count), mean = [Float](repeating: 0, count: 2), inv = mean
    x.withPointer { xp in gamma.withPointer { gp in beta.withPointer { bp in y.withMutablePointer { yp in
        mean.withMutablePointer { mp in inv.withMutablePointer { ip in rm.withMutablePointer { rmp in rv.withMutablePointer { rvp in
            batchNormForwardTrain(x: xp, rows: rows, channels: channels, gamma: gp, beta: bp, residual: nil, relu: false,
                                  y: yp, savedMean: mp, savedInvStd: ip, runningMean: rmp, runningVar: rvp)
        } } } }
    } } } }
    for j in 0..<channels {
        let col = (0..<rows).map { Double(x[$0 * channels + j]) }
        let m = col.reduce(0, +) / Double(rows)
        let unbiased = col.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(rows - 1)
        #expect(abs(Double(rm[j]) - 0.1 * m) < 1e-5)
        #expect(abs(Double(rv[j]) - (0.9 + 0.1 * unbiased)) < 1e-5)
    }
    var ye = [Float](repeating: 0, count: x.count)
    x.withPointer { xp in gamma.withPointer { gp in beta.withPointer { bp in rm.withPointer { rmp in rv.withPointer { rvp in
        ye.withMutablePointer { yp in
            batchNormForwardEval(x: xp, rows: rows, channels: channels, gamma: gp, beta: bp, runningMean: rmp, runningVar: rvp,
                                 residual: nil, relu: true, y: yp)
        }
    } } } } }
    for r in 0..<rows { for j in 0..<channels {
        let e = max(0, gamma[j] * (x[r * channels + j] - rm[j]) / (rv[j] + 1e-5).squareRoot() + beta[j])
        #expect(abs(ye[r * channels + j] - e) < 1e-5)
    } }
}

// MARK: - Element-wise, shortcut, pooling, linear, losses

@Test func reluAndResidualAddBackward() {
    var x = gaussians(37, seed: 12)
    let probe = gaussians(37, seed: 13)
    func forward(_ v: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: v.count)
        v.withPointer { vp in y.withMutablePointer { yp in reluForward(x: vp, y: yp, count: v.count) } }
        return y
    }
    let y = forward(x)
    var dx = [Float](repeating: 0, count: x.count)
    y.withPointer { yp in probe.withPointer { dp in dx.withMutablePointer { dxp in reluBackward(y: yp, dy: dp, dx: dxp, count: x.count) } } }
    GradientCheck(step: 1e-3).check("relu", values: &x, analytic: dx) { dot(forward($0), probe) }

    let a = gaussians(9, seed: 14), b = gaussians(9, seed: 15)
    var sum = [Float](repeating: 0, count: 9)
    a.withPointer { ap in b.withPointer { bp in sum.withMutablePointer { sp in residualAddForward(a: ap, b: bp, y: sp, count: 9) } } }
    for i in 0..<9 { #expect(sum[i] == a[i] + b[i]) }
    var da = [Float](repeating: 1, count: 9)
    probe.withPointer { dp in da.withMutablePointer { dap in residualAddBackward(dy: dp, da: dap, count: 9) } }
    for i in 0..<9 { #expect(da[i] == 1 + probe[i]) }
}

@Test(arguments: [(8, 8, 4, 8, 2), (7, 5, 3, 7, 2), (4, 4, 6, 6, 1)])
func zeroPadShortcutMatchesDefinitionAndGradient(h: Int, w: Int, cin: Int, cout: Int, stride: Int) {
    let s = ZeroPadShortcut(batch: 2, height: h, width: w, inChannels: cin, outChannels: cout, stride: stride)
    var x = gaussians(2 * h * w * cin, seed: 16)
    let probe = gaussians(s.outputCount, seed: 17)
    func forward(_ v: [Float]) -> [Float] {
        var y = [Float](repeating: .nan, count: s.outputCount)
        v.withPointer { vp in y.withMutablePointer { yp in zeroPadShortcutForward(s, x: vp, y: yp) } }
        return y
    }
    let y = forward(x)
    for n in 0..<2 { for oy in 0..<s.outHeight { for ox in 0..<s.outWidth { for c in 0..<cout {
        let src = c - s.padLow
        let e: Float = (src >= 0 && src < cin) ? x[((n * h + oy * stride) * w + ox * stride) * cin + src] : 0
        #expect(y[((n * s.outHeight + oy) * s.outWidth + ox) * cout + c] == e)
    } } } }
    var dx = [Float](repeating: 0, count: x.count)
    probe.withPointer { dp in dx.withMutablePointer { dxp in zeroPadShortcutBackward(s, dy: dp, dx: dxp) } }
    GradientCheck().check("zero-pad shortcut", values: &x, analytic: dx) { dot(forward($0), probe) }
}

@Test func globalAveragePoolingGradient() {
    let batch = 3, pixels = 5, c = 4
    var x = gaussians(batch * pixels * c, seed: 18)
    let probe = gaussians(batch * c, seed: 19)
    func forward(_ v: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: batch * c)
        v.withPointer { vp in y.withMutablePointer { yp in globalAvgPoolForward(x: vp, batch: batch, pixels: pixels, channels: c, y: yp) } }
        return y
    }
    var dx = [Float](repeating: 0, count: x.count)
    probe.withPointer { dp in dx.withMutablePointer { dxp in globalAvgPoolBackward(dy: dp, batch: batch, pixels: pixels, channels: c, dx: dxp) } }
    GradientCheck().check("global average pool", values: &x, analytic: dx) { dot(forward($0), probe) }
}

@Test(arguments: [(7, 7, 3, 2, 1), (6, 5, 2, 2, 0), (5, 5, 3, 1, 1)])
func maxPoolGradient(h: Int, w: Int, kernel: Int, stride: Int, padding: Int) {
    let g = MaxPoolGeometry(batch: 2, height: h, width: w, channels: 11, kernel: kernel, stride: stride, padding: padding)
    var x = gaussians(2 * h * w * 11, seed: 20)
    let probe = gaussians(g.outputCount, seed: 21)
    var argmax = [Int32](repeating: 0, count: g.outputCount)
    func forward(_ v: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: g.outputCount)
        v.withPointer { vp in y.withMutablePointer { yp in argmax.withUnsafeMutableBufferPointer { ap in
            maxPoolForward(g, x: vp, y: yp, argmax: ap.baseAddress!)
        } } }
        return y
    }
    let trained = forward(x)
    // Eval mode (no argmax) takes the same maxima on the vectorised path.
    var evalOut = [Float](repeating: 0, count: g.outputCount)
    x.withPointer { vp in evalOut.withMutablePointer { yp in maxPoolForward(g, x: vp, y: yp, argmax: nil) } }
    #expect(evalOut == trained)
    var dx = [Float](repeating: 0, count: x.count)
    probe.withPointer { dp in dx.withMutablePointer { dxp in argmax.withUnsafeBufferPointer { ap in
        maxPoolBackward(g, dy: dp, argmax: ap.baseAddress!, dx: dxp)
    } } }
    // Random inputs have no ties, so a small step never changes the argmax.
    GradientCheck(step: 1e-4).check("max pool", values: &x, analytic: dx) { dot(forward($0), probe) }
}

// A max pool large enough for the workers to split its rows (ResNet's stem pool at a smaller
// size), with a channel count that leaves a scalar tail, against a direct maximum, in eval and
// training mode; the backward pass (split by image) against a serial scatter.
@Test func maxPoolSplitAcrossWorkersTakesEachWindowsMaximum() {
    let g = MaxPoolGeometry(batch: 3, height: 40, width: 38, channels: 67, kernel: 3, stride: 2, padding: 1)
    #expect(g.outputCount >= 32_768)
    let x = gaussians(g.batch * g.height * g.width * g.channels, seed: 22)
    var y = [Float](repeating: .nan, count: g.outputCount)
    x.withPointer { xp in y.withMutablePointer { yp in maxPoolForward(g, x: xp, y: yp, argmax: nil) } }
    var trained = [Float](repeating: .nan, count: g.outputCount)
    var argmax = [Int32](repeating: -2, count: g.outputCount)
    x.withPointer { xp in trained.withMutablePointer { yp in argmax.withUnsafeMutableBufferPointer { ap in
        maxPoolForward(g, x: xp, y: yp, argmax: ap.baseAddress!)
    } } }
    #expect(trained == y)
    let dy = gaussians(g.outputCount, seed: 23)
    var dx = [Float](repeating: 0, count: x.count), serial = dx
    for o in 0..<g.outputCount { serial[Int(argmax[o])] += dy[o] }
    dy.withPointer { dp in dx.withMutablePointer { dxp in argmax.withUnsafeBufferPointer { ap in
        maxPoolBackward(g, dy: dp, argmax: ap.baseAddress!, dx: dxp)
    } } }
    #expect(dx == serial)
    var mismatches = 0
    for n in 0..<g.batch { for oy in 0..<g.outHeight { for ox in 0..<g.outWidth { for c in 0..<g.channels {
        var m = -Float.infinity
        for iy in max(0, 2 * oy - 1)..<min(g.height, 2 * oy + 2) {
            for ix in max(0, 2 * ox - 1)..<min(g.width, 2 * ox + 2) { m = max(m, x[((n * g.height + iy) * g.width + ix) * g.channels + c]) }
        }
        if y[((n * g.outHeight + oy) * g.outWidth + ox) * g.channels + c] != m { mismatches += 1 }
    } } } }
    #expect(mismatches == 0)
}

@Test(arguments: [(3, 5, 4, 5), (2, 6, 3, 4)])
func linearGradient(batch: Int, inFull: Int, out: Int, inActive: Int) {
    var x = gaussians(batch * inActive, seed: 22)
    var w = gaussians(out * inFull, seed: 23)
    var b = gaussians(out, seed: 24)
    let probe = gaussians(batch * out, seed: 25)
    func forward(_ x: [Float], _ w: [Float], _ b: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: batch * out)
        x.withPointer { xp in w.withPointer { wp in b.withPointer { bp in y.withMutablePointer { yp in
            linearForward(x: xp, batch: batch, inFeatures: inActive, w: wp, wStride: inFull, b: bp, outFeatures: out, y: yp)
        } } } }
        return y
    }
    var dw = [Float](repeating: 0, count: w.count), db = [Float](repeating: 0, count: out), dx = [Float](repeating: 0, count: x.count)
    x.withPointer { xp in w.withPointer { wp in probe.withPointer { dp in
        dw.withMutablePointer { dwp in db.withMutablePointer { dbp in dx.withMutablePointer { dxp in
            linearBackward(x: xp, batch: batch, inFeatures: inActive, w: wp, wStride: inFull, outFeatures: out,
                           dy: dp, dw: dwp, db: dbp, dx: dxp)
        } } }
    } } }
    let (x0, w0, b0) = (x, w, b)
    GradientCheck().check("linear dx", values: &x, analytic: dx) { dot(forward($0, w0, b0), probe) }
    GradientCheck().check("linear dw", values: &w, analytic: dw) { dot(forward(x0, $0, b0), probe) }
    GradientCheck().check("linear db", values: &b, analytic: db) { dot(forward(x0, w0, $0), probe) }
    // Columns beyond the active inputs receive no gradient.
    for o in 0..<out { for i in inActive..<inFull { #expect(dw[o * inFull + i] == 0) } }
}

@Test(arguments: [Float(0), 0.1])
func crossEntropyGradientAndValue(smoothing: Float) {
    let batch = 4, k = 5
    var z = gaussians(batch * k, seed: 26, scale: 2)
    let labels: [Int32] = [0, 3, 4, 1]
    func loss(_ z: [Float]) -> Double {
        Double(z.withPointer { zp in labels.withUnsafeBufferPointer { lp in
            crossEntropyForwardBackward(logits: zp, labels: lp.baseAddress!, batch: batch, classes: k, labelSmoothing: smoothing, dlogits: nil)
        } })
    }
    var dz = [Float](repeating: 0, count: z.count)
    let value = z.withPointer { zp in labels.withUnsafeBufferPointer { lp in dz.withMutablePointer { dp in
        crossEntropyForwardBackward(logits: zp, labels: lp.baseAddress!, batch: batch, classes: k, labelSmoothing: smoothing, dlogits: dp)
    } } }
    // Definition, for the value.
    var expected = 0.0
    for n in 0..<batch {
        let row = (0..<k).map { Double(z[n * k + $0]) }
        let lse = log(row.map { exp($0) }.reduce(0, +))
        for j in 0..<k {
            let q = (j == Int(labels[n]) ? 1 - Double(smoothing) : 0) + Double(smoothing) / Double(k)
            expected -= q * (row[j] - lse)
        }
    }
    #expect(abs(Double(value) - expected / Double(batch)) < 1e-5)
    GradientCheck(step: 1e-3).check("cross-entropy", values: &z, analytic: dz, loss: loss)
}

@Test(arguments: [Float(1), 4])
func klDivergenceGradientAndValue(temperature: Float) {
    let batch = 3, k = 6
    let t = gaussians(batch * k, seed: 27, scale: 2)
    var s = gaussians(batch * k, seed: 28, scale: 2)
    func loss(_ s: [Float]) -> Double {
        Double(t.withPointer { tp in s.withPointer { sp in
            klDivergenceForwardBackward(teacher: tp, student: sp, batch: batch, classes: k, temperature: temperature, dstudent: nil)
        } })
    }
    var ds = [Float](repeating: 0, count: s.count)
    _ = t.withPointer { tp in s.withPointer { sp in ds.withMutablePointer { dp in
        klDivergenceForwardBackward(teacher: tp, student: sp, batch: batch, classes: k, temperature: temperature, dstudent: dp)
    } } }
    #expect(loss(t) < 1e-6, "KL of a distribution with itself is zero")
    #expect(loss(s) > 0)
    GradientCheck(step: 1e-3).check("KL T=\(temperature)", values: &s, analytic: ds, loss: loss)
}

@Test func topKCountsLabelsAmongTheLargestLogits() {
    let z: [Float] = [0.1, 0.9, 0.5,   0.8, 0.1, 0.3,   0.2, 0.3, 0.1]
    let labels: [Int32] = [1, 2, 0]
    let top1 = z.withPointer { zp in labels.withUnsafeBufferPointer { topKCorrect(logits: zp, labels: $0.baseAddress!, batch: 3, classes: 3, k: 1) } }
    let top2 = z.withPointer { zp in labels.withUnsafeBufferPointer { topKCorrect(logits: zp, labels: $0.baseAddress!, batch: 3, classes: 3, k: 2) } }
    #expect(top1 == 1)
    #expect(top2 == 3)
}

@Test func batchNormStatisticsStayAccurateForALargeMeanAndManyRows() {
    // 20,000 rows of 1000 + N(0, 0.01): a naive E[x^2] - E[x]^2 in float would lose the variance.
    let rows = 20_000, channels = 3
    var rng = SeededRandom(seed: 30)
    let x = (0..<(rows * channels)).map { _ in 1000 + 0.1 * rng.nextGaussian() }
    let gamma = [Float](repeating: 1, count: channels), beta = [Float](repeating: 0, count: channels)
    var y = [Float](repeating: 0, count: x.count), mean = [Float](repeating: 0, count: channels), inv = mean
    x.withPointer { xp in gamma.withPointer { gp in beta.withPointer { bp in y.withMutablePointer { yp in
        mean.withMutablePointer { mp in inv.withMutablePointer { ip in
            batchNormForwardTrain(x: xp, rows: rows, channels: channels, gamma: gp, beta: bp, residual: nil, relu: false,
                                  y: yp, savedMean: mp, savedInvStd: ip, runningMean: nil, runningVar: nil)
        } }
    } } } }
    for j in 0..<channels {
        var m = 0.0, v = 0.0
        for r in 0..<rows { m += Double(x[r * channels + j]) }
        m /= Double(rows)
        for r in 0..<rows { let d = Double(x[r * channels + j]) - m; v += d * d }
        v /= Double(rows)
        #expect(abs(Double(mean[j]) - m) < 1e-4)
        let expectedInv = 1 / (v + 1e-5).squareRoot()
        #expect(abs(Double(inv[j]) - expectedInv) / expectedInv < 1e-3, "channel \(j): invStd \(inv[j]) vs \(expectedInv)")
    }
}

// Any channel count runs as 8-float vectors over a period of lcm(C, 8) floats (a pruned layer's
// 7 or 31 channels): forward and backward against a direct per-channel computation in Double,
// over several 256-row blocks and a flat length that does not end on a whole vector.
@Test(arguments: [(7, 601), (13, 300), (31, 517), (24, 260), (3, 9)])
func batchNormOfAnyChannelCountMatchesADirectComputation(channels c: Int, rows: Int) {
    let x = gaussians(rows * c, seed: 46), residual = gaussians(rows * c, seed: 47), dyIn = gaussians(rows * c, seed: 48)
    let gamma = gaussians(c, seed: 49), beta = gaussians(c, seed: 50)
    var y = [Float](repeating: .nan, count: rows * c), mean = [Float](repeating: 0, count: c), inv = mean
    var dy = dyIn, dx = [Float](repeating: .nan, count: rows * c)
    var dgamma = [Float](repeating: 0.5, count: c), dbeta = dgamma
    x.withPointer { xp in gamma.withPointer { gp in beta.withPointer { bp in residual.withPointer { rp in
    y.withMutablePointer { yp in mean.withMutablePointer { mp in inv.withMutablePointer { ip in
    dy.withMutablePointer { dyp in dx.withMutablePointer { dxp in dgamma.withMutablePointer { dgp in dbeta.withMutablePointer { dbp in
        batchNormForwardTrain(x: xp, rows: rows, channels: c, gamma: gp, beta: bp, residual: rp, relu: true,
                              y: yp, savedMean: mp, savedInvStd: ip, runningMean: nil, runningVar: nil)
        batchNormBackward(dy: dyp, y: yp, x: xp, rows: rows, channels: c, gamma: gp, savedMean: mp, savedInvStd: ip,
                          dx: dxp, dgamma: dgp, dbeta: dbp)
    } } } } } } } } } } }
    for j in 0..<c {
        let xs = (0..<rows).map { Double(x[$0 * c + j]) }
        let m = xs.reduce(0, +) / Double(rows)
        let invStd = 1 / (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(rows) + 1e-5).squareRoot()
        #expect(abs(Double(mean[j]) - m) < 1e-5 && abs(Double(inv[j]) - invStd) < 1e-4 * invStd, "channel \(j) of \(c)")
        var sumG = 0.0, sumGXhat = 0.0
        for r in 0..<rows {
            let i = r * c + j, xhat = (xs[r] - m) * invStd
            let out = max(0, Double(gamma[j]) * xhat + Double(beta[j]) + Double(residual[i]))
            #expect(abs(Double(y[i]) - out) < 1e-4 * (1 + out), "y[\(r), \(j)] of \(c) channels")
            let g = out > 0 ? Double(dyIn[i]) : 0
            #expect(Double(dy[i]) == g, "the ReLU mask at [\(r), \(j)]")
            sumG += g
            sumGXhat += g * xhat
        }
        #expect(abs(Double(dbeta[j]) - 0.5 - sumG) < 1e-3 * (1 + abs(sumG)), "dbeta[\(j)] of \(c)")
        #expect(abs(Double(dgamma[j]) - 0.5 - sumGXhat) < 1e-3 * (1 + abs(sumGXhat)), "dgamma[\(j)] of \(c)")
        for r in 0..<rows {
            let i = r * c + j, xhat = (xs[r] - m) * invStd
            let g = Double(dy[i])
            let expected = Double(gamma[j]) * invStd * (g - sumG / Double(rows) - xhat * sumGXhat / Double(rows))
            #expect(abs(Double(dx[i]) - expected) < 1e-4 * (1 + abs(expected)), "dx[\(r), \(j)] of \(c) channels")
        }
    }
}

// Widths of 37 and 13 output pixels run every register-block size (16, 8, 4 and single pixels).
// Output channel counts that are not multiples of 16 (a pruned network's or a subnet's widths)
// run on zero-padded weights and are stored through a mask: 3x3 and 1x1, stride 1 and 2, narrow
// and wide, with and without the fused batch-norm epilogue, at batch 3 and batch 1 (whose rows
// the workers share). Layers wider than 64 output channels run forward in 64-column panels, a
// last panel of 8, 16, 24 or 32 among them; at batch 1 a wide 1x1 layer's workers split the
// panels instead of the few rows. Forward widths are padded to a multiple of 8 only, so every
// width of 8 more than a multiple of 16 (8, 24, 40, 56; the last eight cases) ends in a
// half-vector block, exactly (8, 40, 24) or masked (3 of 8, 33 of 40), for every block size.
@Test(.enabled(if: FastKernels.available, "this CPU has no AVX-512F"),
      arguments: [(16, 3, 1, 3, 37), (32, 16, 1, 3, 13), (48, 8, 2, 3, 6), (64, 32, 1, 1, 13), (16, 16, 2, 1, 6),
                  (16, 17, 1, 3, 5), (12, 16, 1, 3, 37), (23, 11, 2, 3, 13), (10, 7, 1, 1, 13), (41, 16, 1, 3, 6),
                  (5, 3, 1, 3, 5), (57, 24, 1, 1, 40), (7, 16, 2, 3, 8), (31, 7, 1, 3, 8), (15, 32, 2, 3, 9),
                  (96, 16, 1, 3, 6), (200, 8, 2, 3, 5), (130, 12, 1, 1, 13), (128, 24, 1, 1, 4), (144, 20, 1, 1, 3),
                  (8, 16, 1, 3, 37), (3, 8, 1, 3, 30), (40, 8, 1, 3, 15), (56, 16, 2, 3, 6), (24, 8, 1, 1, 13),
                  (33, 16, 1, 1, 40), (72, 8, 1, 1, 13), (88, 12, 1, 3, 5)])
func avx512ConvolutionProductsMatchOpenBLAS(outChannels: Int, inChannels: Int, stride: Int, kernel: Int, width: Int) {
    for batch in [3, 1] {
        for winograd in [false, true] {
            avx512ConvolutionProductsMatchOpenBLAS(outChannels: outChannels, inChannels: inChannels, stride: stride,
                                                   kernel: kernel, width: width, batch: batch, winograd: winograd)
        }
    }
}

private func avx512ConvolutionProductsMatchOpenBLAS(outChannels: Int, inChannels: Int, stride: Int, kernel: Int, width: Int,
                                                    batch: Int, winograd: Bool) {
    var g = ConvGeometry(batch: batch, height: 5, width: width, inChannels: inChannels, outChannels: outChannels,
                         kernel: kernel, stride: stride, padding: kernel / 2)
    // The direct (implicit) kernels on every case; Winograd too on the 3x3 stride-1 ones with
    // at least 8 input channels (odd output sizes: 5 rows).
    g.allowsWinograd = winograd
    if winograd && !g.usesWinograd { return }
    g.maxColFloats = 2 * g.outHeight * g.outWidth * g.patchSize   // two images per chunk
    g.rowSplitMinimumMACs = 1   // batch 1: the workers share the image's rows
    let x = gaussians(g.inputCount, seed: 40)
    let w = gaussians(g.outChannels * g.patchSize, seed: 41, scale: 0.3)
    let dy = gaussians(g.outputCount, seed: 42)
    let scale = gaussians(outChannels, seed: 43), shift = gaussians(outChannels, seed: 44)
    let residual = gaussians(g.outputCount, seed: 45)
    for workers in [1, 2] {
        /// fused: 0 none, 1 batch norm + residual + ReLU, 2 batch norm alone.
        func forward(fast: Bool, accumulate: Bool, fused: Int = 0) -> [Float] {
            var y = [Float](repeating: accumulate ? 0.5 : .nan, count: g.outputCount)
            var col = [Float](repeating: 0, count: max(1, g.colScratchFloats(workers: workers)))
            x.withPointer { xp in w.withPointer { wp in y.withMutablePointer { yp in col.withMutablePointer { cp in
            scale.withPointer { sp in shift.withPointer { hp in residual.withPointer { rp in
                let epilogue = fused == 0 ? nil : ConvEpilogue(scale: sp, shift: hp, residual: fused == 1 ? rp : nil, relu: fused == 1)
                conv2dForward(g, x: xp, w: wp, y: yp, col: cp, workers: workers, accumulate: accumulate, fast: fast,
                              epilogue: epilogue)
            } } } } } } }
            return y
        }
        for fused in [1, 2] {
            let a = forward(fast: true, accumulate: false, fused: fused), b = forward(fast: false, accumulate: false, fused: fused)
            for i in 0..<a.count { #expect(abs(a[i] - b[i]) <= 1e-4 * (1 + abs(b[i])), "fused \(fused) forward \(i), \(workers) workers, batch \(batch), winograd \(winograd)") }
        }
        func weights(fast: Bool) -> [Float] {
            var dw = [Float](repeating: 0.25, count: w.count)
            var col = [Float](repeating: 0, count: max(1, g.colScratchFloats(workers: workers)))
            var scratch = [Float](repeating: 0, count: max(1, g.weightGradientScratchFloats(workers: workers)))
            x.withPointer { xp in dy.withPointer { dyp in dw.withMutablePointer { dwp in col.withMutablePointer { cp in
                scratch.withMutablePointer { sp in
                    conv2dBackwardWeights(g, x: xp, dy: dyp, dw: dwp, col: cp, dwScratch: sp, workers: workers, fast: fast)
                }
            } } } }
            return dw
        }
        for accumulate in [false, true] {
            let a = forward(fast: true, accumulate: accumulate), b = forward(fast: false, accumulate: accumulate)
            for i in 0..<a.count { #expect(abs(a[i] - b[i]) <= 1e-4 * (1 + abs(b[i])), "forward \(i), \(workers) workers, winograd \(winograd)") }
        }
        let a = weights(fast: true), b = weights(fast: false)
        for i in 0..<a.count { #expect(abs(a[i] - b[i]) <= 1e-4 * (1 + abs(b[i])), "weights \(i), \(workers) workers") }
    }
}

@Test func logitStandardizationGradient() {
    let batch = 3, k = 7
    var z = gaussians(batch * k, seed: 50, scale: 3)
    let probe = gaussians(batch * k, seed: 51)
    func forward(_ z: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: z.count), inv = [Float](repeating: 0, count: batch)
        z.withPointer { zp in out.withMutablePointer { op in inv.withMutablePointer { ip in
            standardizeLogitsForward(zp, batch: batch, classes: k, amplitude: 4, out: op, invStd: ip)
        } } }
        return out
    }
    let out = forward(z)
    for n in 0..<batch {
        let row = out[(n * k)..<((n + 1) * k)].map { Double($0) / 4 }
        let mean = row.reduce(0, +) / Double(k)
        let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(k)
        #expect(abs(mean) < 1e-6)
        #expect(abs(variance - 1) < 1e-4)
    }
    var inv = [Float](repeating: 0, count: batch)
    var outCopy = [Float](repeating: 0, count: z.count)
    z.withPointer { zp in outCopy.withMutablePointer { op in inv.withMutablePointer { ip in
        standardizeLogitsForward(zp, batch: batch, classes: k, amplitude: 4, out: op, invStd: ip)
    } } }
    var dz = [Float](repeating: 0, count: z.count)
    outCopy.withPointer { op in inv.withPointer { ip in probe.withPointer { gp in dz.withMutablePointer { dp in
        standardizeLogitsBackward(out: op, invStd: ip, dout: gp, batch: batch, classes: k, amplitude: 4, dz: dp)
    } } } }
    GradientCheck(step: 1e-3).check("standardised logits", values: &z, analytic: dz) { dot(forward($0), probe) }
}

// The eval-mode batch norm fused into a convolution equals the convolution followed by the
// separate eval batch-norm pass, on every convolution path (implicit, padded odd widths,
// pointwise, im2col + OpenBLAS), with and without residual and ReLU.
@Test(arguments: [(16, 3, 1, 3, 37), (12, 16, 1, 3, 13), (23, 11, 2, 3, 6), (32, 16, 1, 1, 13), (10, 7, 1, 1, 5)])
func convolutionWithFusedBatchNormEqualsSeparatePasses(outChannels: Int, inChannels: Int, stride: Int, kernel: Int, width: Int) {
    let g = ConvGeometry(batch: 3, height: 5, width: width, inChannels: inChannels, outChannels: outChannels,
                         kernel: kernel, stride: stride, padding: kernel / 2)
    let x = gaussians(g.inputCount, seed: 60)
    let w = gaussians(g.outChannels * g.patchSize, seed: 61, scale: 0.3)
    let residual = gaussians(g.outputCount, seed: 62)
    let gamma = gaussians(outChannels, seed: 63), beta = gaussians(outChannels, seed: 64)
    let mean = gaussians(outChannels, seed: 65, scale: 0.2)
    let variance = gaussians(outChannels, seed: 66).map { 0.5 + abs($0) }
    for fast in [true, false] where fast == false || FastKernels.available {
        for workers in [1, 2] {
            for (withResidual, relu) in [(false, true), (true, true), (false, false)] {
                var col = [Float](repeating: 0, count: max(1, g.colScratchFloats(workers: workers)))
                var separate = [Float](repeating: .nan, count: g.outputCount)
                var convOut = [Float](repeating: .nan, count: g.outputCount)
                var fused = [Float](repeating: .nan, count: g.outputCount)
                var scale = [Float](repeating: 0, count: outChannels), shift = [Float](repeating: 0, count: outChannels)
                x.withPointer { xp in w.withPointer { wp in col.withMutablePointer { cp in
                gamma.withPointer { gp in beta.withPointer { bp in mean.withPointer { mp in variance.withPointer { vp in
                residual.withPointer { rp in
                    convOut.withMutablePointer { yp in conv2dForward(g, x: xp, w: wp, y: yp, col: cp, workers: workers, fast: fast) }
                    convOut.withPointer { yp in separate.withMutablePointer { sp in
                        batchNormForwardEval(x: yp, rows: g.outputCount / outChannels, channels: outChannels, gamma: gp, beta: bp,
                                             runningMean: mp, runningVar: vp, residual: withResidual ? rp : nil, relu: relu, y: sp)
                    } }
                    scale.withMutablePointer { scp in shift.withMutablePointer { shp in
                        batchNormEvalScaleShift(gamma: gp, beta: bp, runningMean: mp, runningVar: vp, channels: outChannels,
                                                epsilon: BatchNormOptions().epsilon, scale: scp, shift: shp)
                        let epilogue = ConvEpilogue(scale: scp, shift: shp, residual: withResidual ? rp : nil, relu: relu)
                        fused.withMutablePointer { fp in
                            conv2dForward(g, x: xp, w: wp, y: fp, col: cp, workers: workers, fast: fast, epilogue: epilogue)
                        }
                    } }
                } } } } } } } }
                for i in 0..<fused.count {
                    #expect(abs(fused[i] - separate[i]) <= 1e-5 * (1 + abs(separate[i])),
                            "element \(i), fast \(fast), \(workers) workers, residual \(withResidual), relu \(relu)")
                }
            }
        }
    }
}

// One image and two workers: the implicit convolution splits the image's rows between them, the
// Winograd one (3x3 stride 1, the last three cases, one of an odd width, one wide) its tile rows.
@Test(.enabled(if: FastKernels.available, "this CPU has no AVX-512F"),
      arguments: [(16, 3, 1, 3, 12), (23, 16, 2, 3, 9), (64, 32, 1, 3, 8), (23, 16, 1, 3, 6), (144, 16, 1, 3, 8)])
func singleImageConvolutionSplitsRowsAcrossWorkers(outChannels: Int, inChannels: Int, stride: Int, kernel: Int, size: Int) {
    var g = ConvGeometry(batch: 1, height: size, width: size, inChannels: inChannels, outChannels: outChannels,
                         kernel: kernel, stride: stride, padding: kernel / 2)
    g.rowSplitMinimumMACs = 0   // split even this small convolution
    let x = gaussians(g.inputCount, seed: 70)
    let w = gaussians(g.outChannels * g.patchSize, seed: 71, scale: 0.3)
    func forward(fast: Bool, workers: Int) -> [Float] {
        var y = [Float](repeating: .nan, count: g.outputCount)
        var col = [Float](repeating: 0, count: max(1, g.colScratchFloats(workers: workers)))
        x.withPointer { xp in w.withPointer { wp in y.withMutablePointer { yp in col.withMutablePointer { cp in
            conv2dForward(g, x: xp, w: wp, y: yp, col: cp, workers: workers, fast: fast)
        } } } }
        return y
    }
    let split = forward(fast: true, workers: 2), reference = forward(fast: false, workers: 1)
    for i in 0..<split.count { #expect(abs(split[i] - reference[i]) <= 1e-4 * (1 + abs(reference[i])), "element \(i)") }
}

// Fewer images than workers on OpenBLAS (the path of layers wider than the AVX-512 products):
// the workers share each image's product, split by output pixels when the image has more of
// them than the layer has output channels, by 16-channel blocks otherwise (the odd widths 40
// and 70 leave a partial block), for 1x1, 3x3 and strided layers, with the fused epilogue and
// with accumulation. Two workers must give what one gives.
@Test(arguments: [(8, 5, 1, 3, 6), (40, 24, 1, 3, 3), (70, 16, 2, 3, 5), (96, 32, 1, 1, 4), (24, 8, 1, 1, 7),
                  (70, 9, 2, 1, 5)])
func fewerImagesThanWorkersShareEachImagesProduct(outChannels: Int, inChannels: Int, stride: Int, kernel: Int, size: Int) {
    for batch in [1, 2] {
        var g = ConvGeometry(batch: batch, height: size, width: size, inChannels: inChannels, outChannels: outChannels,
                             kernel: kernel, stride: stride, padding: kernel / 2)
        g.rowSplitMinimumMACs = 0   // share even these small convolutions
        #expect(g.sharesImageProducts(workers: 3) && !g.sharesImageProducts(workers: 1))
        let x = gaussians(g.inputCount, seed: 73)
        let w = gaussians(g.outChannels * g.patchSize, seed: 74, scale: 0.3)
        let scale = gaussians(outChannels, seed: 75), shift = gaussians(outChannels, seed: 76)
        let residual = gaussians(g.outputCount, seed: 77)
        func forward(workers: Int, accumulate: Bool, fused: Bool) -> [Float] {
            var y = [Float](repeating: accumulate ? 0.5 : .nan, count: g.outputCount)
            var col = [Float](repeating: .nan, count: max(1, g.colScratchFloats(workers: workers)))
            x.withPointer { xp in w.withPointer { wp in y.withMutablePointer { yp in col.withMutablePointer { cp in
            scale.withPointer { sp in shift.withPointer { hp in residual.withPointer { rp in
                let epilogue = fused ? ConvEpilogue(scale: sp, shift: hp, residual: rp, relu: true) : nil
                conv2dForward(g, x: xp, w: wp, y: yp, col: cp, workers: workers, accumulate: accumulate, fast: false,
                              epilogue: epilogue)
            } } } } } } }
            return y
        }
        for (accumulate, fused) in [(false, false), (true, false), (false, true)] {
            let reference = forward(workers: 1, accumulate: accumulate, fused: fused)
            for workers in [2, 3] {
                let shared = forward(workers: workers, accumulate: accumulate, fused: fused)
                for i in 0..<shared.count {
                    #expect(abs(shared[i] - reference[i]) <= 1e-5 * (1 + abs(reference[i])),
                            "element \(i), batch \(batch), \(workers) workers, accumulate \(accumulate), fused \(fused)")
                }
            }
        }
    }
}

@Test(arguments: [(9, 5, 16), (150, 131, 144), (9, 5, 8), (150, 131, 136)])
func packTransposedWeightIsThePackedWeightTransposedAndPadded(fullOut: Int, out: Int, padded: Int) {
    let fullIn = 7, k = 3, inC = 4
    let w = gaussians(fullOut * fullIn * k * k, seed: 72)
    var packed = [Float](repeating: 0, count: out * k * k * inC)
    var direct = [Float](repeating: .nan, count: k * k * inC * padded)
    w.withPointer { wp in
        packed.withMutablePointer { pp in packConvWeight(wp, fullIn: fullIn, kernelH: k, kernelW: k, outChannels: out, inChannels: inC, into: pp) }
        direct.withMutablePointer { dp in
            packTransposedConvWeight(wp, fullIn: fullIn, kernelH: k, kernelW: k, outChannels: out, inChannels: inC, paddedColumns: padded, into: dp)
        }
    }
    let patch = k * k * inC
    for j in 0..<patch {
        for o in 0..<padded {
            // Panel layout: dense up to 64 columns, otherwise 64-column panels one after another.
            let index = AVX512Kernels.panelIndex(row: j, column: o, rows: patch, columns: padded)
            #expect(padded > 64 || index == j * padded + o)
            #expect(direct[index] == (o < out ? packed[o * patch + j] : 0), "[\(j), \(o)]")
        }
    }
}
