// Pooling in NHWC.
//
//   global average:  x [N, H, W, C] -> y [N, C],  y[n, c] = mean over (h, w) of x[n, h, w, c]
//                    backward: dx[n, h, w, c] = dy[n, c] / (H * W)
//   max (k, stride, padding):  x [N, H, W, C] -> y [N, OH, OW, C], argmax saved as the flat
//                    input index of each output; backward scatters dy to those positions.

public func globalAvgPoolForward(x: UnsafePointer<Float>, batch: Int, pixels: Int, channels c: Int,
                                 y: UnsafeMutablePointer<Float>) {
    let scale = 1 / Float(pixels)
    for n in 0..<batch {
        let out = y + n * c
        out.update(repeating: 0, count: c)
        let image = x + n * pixels * c
        for p in 0..<pixels {
            let row = image + p * c
            for j in 0..<c { out[j] += row[j] }
        }
        for j in 0..<c { out[j] *= scale }
    }
}

public func globalAvgPoolBackward(dy: UnsafePointer<Float>, batch: Int, pixels: Int, channels c: Int,
                                  dx: UnsafeMutablePointer<Float>) {
    let scale = 1 / Float(pixels)
    parallelRows(batch * pixels) { r0, r1 in
        for r in r0..<r1 {
            let g = dy + (r / pixels) * c, row = dx + r * c
            for j in 0..<c { row[j] = g[j] * scale }
        }
    }
}

public struct MaxPoolGeometry: Equatable, Sendable {
    public var batch: Int, height: Int, width: Int, channels: Int, kernel: Int, stride: Int, padding: Int
    public init(batch: Int, height: Int, width: Int, channels: Int, kernel: Int, stride: Int, padding: Int) {
        self.batch = batch; self.height = height; self.width = width; self.channels = channels
        self.kernel = kernel; self.stride = stride; self.padding = padding
    }
    public var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    public var outputCount: Int { batch * outHeight * outWidth * channels }
}

/// `argmax` nil (eval mode: no backward will need it): a vectorised max over the window, eight
/// channels at a time; ResNet-50's stem pool took 3.6% of an inference pass with the argmax loop.
/// Its output rows (in training mode too) are split across the workers whenever there is more
/// than a little work (`sectionWorkers(parts:values:)`): through parallelRows, the stem pool of
/// ResNet-18 at batch 16 ran on one core (12% of the pass).
public func maxPoolForward(_ g: MaxPoolGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                           argmax: UnsafeMutablePointer<Int32>?) {
    let oh = g.outHeight, ow = g.outWidth, c = g.channels
    guard let argmax else {
        let cv = vectorPart(c), rows = g.batch * oh
        let workers = sectionWorkers(parts: rows, values: g.outputCount)
        parallelWorkers(workers) { wk in
            for r in splitRange(rows, parts: workers, wk) {
                let n = r / oh, oy = r % oh
                let y0 = max(0, oy * g.stride - g.padding), y1 = min(g.height, oy * g.stride - g.padding + g.kernel)
                for ox in 0..<ow {
                    let x0 = max(0, ox * g.stride - g.padding), x1 = min(g.width, ox * g.stride - g.padding + g.kernel)
                    let out = y + ((n * oh + oy) * ow + ox) * c
                    var j = 0
                    while j < cv {
                        var m = Float8(repeating: -.infinity)
                        for iy in y0..<y1 {
                            let row = x + ((n * g.height + iy) * g.width) * c + j
                            for ix in x0..<x1 {
                                let v = load8(row + ix * c)
                                m = m.replacing(with: v, where: v .> m)
                            }
                        }
                        store8(m, out + j)
                        j += 8
                    }
                    while j < c {
                        var m = -Float.infinity
                        for iy in y0..<y1 {
                            for ix in x0..<x1 { m = max(m, x[((n * g.height + iy) * g.width + ix) * c + j]) }
                        }
                        out[j] = m
                        j += 1
                    }
                }
            }
        }
        return
    }
    let rows = g.batch * oh
    let workers = sectionWorkers(parts: rows, values: g.outputCount)
    parallelWorkers(workers) { wk in
        for r in splitRange(rows, parts: workers, wk) {
            let n = r / oh, oy = r % oh
            for ox in 0..<ow {
                let o = ((n * oh + oy) * ow + ox) * c
                for j in 0..<c { y[o + j] = -Float.infinity; argmax[o + j] = -1 }
                for ky in 0..<g.kernel {
                    let iy = oy * g.stride - g.padding + ky
                    if iy < 0 || iy >= g.height { continue }
                    for kx in 0..<g.kernel {
                        let ix = ox * g.stride - g.padding + kx
                        if ix < 0 || ix >= g.width { continue }
                        let i = ((n * g.height + iy) * g.width + ix) * c
                        for j in 0..<c where x[i + j] > y[o + j] {
                            y[o + j] = x[i + j]
                            argmax[o + j] = Int32(i + j)
                        }
                    }
                }
            }
        }
    }
}

/// dx must be zeroed by the caller; gradients of overlapping windows add up. Split by image
/// across the workers: an output's argmax lies in its own image, so no two workers add to the
/// same element.
public func maxPoolBackward(_ g: MaxPoolGeometry, dy: UnsafePointer<Float>, argmax: UnsafePointer<Int32>,
                            dx: UnsafeMutablePointer<Float>) {
    let perImage = g.outHeight * g.outWidth * g.channels
    let workers = sectionWorkers(parts: g.batch, values: g.outputCount)
    parallelWorkers(workers) { wk in
        let images = splitRange(g.batch, parts: workers, wk)
        for o in (images.lowerBound * perImage)..<(images.upperBound * perImage) where argmax[o] >= 0 {
            dx[Int(argmax[o])] += dy[o]
        }
    }
}
