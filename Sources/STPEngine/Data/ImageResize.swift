// Resizes a decoded image so that its shorter side has a given length, keeping the aspect
// ratio, and keeps the centred square: the stored form of every image of an image folder.
//
// The filter is bilinear with antialiasing, the triangle filter that Pillow's resize(BILINEAR)
// uses: when shrinking by a factor s the triangle is widened to s source pixels on each side, so
// every source pixel contributes (area-like averaging, no aliasing from skipped pixels); when
// enlarging it is plain bilinear interpolation. The filter is separable: rows first, then
// columns, in Float, rounded once at the end; weights are normalised, so a solid colour stays
// exactly that colour. Only the rows and columns of the kept square are computed.

enum ImageResize {
    /// The resized size whose shorter side is `side`: (width, height).
    static func resizedSize(width: Int, height: Int, shorterSide side: Int) -> (width: Int, height: Int) {
        if width <= height {
            return (side, max(side, Int((Double(height) * Double(side) / Double(width)).rounded())))
        }
        return (max(side, Int((Double(width) * Double(side) / Double(height)).rounded())), side)
    }

    /// Writes the centred side x side square of `image` resized to shorter side `side` into
    /// `out` (side * side * 3 bytes, RGB).
    static func shorterSideThenCentreSquare(_ image: RGBImage, side: Int, into out: UnsafeMutablePointer<UInt8>) {
        let resized = resizedSize(width: image.width, height: image.height, shorterSide: side)
        let x0 = (resized.width - side) / 2, y0 = (resized.height - side) / 2
        let columns = Taps(source: image.width, resized: resized.width, outputs: x0..<(x0 + side))
        let rows = Taps(source: image.height, resized: resized.height, outputs: y0..<(y0 + side))
        let firstRow = rows.first.min()!
        let rowCount = zip(rows.first, rows.count).map { $0 + $1 }.max()! - firstRow

        // Pass 1: every source row the kept rows need, filtered horizontally to `side` columns.
        let band = UnsafeMutablePointer<Float>.allocate(capacity: rowCount * side * 3)
        defer { band.deallocate() }
        columns.weights.withUnsafeBufferPointer { weights in
            for r in 0..<rowCount {
                let source = image.pixels + (firstRow + r) * image.width * 3
                let target = band + r * side * 3
                for x in 0..<side {
                    var red: Float = 0, green: Float = 0, blue: Float = 0
                    let tap = weights.baseAddress! + x * columns.stride
                    var pixel = source + columns.first[x] * 3
                    for k in 0..<columns.count[x] {
                        let w = tap[k]
                        red += w * Float(pixel[0])
                        green += w * Float(pixel[1])
                        blue += w * Float(pixel[2])
                        pixel += 3
                    }
                    target[x * 3] = red
                    target[x * 3 + 1] = green
                    target[x * 3 + 2] = blue
                }
            }
        }
        // Pass 2: vertically, rounded to bytes.
        rows.weights.withUnsafeBufferPointer { weights in
            for y in 0..<side {
                let tap = weights.baseAddress! + y * rows.stride
                let top = rows.first[y] - firstRow
                let target = out + y * side * 3
                for i in 0..<(side * 3) {
                    var sum: Float = 0
                    var value = band + top * side * 3 + i
                    for k in 0..<rows.count[y] {
                        sum += tap[k] * value.pointee
                        value += side * 3
                    }
                    target[i] = UInt8(min(max(sum + 0.5, 0), 255))
                }
            }
        }
    }

    /// The filter taps of one axis: output i (of `outputs`, in resized coordinates) is the sum
    /// over k < count[i] of weights[i * stride + k] * source[first[i] + k].
    struct Taps {
        var first: [Int] = []
        var count: [Int] = []
        var weights: [Float] = []
        let stride: Int

        init(source: Int, resized: Int, outputs: Range<Int>) {
            let scale = Double(source) / Double(resized)
            let filterScale = max(scale, 1)
            let support = filterScale   // the triangle reaches 1 output pixel, filterScale source pixels
            stride = Int(support.rounded(.up)) * 2 + 1
            weights = [Float](repeating: 0, count: outputs.count * stride)
            for (i, o) in outputs.enumerated() {
                let centre = (Double(o) + 0.5) * scale
                let low = max(0, Int(centre - support + 0.5))
                let high = min(source, Int(centre + support + 0.5))
                var taps = [Double]()
                for s in low..<high {
                    taps.append(max(0, 1 - abs((Double(s) - centre + 0.5) / filterScale)))
                }
                let total = taps.reduce(0, +)
                first.append(low)
                count.append(taps.count)
                for (k, t) in taps.enumerated() { weights[i * stride + k] = Float(total > 0 ? t / total : 1 / Double(taps.count)) }
            }
        }
    }
}
