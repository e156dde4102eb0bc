// The training input pipeline: per-channel normalisation, random crop and flip, and a seeded
// per-epoch shuffle, filling caller-owned NHWC Float batches.
//
// Two kinds of crop. A data set stored at the network's input size (CIFAR, MNIST, built-in) is
// padded with black and cropped back to its size. A data set stored with a margin
// (`ImageDataset.cropSize`, image folders) has a cropSize window cut out of each image: a random
// one in training, the centred one in evaluation.
//
// Everything random is a pure function of (seed, epoch, batch): the order of epoch e comes from
// a generator seeded by (seed, e) alone, and the augmentation of batch b of epoch e from one
// seeded by (seed, e, b). A resumed run therefore sees exactly the batches it would have seen.

import Foundation

/// Per-channel mean and standard deviation of pixel values scaled to 0...1; a pixel byte p of
/// channel c becomes (p / 255 - mean[c]) / std[c].
public struct Normalization: Codable, Sendable, Equatable {
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count, "mean and std need one value per channel")
        precondition(std.allSatisfy { $0 > 0 }, "standard deviations must be positive")
        self.mean = mean
        self.std = std
    }

    public var channels: Int { mean.count }

    /// Statistics of every pixel of `dataset` (exact, from per-channel byte histograms).
    public static func compute(from dataset: ImageDataset) -> Normalization {
        let c = dataset.channels
        var histogram = [Int](repeating: 0, count: c * 256)
        dataset.pixels.withUnsafeBufferPointer { px in
            histogram.withUnsafeMutableBufferPointer { h in
                var ch = 0
                for b in px {
                    h[ch * 256 + Int(b)] += 1
                    ch += 1
                    if ch == c { ch = 0 }
                }
            }
        }
        var mean = [Float](), std = [Float]()
        for ch in 0..<c {
            var n = 0.0, sum = 0.0, sumSq = 0.0
            for v in 0..<256 {
                let k = Double(histogram[ch * 256 + v])
                let x = Double(v) / 255
                n += k
                sum += k * x
                sumSq += k * x * x
            }
            let m = n > 0 ? sum / n : 0
            let variance = n > 0 ? max(sumSq / n - m * m, 0) : 1
            mean.append(Float(m))
            std.append(Float(max(variance.squareRoot(), 1e-3)))
        }
        return Normalization(mean: mean, std: std)
    }

    /// Multiplier per channel applied to the raw byte.
    public var scale: [Float] { std.map { 1 / (255 * $0) } }
    /// Added per channel after scaling; also the normalised value of a black (0) pixel.
    public var offset: [Float] { zip(mean, std).map { -$0 / $1 } }
}

/// Training-time augmentation. Crop: pad `cropPadding` black pixels on every side and take a
/// random crop of the original size (0 turns it off); for a data set stored with a margin around
/// its crop size the random window ranges over the whole stored image instead (the margin does
/// the padding's work) and `cropPadding` only turns it on (> 0) or off (0: the centred window).
/// Flip: mirror left-right with probability 1/2.
public struct Augmentation: Codable, Sendable, Equatable {
    public var cropPadding: Int
    public var horizontalFlip: Bool

    public init(cropPadding: Int = 4, horizontalFlip: Bool = true) {
        precondition(cropPadding >= 0, "crop padding must not be negative")
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
    }

    public static let standard = Augmentation()
    public static let none = Augmentation(cropPadding: 0, horizontalFlip: false)
    public var isIdentity: Bool { cropPadding == 0 && !horizontalFlip }
}

/// Fills batches of one data set. Thread-safe: the cached epoch order is behind a lock, so a
/// prefetching thread may fill the next batch while the current one trains.
public final class BatchLoader: @unchecked Sendable {
    public let dataset: ImageDataset
    public let batchSize: Int
    public let normalization: Normalization
    public let augmentation: Augmentation
    public let seed: UInt64
    public let shuffle: Bool
    public let dropLast: Bool

    private let scale: [Float]
    private let offset: [Float]
    private let lock = NSLock()
    private var cachedEpoch: Int?
    private var cachedOrder: [Int] = []

    /// `normalization` defaults to the statistics of `dataset`; pass the training set's
    /// statistics when loading a test set.
    public init(dataset: ImageDataset, batchSize: Int, normalization: Normalization? = nil,
                augmentation: Augmentation = .standard, seed: UInt64 = 0, shuffle: Bool = true, dropLast: Bool = true) {
        precondition(batchSize > 0, "batch size must be positive")
        let norm = normalization ?? Normalization.compute(from: dataset)
        precondition(norm.channels == dataset.channels,
                     "normalisation has \(norm.channels) channels, data set \(dataset.channels)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.normalization = norm
        self.augmentation = augmentation
        self.seed = seed
        self.shuffle = shuffle
        self.dropLast = dropLast
        scale = norm.scale
        offset = norm.offset
    }

    /// An evaluation loader: data-set order, no augmentation, a final partial batch.
    public static func evaluation(dataset: ImageDataset, batchSize: Int, normalization: Normalization) -> BatchLoader {
        BatchLoader(dataset: dataset, batchSize: batchSize, normalization: normalization,
                    augmentation: .none, shuffle: false, dropLast: false)
    }

    /// Floats in one full batch (batchSize * inputHeight * inputWidth * channels).
    public var batchElementCount: Int { batchSize * dataset.inputImageSize }

    public var batchesPerEpoch: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// Batches for `fillEvaluationBatch`: every image once, the last batch possibly partial.
    public var evaluationBatchCount: Int { (dataset.count + batchSize - 1) / batchSize }

    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var z = a ^ (b &* 0x9E37_79B9_7F4A_7C15 &+ 0x632B_E59B_D9B4_E019)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The image order of `epoch`: a permutation that depends only on (seed, epoch).
    public func order(epoch: Int) -> [Int] {
        lock.lock()
        defer { lock.unlock() }
        if cachedEpoch == epoch { return cachedOrder }
        var order = Array(0..<dataset.count)
        if shuffle {
            var rng = SeededRandom(seed: BatchLoader.mix(seed, UInt64(bitPattern: Int64(epoch))))
            var i = order.count - 1
            while i > 0 {
                let j = Int(rng.next() % UInt64(i + 1))
                order.swapAt(i, j)
                i -= 1
            }
        }
        cachedEpoch = epoch
        cachedOrder = order
        return order
    }

    /// Fills batch `batch` of `epoch` (augmented, shuffled) into `pixels` (at least
    /// `batchElementCount` floats, NHWC) and `labels`; returns the number of images, which is
    /// `batchSize` except for a final partial batch when `dropLast` is off.
    @discardableResult
    public func fillTrainingBatch(epoch: Int, batch: Int, pixels: UnsafeMutablePointer<Float>,
                                  labels: inout [Int32]) -> Int {
        precondition(batch >= 0 && batch < batchesPerEpoch, "batch \(batch) outside 0..<\(batchesPerEpoch)")
        let order = self.order(epoch: epoch)
        let start = batch * batchSize
        let count = min(batchSize, dataset.count - start)
        var rng = SeededRandom(seed: BatchLoader.mix(BatchLoader.mix(seed ^ 0xA5A5_5A5A_C3C3_3C3C, UInt64(bitPattern: Int64(epoch))),
                                                     UInt64(batch)))
        labels.removeAll(keepingCapacity: true)
        if let crop = dataset.cropSize {
            fillTrainingWindows(crop: crop, images: order[start..<(start + count)], rng: &rng, pixels: pixels, labels: &labels)
            return count
        }
        let pad = augmentation.cropPadding
        for k in 0..<count {
            let index = order[start + k]
            var dx = pad, dy = pad
            if pad > 0 {
                dx = Int(rng.next() % UInt64(2 * pad + 1))
                dy = Int(rng.next() % UInt64(2 * pad + 1))
            }
            let flip = augmentation.horizontalFlip && (rng.next() >> 63) == 1
            writeImage(index, into: pixels + k * dataset.imageSize, shiftX: dx - pad, shiftY: dy - pad, flip: flip)
            labels.append(dataset.labels[index])
        }
        return count
    }

    /// The training windows of a data set stored with a margin: a random crop x crop window
    /// anywhere in the stored image (the centred one when cropping is off), then the flip.
    private func fillTrainingWindows(crop: Int, images: ArraySlice<Int>, rng: inout SeededRandom,
                                     pixels: UnsafeMutablePointer<Float>, labels: inout [Int32]) {
        let marginX = dataset.width - crop, marginY = dataset.height - crop
        for (k, index) in images.enumerated() {
            var x0 = marginX / 2, y0 = marginY / 2
            if augmentation.cropPadding > 0 {
                x0 = Int(rng.next() % UInt64(marginX + 1))
                y0 = Int(rng.next() % UInt64(marginY + 1))
            }
            let flip = augmentation.horizontalFlip && (rng.next() >> 63) == 1
            writeWindow(index, into: pixels + k * dataset.inputImageSize, originX: x0, originY: y0, flip: flip)
            labels.append(dataset.labels[index])
        }
    }

    /// Fills evaluation batch `batch`: images in data-set order, no augmentation (the centred
    /// window of a data set stored with a margin).
    @discardableResult
    public func fillEvaluationBatch(batch: Int, pixels: UnsafeMutablePointer<Float>, labels: inout [Int32]) -> Int {
        precondition(batch >= 0 && batch < evaluationBatchCount, "batch \(batch) outside 0..<\(evaluationBatchCount)")
        let start = batch * batchSize
        let count = min(batchSize, dataset.count - start)
        labels.removeAll(keepingCapacity: true)
        for k in 0..<count {
            if let crop = dataset.cropSize {
                writeWindow(start + k, into: pixels + k * dataset.inputImageSize,
                            originX: (dataset.width - crop) / 2, originY: (dataset.height - crop) / 2, flip: false)
            } else {
                writeImage(start + k, into: pixels + k * dataset.imageSize, shiftX: 0, shiftY: 0, flip: false)
            }
            labels.append(dataset.labels[start + k])
        }
        return count
    }

    /// out[y][x] = normalised source[originY + y][originX + (flip ? crop-1-x : x)] for the
    /// crop x crop window, which lies inside the stored image.
    @inline(__always)
    private func writeWindow(_ index: Int, into out: UnsafeMutablePointer<Float>, originX: Int, originY: Int, flip: Bool) {
        let w = dataset.width, c = dataset.channels
        let crop = dataset.cropSize!
        dataset.pixels.withUnsafeBufferPointer { px in
            scale.withUnsafeBufferPointer { sc in
                offset.withUnsafeBufferPointer { of in
                    let src = px.baseAddress! + index * dataset.imageSize
                    for y in 0..<crop {
                        let row = out + y * crop * c
                        let srcRow = src + ((originY + y) * w + originX) * c
                        for x in 0..<crop {
                            let s = srcRow + (flip ? crop - 1 - x : x) * c
                            let o = row + x * c
                            for ch in 0..<c { o[ch] = Float(s[ch]) * sc[ch] + of[ch] }
                        }
                    }
                }
            }
        }
    }

    /// out[y][x] = normalised source[y + shiftY][(flip ? W-1-x : x) + shiftX], black outside.
    @inline(__always)
    private func writeImage(_ index: Int, into out: UnsafeMutablePointer<Float>, shiftX: Int, shiftY: Int, flip: Bool) {
        let h = dataset.height, w = dataset.width, c = dataset.channels
        dataset.pixels.withUnsafeBufferPointer { px in
            scale.withUnsafeBufferPointer { sc in
                offset.withUnsafeBufferPointer { of in
                    let src = px.baseAddress! + index * h * w * c
                    if shiftX == 0 && shiftY == 0 && !flip {
                        var i = 0
                        for _ in 0..<(h * w) {
                            for ch in 0..<c { out[i + ch] = Float(src[i + ch]) * sc[ch] + of[ch] }
                            i += c
                        }
                        return
                    }
                    for y in 0..<h {
                        let row = out + y * w * c
                        let sy = y + shiftY
                        if sy < 0 || sy >= h {
                            for x in 0..<w { for ch in 0..<c { row[x * c + ch] = of[ch] } }
                            continue
                        }
                        let srcRow = src + sy * w * c
                        for x in 0..<w {
                            let sx = (flip ? w - 1 - x : x) + shiftX
                            let o = row + x * c
                            if sx < 0 || sx >= w {
                                for ch in 0..<c { o[ch] = of[ch] }
                            } else {
                                let s = srcRow + sx * c
                                for ch in 0..<c { o[ch] = Float(s[ch]) * sc[ch] + of[ch] }
                            }
                        }
                    }
                }
            }
        }
    }
}
