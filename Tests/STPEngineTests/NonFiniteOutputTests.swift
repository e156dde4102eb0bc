import Foundation
import STPTestSupport
import Testing
@testable import STPEngine

// A network whose outputs overflow or are NaN once reported "loss 0.0000" (a row of equal logits
// of -6e31: -6e31 - log(10) is -6e31 in Double, so the loss cancelled to 0), and `--json` failed
// to encode a NaN. Losses are now exact for huge logits, NaN for non-finite ones, and reported so.

@Test func hugeEqualLogitsGiveLogKAndNonFiniteLogitsGiveNaN() {
    let labels: [Int32] = [0, 1]
    let huge = [Float](repeating: -6e31, count: 2 * 10)
    let loss = labels.withUnsafeBufferPointer { lp in huge.withUnsafeBufferPointer { zp in
        crossEntropyForwardBackward(logits: zp.baseAddress!, labels: lp.baseAddress!, batch: 2, classes: 10, dlogits: nil)
    } }
    #expect(abs(Double(loss) - log(10.0)) < 1e-6, "equal logits, however large: the loss of a uniform guess (\(loss))")
    let kl = huge.withUnsafeBufferPointer { zp in
        klDivergenceForwardBackward(teacher: zp.baseAddress!, student: zp.baseAddress!, batch: 2, classes: 10, dstudent: nil)
    }
    #expect(kl == 0)
    for bad in [Float.nan, .infinity, -.infinity] {
        var z = [Float](repeating: 0.5, count: 2 * 10)
        z[13] = bad
        let l = labels.withUnsafeBufferPointer { lp in z.withUnsafeBufferPointer { zp in
            crossEntropyForwardBackward(logits: zp.baseAddress!, labels: lp.baseAddress!, batch: 2, classes: 10, dlogits: nil)
        } }
        #expect(l.isNaN, "a logit of \(bad) makes the loss NaN, not a number that looks fine (\(l))")
        let d = z.withUnsafeBufferPointer { zp in huge.withUnsafeBufferPointer { tp in
            klDivergenceForwardBackward(teacher: tp.baseAddress!, student: zp.baseAddress!, batch: 2, classes: 10, dstudent: nil)
        } }
        #expect(d.isNaN)
    }
}

@Test func aNonFiniteLossIsReportedAsSuchInTextAndJSON() throws {
    let broken = EvaluationResult(loss: .nan, top1: 0, top5: 0, count: 10)
    #expect(broken.lossText == "nan (the network produces non-finite outputs)")
    #expect(EvaluationResult(loss: .infinity, top1: 0, top5: 0, count: 1).lossText.hasPrefix("inf (the network produces non-finite outputs)"))
    #expect(EvaluationResult(loss: 2.302585, top1: 0.1, top5: 0.5, count: 1).lossText == "2.3026")
    let json = String(decoding: try ReportJSON.encoder().encode(broken), as: UTF8.self)
    #expect(json.contains(#""loss":"nan""#), "\(json)")
}

@Test func evaluatingANetworkWithOverflowingLogitsDoesNotReportZeroLoss() throws {
    let data = try DataSource(parsing: "builtin:seed=2,train=8,test=16").load()
    let model = ResNet(spec: try ResNetSpec.named("resnet20"))
    let fc = model.fc.weight.pointer
    for i in 0..<model.fc.weight.count { fc[i] = -1e30 }
    let loader = BatchLoader.evaluation(dataset: data.test, batchSize: 8, normalization: Normalization.compute(from: data.train))
    let result = evaluate(model, loader: loader)
    #expect(result.loss.isNaN || result.loss >= log(10.0) - 1e-6, "overflowing logits lose at least a uniform guess's loss, not 0 (\(result.loss))")
    for i in 0..<model.fc.weight.count { fc[i] = .nan }
    #expect(evaluate(model, loader: loader).loss.isNaN)
    #expect(evaluate(model, loader: loader).top1 == 0)
}
