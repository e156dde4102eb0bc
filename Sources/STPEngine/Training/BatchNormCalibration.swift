// Batch-norm recalibration: the running statistics a subnet needs are not the full network's
// (its layers see different inputs), so before any evaluation of an architecture the running
// statistics of the layers it uses are re-estimated on a fixed set of training images, as the
// cumulative average of the batch statistics (PyTorch's momentum=None). The shared statistics
// are saved first and restored afterwards, so recalibrating for one subnet never disturbs the
// full network's.
//
// The images are augmented as in training (random crop and flip), with one fixed draw so that
// every recalibration sees the same batches and candidates are compared on equal terms. A
// network's weights expect the statistics of the inputs it was trained on: recalibrating the
// trained ResNet-20 of ../shared/models on 2,000 plain training images took its CIFAR-10 test
// top-1 from 91.73% to 88.81% (PyTorch gives 88.82% for the same procedure), on augmented ones
// it stays at 91.77% (PyTorch; docs/TRAINING.md).

public final class BatchNormCalibrator: @unchecked Sendable {
    public let loader: BatchLoader
    public let batches: Int
    private let pixels: FloatBuffer
    private var labels = [Int32]()

    /// The fixed seed of the calibration batches' augmentation.
    static let augmentationSeed: UInt64 = 0xB47C_4A11

    /// Uses the first `images` images of `dataset` in batches of `batchSize`, augmented as in
    /// training (`augmentation`, one fixed draw).
    public init(dataset: ImageDataset, images: Int, batchSize: Int, normalization: Normalization,
                augmentation: Augmentation = .standard) {
        let count = max(1, min(images, dataset.count))
        let subset = dataset.subset(Array(0..<count), name: dataset.name + "-calibration")
        loader = BatchLoader(dataset: subset, batchSize: max(2, min(batchSize, count)), normalization: normalization,
                             augmentation: augmentation, seed: Self.augmentationSeed, shuffle: false, dropLast: false)
        batches = loader.batchesPerEpoch
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
        // A network whose batch statistics are shared by the ranks of a job: each rank runs its
        // slice of every batch and the statistics are the whole batch's, as in training.
        let sync = model.batchStatisticsSync
        let imageElements = loader.dataset.inputImageSize
        for b in 0..<batches {
            // Batch b enters with weight 1/(b+1): the running value is the mean of the batch values.
            for l in layers { l.options.momentum = 1 / Float(b + 1) }
            let n = loader.fillTrainingBatch(epoch: 0, batch: b, pixels: pixels.pointer, labels: &labels)
            if n < 2 * (sync?.size ?? 1) { continue }   // every rank needs rows (the same decision on all)
            let mine = sync?.share(of: n) ?? 0..<n
            model.forward(pixels.pointer + mine.lowerBound * imageElements, batch: mine.count,
                          mode: .train(updateRunningStats: true), subnet: subnet)
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
