// Residual connections: the identity add and the parameter-free "option A" shortcut of the CIFAR
// ResNets, which subsamples every second pixel and pads channels with zeros on both sides.
//
//   add:       y [count] = a + b;                       backward: da += dy, db += dy
//   zero-pad:  x [N, H, W, Cin] -> y [N, OH, OW, Cout]  OH = ceil(H / stride), Cout >= Cin
//              y[n, oy, ox, padLow + c] = x[n, oy*stride, ox*stride, c], zeros elsewhere,
//              padLow = (Cout - Cin) / 2
//   backward:  dx[n, oy*stride, ox*stride, c] += dy[n, oy, ox, padLow + c]

public func residualAddForward(a: UnsafePointer<Float>, b: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
    parallelRows(count) { i0, i1 in
        for i in i0..<i1 { y[i] = a[i] + b[i] }
    }
}

/// da += dy (the same applies to b; the add's backward is just passing the gradient on).
public func residualAddBackward(dy: UnsafePointer<Float>, da: UnsafeMutablePointer<Float>, count: Int) {
    parallelRows(count) { i0, i1 in
        for i in i0..<i1 { da[i] += dy[i] }
    }
}

public struct ZeroPadShortcut: Equatable, Sendable {
    public var batch: Int, height: Int, width: Int, inChannels: Int, outChannels: Int, stride: Int
    public init(batch: Int, height: Int, width: Int, inChannels: Int, outChannels: Int, stride: Int) {
        self.batch = batch; self.height = height; self.width = width
        self.inChannels = inChannels; self.outChannels = outChannels; self.stride = stride
    }
    public var outHeight: Int { (height + stride - 1) / stride }
    public var outWidth: Int { (width + stride - 1) / stride }
    /// Channels of zeros before the copied ones (PyTorch's F.pad(..., (pad, pad)) on channels).
    public var padLow: Int { (outChannels - inChannels) / 2 }
    public var outputCount: Int { batch * outHeight * outWidth * outChannels }
}

public func zeroPadShortcutForward(_ s: ZeroPadShortcut, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    let oh = s.outHeight, ow = s.outWidth
    parallelRows(s.batch * oh) { r0, r1 in
        for r in r0..<r1 {
            let n = r / oh, oy = r % oh
            for ox in 0..<ow {
                let dst = y + ((n * oh + oy) * ow + ox) * s.outChannels
                let src = x + ((n * s.height + oy * s.stride) * s.width + ox * s.stride) * s.inChannels
                dst.update(repeating: 0, count: s.padLow)
                (dst + s.padLow).update(from: src, count: s.inChannels)
                let high = s.outChannels - s.padLow - s.inChannels
                (dst + s.padLow + s.inChannels).update(repeating: 0, count: high)
            }
        }
    }
}

public func zeroPadShortcutBackward(_ s: ZeroPadShortcut, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>) {
    let oh = s.outHeight, ow = s.outWidth
    parallelRows(s.batch * oh) { r0, r1 in
        for r in r0..<r1 {
            let n = r / oh, oy = r % oh
            for ox in 0..<ow {
                let src = dy + ((n * oh + oy) * ow + ox) * s.outChannels + s.padLow
                let dst = dx + ((n * s.height + oy * s.stride) * s.width + ox * s.stride) * s.inChannels
                for c in 0..<s.inChannels { dst[c] += src[c] }
            }
        }
    }
}
