import Foundation
import Testing
@testable import STPEngine

@Suite struct DataBuiltinShapesTests {
    @Test func deterministicForASeedAndDifferentAcrossSeeds() {
        let a = BuiltinShapes.generate(trainCount: 150, testCount: 40, seed: 7)
        let b = BuiltinShapes.generate(trainCount: 150, testCount: 40, seed: 7)
        let c = BuiltinShapes.generate(trainCount: 150, testCount: 40, seed: 8)
        #expect(a.train.pixels == b.train.pixels)
        #expect(a.test.pixels == b.test.pixels)
        #expect(a.train.labels == b.train.labels)
        #expect(a.train.pixels != c.train.pixels)
        #expect(a.test.pixels != c.test.pixels)
        // Train and test are independent streams: no test image repeats a train image.
        let size = a.train.imageSize
        let trainImages = Set((0..<a.train.count).map { a.train.pixels[($0 * size)..<(($0 + 1) * size)] })
        for i in 0..<a.test.count {
            #expect(!trainImages.contains(a.test.pixels[(i * size)..<((i + 1) * size)]))
        }
    }

    @Test func imagesDoNotDependOnSplitSizeOrChunking() {
        let small = BuiltinShapes.generate(trainCount: 70, testCount: 3, seed: 3)
        let large = BuiltinShapes.generate(trainCount: 140, testCount: 9, seed: 3)
        #expect(Array(large.train.pixels.prefix(small.train.pixels.count)) == small.train.pixels)
        #expect(Array(large.test.pixels.prefix(small.test.pixels.count)) == small.test.pixels)
    }

    @Test func shapeAndClassesAreBalanced() {
        let s = BuiltinShapes.generate(trainCount: 103, testCount: 20, seed: 1)
        #expect(s.train.classNames == ["circle", "square", "triangle", "cross", "ring", "star",
                                       "stripes-horizontal", "stripes-vertical", "checker", "ellipse"])
        #expect((s.train.height, s.train.width, s.train.channels) == (32, 32, 3))
        #expect(s.train.count == 103 && s.test.count == 20)
        var counts = [Int](repeating: 0, count: 10)
        for l in s.train.labels { counts[Int(l)] += 1 }
        #expect(counts.max()! - counts.min()! <= 1)
        #expect(counts.reduce(0, +) == 103)
        // Images use the byte range and are not flat.
        let px = s.train.pixels
        #expect(px.min()! < 30 && px.max()! > 225)
    }

    @Test func meanColourDoesNotPredictTheClass() {
        // Nearest class mean on the average RGB of an image should be near chance (10%).
        let s = BuiltinShapes.generate(trainCount: 600, testCount: 300, seed: 11)
        func meanRGB(_ d: ImageDataset, _ i: Int) -> [Float] {
            var m: [Float] = [0, 0, 0]
            for p in 0..<1024 { for c in 0..<3 { m[c] += Float(d.pixels[i * 3072 + p * 3 + c]) } }
            return m.map { $0 / 1024 }
        }
        var centroids = [[Float]](repeating: [0, 0, 0], count: 10)
        for i in 0..<s.train.count {
            let m = meanRGB(s.train, i)
            for c in 0..<3 { centroids[Int(s.train.labels[i])][c] += m[c] / 60 }
        }
        var correct = 0
        for i in 0..<s.test.count {
            let m = meanRGB(s.test, i)
            let guess = (0..<10).min { a, b in
                zip(centroids[a], m).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
                    < zip(centroids[b], m).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
            }!
            if guess == Int(s.test.labels[i]) { correct += 1 }
        }
        #expect(Double(correct) / Double(s.test.count) < 0.2)
    }
}
