// Batch-norm recalibration: the running statistics a subnet needs are not the full network's
// (its layers see different inputs), so before any evaluation of an architecture the running
// statistics of the layers it uses are re-estimated on a fixed set of training images, as the
// cumulative average of the batch statistics (PyTorch's momentum=None). The shared statistics
// are saved first and restored afterwards, so recalibrating for one subnet never disturbs the
// full network's.

public final class BatchNormCalibrator: @unchecked Sendable {
    public let loader: BatchLoader
    public let batches: Int
    private let pixels: FloatBuffer
    private var labels = [Int32]()

    /// Uses the first `images` images of `dataset` (no augmentation) in batches of `batchSize`.
    public init(dataset: ImageDataset, images: Int, batchSize: Int, normalization: Normalization) {
        let count = max(1, min(images, dataset.count))
        let subset = dataset.subset(Array(0..<count), name: dataset.name + "-calibration")
        loader = BatchLoader.evaluation(dataset: subset, batchSize: max(2, min(batchSize, count)), normalization: normalization)
        batches = loader.evaluationBatchCount
        pixels = FloatBuffer(count: loader.batchElementCount)
    }

    public var imageCount: Int { loader.dataset.count }

    /// Re-estimates the running statistics for `subnet` (nil: the full network).
    public func recalibrate(_ model: ResNet, subnet: SubnetSelection?) {
        for s in model.stateBuffers {
            s.value.pointer.update(repeating: s.name.hasSuffix("running_var") ? 1 : 0, count: s.value.count)
        }
        let layers = model.batchNormLayers
        let saved = layers.map { $0.options.momentum }
        defer { for (l, m) in zip(layers, saved) { l.options.momentum = m } }
        for b in 0..<batches {
            // Batch b enters with weight 1/(b+1): the running value is the mean of the batch values.
            for l in layers { l.options.momentum = 1 / Float(b + 1) }
            let n = loader.fillEvaluationBatch(batch: b, pixels: pixels.pointer, labels: &labels)
            if n < 2 { continue }
            model.forward(pixels.pointer, batch: n, mode: .train(updateRunningStats: true), subnet: subnet)
        }
    }

    /// Runs `body` with statistics recalibrated for `subnet`, then restores the previous ones.
    public func withRecalibrated<T>(_ model: ResNet, subnet: SubnetSelection?, _ body: () throws -> T) rethrows -> T {
        let snapshot = model.stateBuffers.map { $0.value.array }
        defer {
            for (s, values) in zip(model.stateBuffers, snapshot) {
                values.withUnsafeBufferPointer { s.value.pointer.update(from: $0.baseAddress!, count: values.count) }
            }
        }
        recalibrate(model, subnet: subnet)
        return try body()
    }
}
