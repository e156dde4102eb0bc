// Loss and top-1/top-5 accuracy of a network (or one of its subnets) on a whole data set, with
// BN in eval mode and no gradient.

public struct EvaluationResult: Codable, Sendable, Equatable {
    public var loss: Double
    public var top1: Double
    public var top5: Double
    public var count: Int
}

/// With a distributed `communicator`, each rank evaluates every size-th batch and the sums are
/// combined, so every rank returns the whole data set's figures.
public func evaluate(_ model: ResNet, loader: BatchLoader, subnet: SubnetSelection? = nil,
                     communicator: any Communicator = SingleProcess()) -> EvaluationResult {
    let classes = model.spec.classes
    let pixels = FloatBuffer(count: loader.batchElementCount)
    var labels = [Int32]()
    var lossSum = 0.0, correct1 = 0, correct5 = 0, seen = 0
    for b in stride(from: communicator.rank, to: loader.evaluationBatchCount, by: communicator.size) {
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
    if communicator.isDistributed {
        var sums = [lossSum, Double(correct1), Double(correct5), Double(seen)]
        communicator.allreduceSum(&sums)
        lossSum = sums[0]; correct1 = Int(sums[1]); correct5 = Int(sums[2]); seen = Int(sums[3])
    }
    let total = Double(max(seen, 1))
    return EvaluationResult(loss: lossSum / total, top1: Double(correct1) / total, top5: Double(correct5) / total, count: seen)
}
