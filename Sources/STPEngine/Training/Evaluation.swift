// Loss and top-1/top-5 accuracy of a network (or one of its subnets) on a whole data set, with
// BN in eval mode and no gradient.

public struct EvaluationResult: Codable, Sendable, Equatable {
    public var loss: Double
    public var top1: Double
    public var top5: Double
    public var count: Int
}

public func evaluate(_ model: ResNet, loader: BatchLoader, subnet: SubnetSelection? = nil) -> EvaluationResult {
    let classes = model.spec.classes
    let pixels = FloatBuffer(count: loader.batchElementCount)
    var labels = [Int32]()
    var lossSum = 0.0, correct1 = 0, correct5 = 0, seen = 0
    for b in 0..<loader.evaluationBatchCount {
        let n = loader.fillEvaluationBatch(batch: b, pixels: pixels.pointer, labels: &labels)
        let z = model.forward(pixels.pointer, batch: n, mode: .eval, subnet: subnet)
        labels.withUnsafeBufferPointer { lp in
            lossSum += Double(crossEntropyForwardBackward(logits: z, labels: lp.baseAddress!, batch: n, classes: classes,
                                                          dlogits: nil)) * Double(n)
            correct1 += topKCorrect(logits: z, labels: lp.baseAddress!, batch: n, classes: classes, k: 1)
            correct5 += topKCorrect(logits: z, labels: lp.baseAddress!, batch: n, classes: classes, k: min(5, classes))
        }
        seen += n
    }
    let total = Double(max(seen, 1))
    return EvaluationResult(loss: lossSum / total, top1: Double(correct1) / total, top5: Double(correct5) / total, count: seen)
}
