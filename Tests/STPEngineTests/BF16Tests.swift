import STPTestSupport
import Testing
import Foundation
import STPKernelsAVX512
@testable import STPEngine

// The bfloat16 path (BF16Kernels, BF16Conv.swift) against float32 and exact references, with the
// tolerances bf16 allows: an operand rounded to bf16 keeps 8 significant bits (relative error at
// most 2^-8), so a product of two has relative error at most about 2^-7, and a float32 sum of
// such products differs from the exact sum of the float32 products by at most
// 2^-7 * sum |a_k b_k| (plus float32's own rounding, 1e-5 of that sum here).

private let bf16Tolerance = 1.0 / 128.0

/// The kernel tests are skipped, visibly, on a CPU without AVX512-BF16 (or with STP_NO_BF16 set).
private let needsBF16: Comment = "needs AVX512-BF16: \(BF16Kernels.unavailableReason ?? "")"

@Test func bf16ConversionRoundsAsPyTorchDoes() {
    // Ties go to even, NaN becomes 0x7fc0, infinities, signed zero and denormals are kept.
    let cases: [(Float, UInt16)] = [(0, 0x0000), (-0.0, 0x8000), (1, 0x3f80), (-2, 0xc000),
                                    (1.00390625, 0x3f80), (1.01171875, 0x3f82), (1.005859375, 0x3f81),
                                    (.infinity, 0x7f80), (-.infinity, 0xff80), (.nan, 0x7fc0),
                                    (Float(bitPattern: 1), 0x0000), (Float(bitPattern: 0x8000), 0x0000), (Float(bitPattern: 0x8001), 0x0001),
                                    (Float(bitPattern: 0x18000), 0x0002),
                                    (.greatestFiniteMagnitude, 0x7f80), (3.3895314e38, 0x7f7f)]
    for (x, bits) in cases {
        #expect(BF16Kernels.bits(x) == bits, "bf16(\(x)) = \(String(BF16Kernels.bits(x), radix: 16)), expected \(String(bits, radix: 16))")
    }
    #expect(BF16Kernels.float(0x3f82) == 1.015625)
}

@Test(.enabled(if: BF16Kernels.available, needsBF16)) func theSIMDConversionOfTheWinogradTransformIsTheCOne() throws {
    var values = gaussians(4096, seed: 5, scale: 3)
    values += [0, -0.0, .infinity, -.infinity, .nan, -.nan, Float(bitPattern: 0x7f80_0001), Float(bitPattern: 0xffff_ffff),
               1.00390625, 1.01171875, Float(bitPattern: 1), .greatestFiniteMagnitude, 0, 0]
    while values.count % 16 != 0 { values.append(1) }
    var fromC = [UInt16](repeating: 0, count: values.count)
    values.withUnsafeBufferPointer { src in fromC.withUnsafeMutableBufferPointer { BF16Kernels.convert(src.baseAddress!, $0.baseAddress!, count: src.count) } }
    for i in stride(from: 0, to: values.count, by: 16) {
        let v = SIMD16<Float>(values[i..<(i + 16)])
        let bits = bfloat16Bits(v)
        for lane in 0..<16 where bits[lane] != fromC[i + lane] {
            Issue.record("value \(values[i + lane]): SIMD \(String(bits[lane], radix: 16)), C \(String(fromC[i + lane], radix: 16))")
        }
    }
}

/// A field product in bf16 against Double references: exact on the bf16-rounded operands (to
/// float32 accumulation), and within the bf16 bound of the float32 operands.
@Test(.enabled(if: BF16Kernels.available, needsBF16), arguments: [
    // (rows, columns, segments, segment length): odd lengths (a last unpaired value), widths
    // below, at and above one 16-column vector, a panel (64) and beyond, a 1-row product.
    (1, 8, 1, 1), (7, 24, 1, 3), (30, 40, 1, 17), (13, 64, 1, 64), (25, 72, 1, 145), (9, 200, 3, 9),
    (40, 136, 3, 5), (6, 16, 1, 2), (17, 23, 3, 3), (33, 7, 2, 27),
])
func aBF16FieldProductIsTheProductOfItsRoundedOperands(rows: Int, n: Int, segments: Int, segmentLength: Int) throws {
    let pixelStride = segmentLength + 1, segmentStride = rows * pixelStride + 5
    let total = segmentStride * segments + segmentLength + 8
    let a = gaussians(total, seed: UInt64(rows * 1000 + n), scale: 1)
    let k = segments * segmentLength
    let b = gaussians(k * n, seed: UInt64(n * 7 + k), scale: 1)
    var a16 = [UInt16](repeating: 0, count: total)
    a.withUnsafeBufferPointer { src in a16.withUnsafeMutableBufferPointer { BF16Kernels.convert(src.baseAddress!, $0.baseAddress!, count: total) } }
    var packed = [UInt16](repeating: 0, count: BF16Kernels.packedCount(segments: segments, segmentLength: segmentLength, columns: n))
    b.withUnsafeBufferPointer { src in packed.withUnsafeMutableBufferPointer {
        BF16Kernels.pack(src.baseAddress!, rowStride: n, columnStride: 1, segments: segments, segmentLength: segmentLength,
                         columns: n, into: $0.baseAddress!)
    } }
    let ldc = n + 3
    for accumulate in [false, true] {
        var c = [Float](repeating: accumulate ? 0.5 : 77, count: rows * ldc)
        a16.withUnsafeBufferPointer { ap in packed.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            BF16Kernels.fieldProduct(cols: rows, n: n, a: ap.baseAddress!, pixelStride: pixelStride, segmentStride: segmentStride,
                                     segments: segments, segmentLength: segmentLength, packed: bp.baseAddress!,
                                     c: cp.baseAddress!, ldc: ldc, accumulate: accumulate)
        } } }
        for i in 0..<rows {
            for o in 0..<n {
                var rounded = accumulate ? 0.5 : 0.0, exact = rounded, magnitude = 0.0
                for s in 0..<segments {
                    for j in 0..<segmentLength {
                        let av = a[i * pixelStride + s * segmentStride + j], bv = b[(s * segmentLength + j) * n + o]
                        rounded += Double(BF16Kernels.float(BF16Kernels.bits(av))) * Double(BF16Kernels.float(BF16Kernels.bits(bv)))
                        exact += Double(av) * Double(bv)
                        magnitude += abs(Double(av) * Double(bv))
                    }
                }
                let got = Double(c[i * ldc + o])
                #expect(abs(got - rounded) <= 1e-5 * magnitude + 1e-6, "row \(i) column \(o): \(got) against \(rounded) on the rounded operands")
                #expect(abs(got - exact) <= bf16Tolerance * magnitude + 1e-6, "row \(i) column \(o): \(got) against float32's \(exact)")
            }
            for o in n..<ldc {
                #expect(c[i * ldc + o] == (accumulate ? 0.5 : 77), "column \(o) past the product's \(n) was written")
            }
        }
    }
}

/// y = conv(x, w) * scale + shift (+ residual, ReLU) in Double, and the same with |x|, |w| (the
/// bound's magnitude), w in PyTorch's OIHW.
private func referenceConv(_ g: ConvGeometry, x: [Float], w: [Float], fullIn: Int, scale: [Float], shift: [Float])
    -> (y: [Double], magnitude: [Double]) {
    var y = [Double](repeating: 0, count: g.outputCount), mag = y
    for n in 0..<g.batch { for oy in 0..<g.outHeight { for ox in 0..<g.outWidth { for o in 0..<g.outChannels {
        var s = 0.0, m = 0.0
        for ky in 0..<g.kernelH { for kx in 0..<g.kernelW {
            let iy = oy * g.stride - g.padding + ky, ix = ox * g.stride - g.padding + kx
            guard iy >= 0, iy < g.height, ix >= 0, ix < g.width else { continue }
            for c in 0..<g.inChannels {
                let xv = Double(x[((n * g.height + iy) * g.width + ix) * g.inChannels + c])
                let wv = Double(w[((o * fullIn + c) * g.kernelH + ky) * g.kernelW + kx])
                s += xv * wv; m += abs(xv * wv)
            }
        } }
        let p = ((n * g.outHeight + oy) * g.outWidth + ox) * g.outChannels + o
        y[p] = s * Double(scale[o]) + Double(shift[o])
        mag[p] = m * Double(abs(scale[o]))
    } } } }
    return (y, mag)
}

/// The bf16 eval-mode convolution of x [N, H, W, Cin] with the slice g of w (OIHW, fullIn inputs).
private func bf16Conv(_ g: ConvGeometry, x: [Float], w: [Float], fullIn: Int, scale: [Float], shift: [Float], workers: Int) -> [Float] {
    var y = [Float](repeating: .nan, count: g.outputCount)
    let operand = w.withUnsafeBufferPointer { packBF16ConvWeight($0.baseAddress!, fullIn: fullIn, g) }
    x.withUnsafeBufferPointer { xp in scale.withUnsafeBufferPointer { sc in shift.withUnsafeBufferPointer { sh in
        y.withUnsafeMutableBufferPointer { yp in
            conv2dForwardBF16(g, x: xp.baseAddress!, operand: operand, y: yp.baseAddress!, workers: workers,
                              epilogue: ConvEpilogue(scale: sc.baseAddress!, shift: sh.baseAddress!, residual: nil, relu: false))
        }
    } } }
    return y
}

@Test(.enabled(if: BF16Kernels.available, needsBF16), arguments: [
    // (batch, size, Cin of fullIn, Cout, kernel, stride, padding, workers): the stem (3 channels:
    // an odd segment), Winograd layers (16, 13 -> 24, odd output size, > 64 outputs), a strided
    // 3x3, a 1x1 shortcut, batch 1 split across workers, a slice of a wider layer.
    (2, 8, 3, 3, 16, 3, 1, 1, 1), (2, 8, 16, 16, 16, 3, 1, 1, 2), (1, 7, 13, 13, 24, 3, 1, 1, 2),
    (2, 6, 16, 16, 72, 3, 1, 1, 1), (2, 9, 16, 16, 32, 3, 2, 1, 2), (2, 8, 16, 16, 32, 1, 2, 0, 1),
    (3, 6, 7, 7, 13, 1, 1, 0, 2), (1, 16, 16, 16, 16, 3, 1, 1, 2), (2, 8, 10, 16, 12, 3, 1, 1, 1),
])
func theBF16ConvolutionIsFloat32sWithinTheBF16Bound(batch: Int, size: Int, cin: Int, fullIn: Int, cout: Int, kernel: Int,
                                                      stride: Int, padding: Int, workers: Int) throws {
    var g = ConvGeometry(batch: batch, height: size, width: size, inChannels: cin, outChannels: cout,
                         kernel: kernel, stride: stride, padding: padding)
    g.rowSplitMinimumMACs = 1   // batch 1 with 2 workers splits its rows, as batch-1 inference does
    let x = gaussians(g.inputCount, seed: UInt64(size * 31 + cin), scale: 1)
    let w = gaussians((cout + 3) * fullIn * kernel * kernel, seed: UInt64(cout * 17 + kernel), scale: 0.3)
    let scale = gaussians(cout, seed: 9, scale: 1), shift = gaussians(cout, seed: 10, scale: 1)
    let reference = referenceConv(g, x: x, w: w, fullIn: fullIn, scale: scale, shift: shift)
    let y = bf16Conv(g, x: x, w: w, fullIn: fullIn, scale: scale, shift: shift, workers: workers)
    if g.usesWinograd {
        // Winograd's products round the transformed operands, V (sums of up to 4 inputs) and U
        // (of up to 9 weights, halved), whose magnitudes the direct sum does not bound: the
        // error is held to the bf16 bound of the largest output instead, 4x wider (measured on
        // these shapes: 0.3-0.6% of the largest output, against 3.1%).
        let largest = reference.y.map(abs).max() ?? 0
        let worst = zip(y, reference.y).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst <= 4 * bf16Tolerance * largest, "Winograd: worst error \(worst) with outputs up to \(largest)")
    } else {
        for p in 0..<y.count where !(abs(Double(y[p]) - reference.y[p]) <= bf16Tolerance * reference.magnitude[p] + 1e-5) {
            Issue.record("output \(p): \(y[p]) against \(reference.y[p]) (bound \(bf16Tolerance * reference.magnitude[p]))")
            break
        }
    }
}

// PyTorch's logits for the shared trained networks, in bf16: the top-1 class of every reference
// image is PyTorch's, and the logits stay within 2% of the largest (measured: 0.3-0.6%).
private let sharedModels = SharedFiles.directory + "/models/cifar-resnet"
private let referenceFile = sharedModels + "/reference_logits.safetensors"

@Test(.enabled(if: SharedFiles.available(referenceFile), "needs ../shared/models/cifar-resnet"),
      .enabled(if: BF16Kernels.available, needsBF16),
      arguments: [("resnet20", "resnet20-12fca82f.th"), ("resnet56", "resnet56-4bfd9763.th")])
func theSharedNetworksInBF16KeepPyTorchsClasses(model: String, file: String) throws {
    let reference = try SafeTensorsFile.read(path: referenceFile)
    let imported = try ImportedNetwork.read(path: sharedModels + "/" + file)
    let expected = try reference.floats("logits_" + model, expectingShape: [16, 10]).values
    let nhwc = try sharedReferenceImages(reference)
    let actual = ComputePrecision.$override.withValue(true) {
        nhwc.withUnsafeBufferPointer {
            Array(UnsafeBufferPointer(start: imported.network.forward($0.baseAddress!, batch: 16, mode: .eval), count: 160))
        }
    }
    let largest = expected.map(abs).max() ?? 1
    var worst: Float = 0
    for (a, e) in zip(actual, expected) { worst = max(worst, abs(a - e)) }
    #expect(worst <= 0.02 * largest, "\(model): largest difference from PyTorch's logits \(worst), logits up to \(largest)")
    for n in 0..<16 {
        let a = actual[(n * 10)..<(n * 10 + 10)], e = expected[(n * 10)..<(n * 10 + 10)]
        #expect(a.firstIndex(of: a.max()!) == e.firstIndex(of: e.max()!), "\(model): image \(n) changes class in bf16")
    }
}

@Test func bf16OnACPUWithoutItIsAnErrorAndAutoFallsBack() throws {
    let missing = "the CPU has no AVX512-BF16 (avx512_bf16 in /proc/cpuinfo)"
    let refused = errorText { _ = try ComputePrecision.resolve(.bf16, unavailableReason: missing) }
    #expect(refused.contains("--precision bf16: the CPU has no AVX512-BF16"), "\(refused)")
    let auto = try ComputePrecision.resolve(.auto, unavailableReason: missing)
    #expect(!auto.bf16 && auto.line == "precision: auto -> fp32 (\(missing))")
    #expect(try ComputePrecision.resolve(.auto, unavailableReason: nil).bf16)
    #expect(try !ComputePrecision.resolve(.fp32, unavailableReason: nil).bf16)
}

/// One training step's loss and parameter gradients of the shared trained ResNet-20 on the 16
/// reference images (labels n mod 10: a step with large gradients), in bf16 or float32, the
/// input scaled by 1 + jitter * (a gaussian per value) when `jitter` is given.
private func trainingGradients(bf16: Bool, jitter: Float = 0) throws -> (loss: Float, gradients: [[Float]]) {
    let model = try ImportedNetwork.read(path: sharedModels + "/resnet20-12fca82f.th").network
    let batch = 16
    var input = try sharedReferenceImages(SafeTensorsFile.read(path: referenceFile))
    let noise = gaussians(input.count, seed: 99)
    for i in 0..<input.count { input[i] *= 1 + jitter * noise[i] }
    let labels: [Int32] = (0..<batch).map { Int32($0 % 10) }
    var loss: Float = 0
    ComputePrecision.$override.withValue(bf16) {
        model.zeroGradients()
        input.withUnsafeBufferPointer { ip in
            let z = model.forward(ip.baseAddress!, batch: batch, mode: .train(updateRunningStats: false))
            var dz = [Float](repeating: 0, count: batch * 10)
            labels.withUnsafeBufferPointer { lp in dz.withUnsafeMutableBufferPointer { dp in
                loss = crossEntropyForwardBackward(logits: z, labels: lp.baseAddress!, batch: batch, classes: 10, dlogits: dp.baseAddress!)
            } }
            dz.withUnsafeBufferPointer { model.backward($0.baseAddress!) }
        }
    }
    return (loss, model.parameters.map { Array(UnsafeBufferPointer(start: $0.grad.pointer, count: $0.count)) })
}

/// The mean over parameters of 1 - cos(gradient a, gradient b).
private func meanGradientAngle(_ a: [[Float]], _ b: [[Float]]) -> Double {
    var total = 0.0
    for (x, y) in zip(a, b) {
        var dot = 0.0, nx = 0.0, ny = 0.0
        for (u, v) in zip(x, y) { dot += Double(u) * Double(v); nx += Double(u) * Double(u); ny += Double(v) * Double(v) }
        total += nx == 0 && ny == 0 ? 0 : 1 - dot / (nx.squareRoot() * ny.squareRoot())
    }
    return total / Double(a.count)
}

// A training step in bf16 (its forward convolutions and stride-1 input gradients) against
// float32. Gradients through 19 convolutions, batch norms and ReLUs move far more than the
// 2^-8 of one product: a float32 step whose input is perturbed by 2^-8 (relative, gaussian)
// turns them by about as much as bf16 does (measured: worst cosine 0.975 for both; 1 - cos
// averaged over the parameters 0.0058 for bf16, 0.0096 for the perturbation). So the bound
// is that perturbation's own effect: bf16 may turn the gradients at most twice as far, on
// average over the parameters, as rounding noise of that size does in float32.
@Test(.enabled(if: SharedFiles.available(referenceFile), "needs ../shared/models/cifar-resnet"),
      .enabled(if: BF16Kernels.available, needsBF16))
func aTrainingStepInBF16MovesTheGradientsNoMoreThanRoundingNoiseDoes() throws {
    let fp32 = try trainingGradients(bf16: false)
    let bf16 = try trainingGradients(bf16: true)
    let jittered = try trainingGradients(bf16: false, jitter: 1.0 / 256)
    #expect(abs(bf16.loss - fp32.loss) <= 0.01 * fp32.loss, "loss \(bf16.loss) against \(fp32.loss)")
    let bf16Angle = meanGradientAngle(fp32.gradients, bf16.gradients)
    let noiseAngle = meanGradientAngle(fp32.gradients, jittered.gradients)
    #expect(bf16Angle <= 2 * noiseAngle + 1e-4, "bf16 turns the gradients by \(bf16Angle), rounding noise by \(noiseAngle)")
}

@Test(.enabled(if: BF16Kernels.available, needsBF16), arguments: [(16, 16, 8), (13, 24, 7), (3, 16, 8)])
func theBF16InputGradientIsFloat32sWithinTheBF16Bound(cin: Int, cout: Int, size: Int) {
    // A stride-1 3x3 input gradient is the convolution of dy with the flipped weights: Winograd
    // for 16 and 24 output gradients' channels, the direct kernel for the stem's 3 inputs.
    let g = ConvGeometry(batch: 2, height: size, width: size, inChannels: cin, outChannels: cout, kernel: 3, stride: 1, padding: 1)
    let w = gaussians(cout * g.patchSize, seed: 21, scale: 0.3), dy = gaussians(g.outputCount, seed: 22)
    let need = backwardDataScratchFloats(g, workers: 2)
    func inputGradient(bf16: Bool) -> [Float] {
        var dx = [Float](repeating: 0.25, count: g.inputCount)
        var col = [Float](repeating: 0, count: max(1, need.col)), flipped = [Float](repeating: 0, count: max(1, need.flipped))
        w.withUnsafeBufferPointer { wp in dy.withUnsafeBufferPointer { dp in dx.withUnsafeMutableBufferPointer { xp in
            col.withUnsafeMutableBufferPointer { cp in flipped.withUnsafeMutableBufferPointer { fp in
                conv2dBackwardData(g, w: wp.baseAddress!, dy: dp.baseAddress!, dx: xp.baseAddress!, accumulate: true,
                                   col: cp.baseAddress!, flipped: fp.baseAddress!, workers: 2, bf16: bf16)
            } }
        } } }
        return dx
    }
    let fp32 = inputGradient(bf16: false), bf16 = inputGradient(bf16: true)
    let largest = fp32.map { abs($0 - 0.25) }.max() ?? 0
    let worst = zip(fp32, bf16).map { abs($0 - $1) }.max() ?? 0
    #expect(worst <= 4 * Float(bf16Tolerance) * largest, "worst difference \(worst), gradients up to \(largest)")
}
