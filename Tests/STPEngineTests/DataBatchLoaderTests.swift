import Foundation
import Testing
@testable import STPEngine

/// A small data set with random pixels: `count` images of h x w x c, label = index % 3.
private func randomDataset(count: Int, h: Int = 6, w: Int = 5, c: Int = 3, seed: UInt64 = 1) -> ImageDataset {
    var rng = SeededRandom(seed: seed)
    let px = (0..<(count * h * w * c)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    return ImageDataset(name: "t", height: h, width: w, channels: c, classNames: ["a", "b", "c"],
                        pixels: px, labels: (0..<count).map { Int32($0 % 3) })
}

private func fill(_ loader: BatchLoader, epoch: Int, batch: Int) -> ([Float], [Int32]) {
    var buf = [Float](repeating: .nan, count: loader.batchElementCount)
    var labels = [Int32]()
    let n = buf.withUnsafeMutableBufferPointer { loader.fillTrainingBatch(epoch: epoch, batch: batch, pixels: $0.baseAddress!, labels: &labels) }
    return (Array(buf.prefix(n * loader.dataset.imageSize)), labels)
}

@Suite struct DataBatchLoaderTests {
    @Test func normalisationStatisticsAndCodable() throws {
        // Channel 0 alternates 0 and 255, channel 1 is constant 51, channel 2 is 0...255.
        var px = [UInt8]()
        for i in 0..<256 { px += [i % 2 == 0 ? 0 : 255, 51, UInt8(i)] }
        let ds = ImageDataset(name: "n", height: 16, width: 16, channels: 3, classNames: ["x"],
                              pixels: px, labels: [0])
        let n = Normalization.compute(from: ds)
        #expect(abs(n.mean[0] - 0.5) < 1e-6 && abs(n.std[0] - 0.5) < 1e-6)
        #expect(abs(n.mean[1] - 0.2) < 1e-6 && n.std[1] == 1e-3)  // constant channel: std floored
        let m2: Float = 127.5 / 255
        let s2 = Float(((0..<256).map { pow(Double($0) / 255 - Double(m2), 2) }.reduce(0, +) / 256).squareRoot())
        #expect(abs(n.mean[2] - m2) < 1e-6 && abs(n.std[2] - s2) < 1e-5)
        let decoded = try JSONDecoder().decode(Normalization.self, from: JSONEncoder().encode(n))
        #expect(decoded == n)
    }

    @Test func normalisedEvaluationBatchesHaveZeroMeanUnitStd() {
        let ds = randomDataset(count: 40, h: 8, w: 8)
        let loader = BatchLoader.evaluation(dataset: ds, batchSize: 16, normalization: .compute(from: ds))
        #expect(loader.evaluationBatchCount == 3)
        var all = [Float]()
        var allLabels = [Int32]()
        var buf = [Float](repeating: 0, count: loader.batchElementCount)
        var labels = [Int32]()
        for b in 0..<loader.evaluationBatchCount {
            let n = buf.withUnsafeMutableBufferPointer { loader.fillEvaluationBatch(batch: b, pixels: $0.baseAddress!, labels: &labels) }
            #expect(n == (b < 2 ? 16 : 8))
            all += buf.prefix(n * ds.imageSize)
            allLabels += labels
        }
        #expect(allLabels == ds.labels)
        for c in 0..<3 {
            let v = stride(from: c, to: all.count, by: 3).map { Double(all[$0]) }
            let mean = v.reduce(0, +) / Double(v.count)
            let std = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot()
            #expect(abs(mean) < 1e-4 && abs(std - 1) < 1e-4)
        }
        // Values are exactly (byte / 255 - mean) / std, in data-set order.
        let norm = loader.normalization
        for i in [0, 7, 100, all.count - 1] {
            let expected = (Float(ds.pixels[i]) / 255 - norm.mean[i % 3]) / norm.std[i % 3]
            #expect(abs(all[i] - expected) < 1e-4)
        }
    }

    @Test func shuffleIsReproducibleFromSeedAndEpochAlone() {
        let ds = randomDataset(count: 50)
        let a = BatchLoader(dataset: ds, batchSize: 8, seed: 42)
        let b = BatchLoader(dataset: ds, batchSize: 8, seed: 42)
        let c = BatchLoader(dataset: ds, batchSize: 8, seed: 43)
        #expect(a.order(epoch: 3).sorted() == Array(0..<50))
        #expect(a.order(epoch: 0) != a.order(epoch: 1))
        #expect(a.order(epoch: 0) != c.order(epoch: 0))
        // A "resumed" loader asked for epoch 5 directly sees the same batches as one that ran
        // through the earlier epochs.
        for e in 0..<5 { _ = fill(a, epoch: e, batch: 0) }
        for batch in [0, 3, 5] {
            let (pa, la) = fill(a, epoch: 5, batch: batch)
            let (pb, lb) = fill(b, epoch: 5, batch: batch)
            #expect(pa == pb)
            #expect(la == lb)
        }
        #expect(fill(a, epoch: 5, batch: 0).0 != fill(c, epoch: 5, batch: 0).0)
        // Labels follow the shuffled order.
        let order = a.order(epoch: 2)
        #expect(fill(a, epoch: 2, batch: 1).1 == order[8..<16].map { ds.labels[$0] })
    }

    @Test func dropLastAndPartialBatches() {
        let ds = randomDataset(count: 10)
        let drop = BatchLoader(dataset: ds, batchSize: 4, seed: 1)
        let keep = BatchLoader(dataset: ds, batchSize: 4, seed: 1, dropLast: false)
        #expect(drop.batchesPerEpoch == 2)
        #expect(keep.batchesPerEpoch == 3)
        #expect(fill(keep, epoch: 0, batch: 2).1.count == 2)
        #expect(fill(drop, epoch: 0, batch: 1).1.count == 4)
    }

    /// The reference: a crop of the zero-padded image shifted by (sx, sy), optionally flipped.
    private func reference(_ ds: ImageDataset, _ index: Int, _ norm: Normalization, sx: Int, sy: Int, flip: Bool) -> [Float] {
        var out = [Float]()
        for y in 0..<ds.height {
            for x in 0..<ds.width {
                let srcX = (flip ? ds.width - 1 - x : x) + sx, srcY = y + sy
                for c in 0..<ds.channels {
                    let byte: Float = (srcX >= 0 && srcX < ds.width && srcY >= 0 && srcY < ds.height)
                        ? Float(ds.pixels[index * ds.imageSize + (srcY * ds.width + srcX) * ds.channels + c]) : 0
                    out.append((byte / 255 - norm.mean[c]) / norm.std[c])
                }
            }
        }
        return out
    }

    @Test func augmentationIsACropOfThePaddedImageAndFlip() {
        let ds = randomDataset(count: 24, h: 6, w: 5)
        let pad = 2
        let loader = BatchLoader(dataset: ds, batchSize: 8, augmentation: Augmentation(cropPadding: pad, horizontalFlip: true), seed: 9)
        var seenShifts = Set<[Int]>()
        var flips = 0
        for epoch in 0..<3 {
            for batch in 0..<loader.batchesPerEpoch {
                let (px, labels) = fill(loader, epoch: epoch, batch: batch)
                #expect(px.count == 8 * ds.imageSize)
                let order = loader.order(epoch: epoch)
                for k in 0..<labels.count {
                    let index = order[batch * 8 + k]
                    let image = Array(px[(k * ds.imageSize)..<((k + 1) * ds.imageSize)])
                    var match: [Int]?
                    search: for sy in -pad...pad {
                        for sx in -pad...pad {
                            for f in [false, true] where reference(ds, index, loader.normalization, sx: sx, sy: sy, flip: f)
                                .elementsEqual(image, by: { abs($0 - $1) < 1e-4 }) {
                                match = [sx, sy, f ? 1 : 0]
                                break search
                            }
                        }
                    }
                    #expect(match != nil, "epoch \(epoch) batch \(batch) image \(k) is not a padded crop/flip")
                    if let m = match {
                        seenShifts.insert([m[0], m[1]])
                        flips += m[2]
                    }
                }
            }
        }
        #expect(seenShifts.count > 8)   // 25 possible shifts over 72 draws
        #expect(flips > 10 && flips < 62)
    }

    @Test func augmentationSwitches() {
        let ds = randomDataset(count: 8, h: 4, w: 4)
        let norm = Normalization.compute(from: ds)
        let off = BatchLoader(dataset: ds, batchSize: 8, augmentation: .none, seed: 3)
        let (px, _) = fill(off, epoch: 0, batch: 0)
        let order = off.order(epoch: 0)
        for k in 0..<8 {
            #expect(Array(px[(k * 48)..<((k + 1) * 48)]).elementsEqual(
                reference(ds, order[k], norm, sx: 0, sy: 0, flip: false), by: { abs($0 - $1) < 1e-4 }))
        }
        let flipOnly = BatchLoader(dataset: ds, batchSize: 8, augmentation: Augmentation(cropPadding: 0, horizontalFlip: true), seed: 3)
        let (fp, _) = fill(flipOnly, epoch: 0, batch: 0)
        for k in 0..<8 {
            let img = Array(fp[(k * 48)..<((k + 1) * 48)])
            let index = flipOnly.order(epoch: 0)[k]
            let plain = reference(ds, index, norm, sx: 0, sy: 0, flip: false)
            let flipped = reference(ds, index, norm, sx: 0, sy: 0, flip: true)
            #expect(img.elementsEqual(plain, by: { abs($0 - $1) < 1e-4 }) || img.elementsEqual(flipped, by: { abs($0 - $1) < 1e-4 }))
        }
        let unshuffled = BatchLoader(dataset: ds, batchSize: 4, augmentation: .none, shuffle: false)
        #expect(fill(unshuffled, epoch: 7, batch: 1).1 == Array(ds.labels[4..<8]))
    }
}
