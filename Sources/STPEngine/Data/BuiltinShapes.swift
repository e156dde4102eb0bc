// The built-in procedural data set, the default everywhere: 10 classes of 32x32 RGB images in
// which the class is the kind of the main shape. Colour, position, scale and (except for the two
// stripe classes, whose orientation is the class) rotation are random and carry no information;
// smaller, fainter distractor shapes of other kinds, textured backgrounds with oriented gratings
// and per-pixel noise mean a classifier has to reason about shape, not colour or brightness.
//
// Image i of a split is drawn from its own generator seeded by (split seed, i), so the bytes
// do not depend on thread timing or chunking, and the train and test splits come from
// independent sub-streams of the user's seed.

import Dispatch
import Foundation

public enum BuiltinShapes {
    public enum Kind: Int, CaseIterable, Sendable {
        case circle, square, triangle, cross, ring, star, stripesHorizontal, stripesVertical, checker, ellipse

        public var name: String {
            switch self {
            case .circle: "circle"
            case .square: "square"
            case .triangle: "triangle"
            case .cross: "cross"
            case .ring: "ring"
            case .star: "star"
            case .stripesHorizontal: "stripes-horizontal"
            case .stripesVertical: "stripes-vertical"
            case .checker: "checker"
            case .ellipse: "ellipse"
            }
        }
    }

    public static let classNames = Kind.allCases.map(\.name)
    public static let side = 32

    /// `trainCount` and `testCount` images with labels cycling through the 10 classes (so the
    /// classes are balanced to within one image), deterministic for `seed`.
    public static func generate(trainCount: Int = 10_000, testCount: Int = 2_000, seed: UInt64 = 0) -> DataSplits {
        precondition(trainCount >= 0 && testCount >= 0, "image counts must not be negative")
        var master = SeededRandom(seed: seed)
        let trainSeed = master.next()
        let testSeed = master.next()
        return DataSplits(train: generateSplit(count: trainCount, streamSeed: trainSeed, name: "builtin-train"),
                          test: generateSplit(count: testCount, streamSeed: testSeed, name: "builtin-test"))
    }

    /// A well-mixed seed for image `index` of a stream (MurmurHash3's 64-bit finaliser), so
    /// neighbouring images get unrelated generators.
    static func imageSeed(_ streamSeed: UInt64, _ index: Int) -> UInt64 {
        var z = streamSeed ^ (UInt64(index) &* 0xD6E8_FEB8_6659_FD93)
        z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return z ^ (z >> 33)
    }

    static func generateSplit(count: Int, streamSeed: UInt64, name: String) -> ImageDataset {
        let imageBytes = side * side * 3
        var pixels = [UInt8](repeating: 0, count: count * imageBytes)
        let labels = (0..<count).map { Int32($0 % Kind.allCases.count) }
        let chunk = 64
        let chunks = (count + chunk - 1) / chunk
        pixels.withUnsafeMutableBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            let out = SendablePointer(base)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let canvas = UnsafeMutablePointer<Float>.allocate(capacity: imageBytes)
                defer { canvas.deallocate() }
                for i in (c * chunk)..<min(count, (c + 1) * chunk) {
                    var rng = SeededRandom(seed: imageSeed(streamSeed, i))
                    render(kind: Kind(rawValue: i % Kind.allCases.count)!, rng: &rng, canvas: canvas)
                    quantize(canvas, into: out.pointer + i * imageBytes, count: imageBytes)
                }
            }
        }
        return ImageDataset(name: name, height: side, width: side, channels: 3, classNames: classNames,
                            pixels: pixels, labels: labels)
    }

    struct SendablePointer: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<UInt8>
        init(_ p: UnsafeMutablePointer<UInt8>) { pointer = p }
    }

    static func quantize(_ canvas: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<UInt8>, count: Int) {
        for k in 0..<count {
            let v = canvas[k] * 255 + 0.5
            out[k] = v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v))
        }
    }

    // MARK: - Rendering

    struct Shape {
        var kind: Kind
        var cx: Float, cy: Float
        var radius: Float      // pixels per shape unit
        var cosA: Float, sinA: Float
        var frequency: Float   // stripes / checker cells per shape unit
        var colour: (Float, Float, Float)
        var alpha: Float
    }

    static func randomColour(_ rng: inout SeededRandom) -> (Float, Float, Float) {
        (rng.nextFloat(), rng.nextFloat(), rng.nextFloat())
    }

    static func distance(_ a: (Float, Float, Float), _ b: (Float, Float, Float)) -> Float {
        let d0 = a.0 - b.0, d1 = a.1 - b.1, d2 = a.2 - b.2
        return (d0 * d0 + d1 * d1 + d2 * d2).squareRoot()
    }

    static func randomShape(_ kind: Kind, radius: Float, alpha: Float, colour: (Float, Float, Float),
                            margin: Float, _ rng: inout SeededRandom) -> Shape {
        let span = Float(side) - 2 * margin
        let cx = margin + rng.nextFloat() * max(span, 0)
        let cy = margin + rng.nextFloat() * max(span, 0)
        let angle: Float
        switch kind {
        case .stripesHorizontal, .stripesVertical:
            angle = (rng.nextFloat() - 0.5) * 0.7  // within +-20 degrees: orientation is the class
        default:
            angle = rng.nextFloat() * 2 * Float.pi
        }
        return Shape(kind: kind, cx: cx, cy: cy, radius: radius, cosA: cosf(angle), sinA: sinf(angle),
                     frequency: 1.5 + rng.nextFloat() * 0.8, colour: colour, alpha: alpha)
    }

    /// Renders one image of class `kind` into `canvas` (32*32*3 floats in 0...1, NHWC).
    static func render(kind: Kind, rng: inout SeededRandom, canvas: UnsafeMutablePointer<Float>) {
        let n = side
        // Background: a base colour, tinted low-frequency value noise and, often, an oriented
        // grating at a random angle (so stripes alone do not give the stripe classes away).
        let background = randomColour(&rng)
        let tint = (rng.nextFloat() * 2 - 1, rng.nextFloat() * 2 - 1, rng.nextFloat() * 2 - 1)
        let noiseAmp = 0.06 + rng.nextFloat() * 0.22
        var grid = [Float](repeating: 0, count: 25)
        for k in 0..<25 { grid[k] = rng.nextFloat() * 2 - 1 }
        let gratingAmp: Float = rng.nextFloat() < 0.6 ? 0.03 + rng.nextFloat() * 0.1 : 0
        let gAngle = rng.nextFloat() * Float.pi
        let gFreq = 0.5 + rng.nextFloat() * 1.3
        let gx = cosf(gAngle) * gFreq, gy = sinf(gAngle) * gFreq, gPhase = rng.nextFloat() * 2 * Float.pi
        for y in 0..<n {
            let fy = Float(y) * 4 / Float(n - 1)
            let iy = min(Int(fy), 3), ty = fy - Float(iy)
            for x in 0..<n {
                let fx = Float(x) * 4 / Float(n - 1)
                let ix = min(Int(fx), 3), tx = fx - Float(ix)
                let top = grid[iy * 5 + ix] * (1 - tx) + grid[iy * 5 + ix + 1] * tx
                let bottom = grid[(iy + 1) * 5 + ix] * (1 - tx) + grid[(iy + 1) * 5 + ix + 1] * tx
                let v = (top * (1 - ty) + bottom * ty) * noiseAmp
                let g = gratingAmp == 0 ? 0 : gratingAmp * sinf(Float(x) * gx + Float(y) * gy + gPhase)
                let p = canvas + (y * n + x) * 3
                p[0] = background.0 + v * tint.0 + g
                p[1] = background.1 + v * tint.1 + g
                p[2] = background.2 + v * tint.2 + g
            }
        }

        // Distractors: 2-4 smaller, fainter shapes of other kinds; one may lie over the main shape.
        let distractorCount = 2 + Int(rng.next() % 3)
        var after: Shape?
        for d in 0..<distractorCount {
            var other = Kind(rawValue: Int(rng.next() % UInt64(Kind.allCases.count - 1)))!
            if other.rawValue >= kind.rawValue { other = Kind(rawValue: other.rawValue + 1)! }
            let shape = randomShape(other, radius: 2.5 + rng.nextFloat() * 3.5, alpha: 0.2 + rng.nextFloat() * 0.35,
                                    colour: randomColour(&rng), margin: 0, &rng)
            if d == 0 && rng.nextFloat() < 0.4 { after = shape } else { draw(shape, canvas) }
        }

        // The main shape: larger and clearly contrasting with the background.
        var colour = randomColour(&rng)
        var tries = 0
        while distance(colour, background) < 0.45 && tries < 8 {
            colour = randomColour(&rng)
            tries += 1
        }
        if distance(colour, background) < 0.45 {
            colour = (1 - background.0, 1 - background.1, 1 - background.2)
        }
        let radius = 7 + rng.nextFloat() * 6.5
        draw(randomShape(kind, radius: radius, alpha: 0.7 + rng.nextFloat() * 0.3, colour: colour,
                         margin: radius * 0.75, &rng), canvas)
        if let after { draw(after, canvas) }

        // Per-pixel noise, roughly Gaussian (sum of four uniforms from one 64-bit draw).
        let sigma = 0.015 + rng.nextFloat() * 0.06
        let scale = sigma * 3.4641016 / 65536  // sqrt(12/4) * sigma per 16-bit unit
        for k in 0..<(n * n * 3) {
            let r = rng.next()
            let sum = Float(r & 0xFFFF) + Float((r >> 16) & 0xFFFF) + Float((r >> 32) & 0xFFFF) + Float(r >> 48)
            canvas[k] += (sum - 2 * 65535) * scale
        }
    }

    /// Signed distance (in shape units; negative inside) from local point (u, v) to the shape.
    @inline(__always)
    static func signedDistance(_ kind: Kind, _ u: Float, _ v: Float, frequency f: Float) -> Float {
        switch kind {
        case .circle:
            return (u * u + v * v).squareRoot() - 0.85
        case .square:
            return max(abs(u), abs(v)) - 0.72
        case .triangle:
            return max(-v, 0.866 * u + 0.5 * v, -0.866 * u + 0.5 * v) - 0.5
        case .cross:
            let au = abs(u), av = abs(v)
            return min(max(au - 0.95, av - 0.28), max(au - 0.28, av - 0.95))
        case .ring:
            return abs((u * u + v * v).squareRoot() - 0.7) - 0.2
        case .star:
            let r = (u * u + v * v).squareRoot()
            var t = (atan2f(v, u) / (2 * Float.pi) + 1) * 5
            t -= floorf(t)
            let tip = abs(2 * t - 1)  // 1 at the points, 0 between them
            return (r - (0.4 + 0.6 * tip)) * 0.6
        case .stripesHorizontal, .stripesVertical:
            let region = max(abs(u), abs(v)) - 0.85
            let w = (kind == .stripesHorizontal ? v : u) * f
            let stripe = (abs(w - floorf(w) - 0.5) - 0.25) / f
            return max(region, stripe)
        case .checker:
            let region = max(abs(u), abs(v)) - 0.85
            let cu = u * f + 0.5, cv = v * f + 0.5
            let fu = cu - floorf(cu) - 0.5, fv = cv - floorf(cv) - 0.5
            let edge = min(0.5 - abs(fu), 0.5 - abs(fv)) / f
            let odd = (Int(floorf(cu)) + Int(floorf(cv))) & 1 == 1
            return max(region, odd ? edge : -edge)
        case .ellipse:
            let b: Float = 0.42
            let k = (u * u + (v / b) * (v / b)).squareRoot()
            return (k - 0.95) * b
        }
    }

    /// Alpha-blends an antialiased shape over the canvas, visiting only its bounding box.
    static func draw(_ s: Shape, _ canvas: UnsafeMutablePointer<Float>) {
        let extent = s.radius * 1.45 + 1
        let x0 = max(0, Int(s.cx - extent)), x1 = min(side - 1, Int(s.cx + extent))
        let y0 = max(0, Int(s.cy - extent)), y1 = min(side - 1, Int(s.cy + extent))
        guard x0 <= x1 && y0 <= y1 else { return }
        let inv = 1 / s.radius
        for y in y0...y1 {
            let dy = Float(y) + 0.5 - s.cy
            for x in x0...x1 {
                let dx = Float(x) + 0.5 - s.cx
                let u = (dx * s.cosA + dy * s.sinA) * inv
                let v = (-dx * s.sinA + dy * s.cosA) * inv
                let d = signedDistance(s.kind, u, v, frequency: s.frequency) * s.radius
                let coverage = min(max(0.5 - d, 0), 1)
                if coverage == 0 { continue }
                let a = coverage * s.alpha
                let p = canvas + (y * side + x) * 3
                p[0] += (s.colour.0 - p[0]) * a
                p[1] += (s.colour.1 - p[1]) * a
                p[2] += (s.colour.2 - p[2]) * a
            }
        }
    }
}
