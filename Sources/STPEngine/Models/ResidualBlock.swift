// A residual block: a chain of convolution + batch-norm units and a shortcut.
//
//   basic:       conv3x3(stride) -> bn -> relu -> conv3x3 -> bn -> (+ shortcut) -> relu
//   bottleneck:  conv1x1 -> bn -> relu -> conv3x3(stride) -> bn -> relu -> conv1x1 -> bn -> (+ shortcut) -> relu
//
// Every unit but the last outputs the block's inner width k (a subnet keeps the first k channels
// of those convolutions and the matching inputs of the next); the last outputs the residual width.
//
//   input   x     [N, H, W, inWidth]
//   output  y     [N, OH, OW, outWidth]          OH = ceil(H / stride) for the 3x3 / 1x1 shapes used

public final class ResidualBlock: @unchecked Sendable {
    public struct Unit: Sendable {
        public let conv: ConvLayer
        public let bn: BatchNormLayer
    }

    public enum Shortcut: Sendable {
        case identity
        case zeroPad
        case projection(Unit)
    }

    public let name: String
    public let units: [Unit]
    public let shortcut: Shortcut
    public let stride: Int, inWidth: Int, outWidth: Int, planes: Int

    private let convOut: [FloatBuffer]
    private let act: [FloatBuffer]
    private let shortcutOut = FloatBuffer()
    private let shortcutConvOut = FloatBuffer()
    private var geometries: [ConvGeometry] = []
    private var input: UnsafePointer<Float>?
    private var inputCount = 0, batch = 0, height = 0, width = 0

    init(name: String, kind: BlockKind, inWidth: Int, planes: Int, outWidth: Int, stride: Int, shortcutKind: ShortcutKind) {
        self.name = name; self.stride = stride; self.inWidth = inWidth; self.outWidth = outWidth; self.planes = planes
        func unit(_ i: Int, _ cin: Int, _ cout: Int, _ k: Int, _ s: Int) -> Unit {
            Unit(conv: ConvLayer(name: "\(name).conv\(i)", inChannels: cin, outChannels: cout, kernel: k, stride: s, padding: k / 2),
                 bn: BatchNormLayer(name: "\(name).bn\(i)", channels: cout))
        }
        switch kind {
        case .basic:
            units = [unit(1, inWidth, planes, 3, stride), unit(2, planes, outWidth, 3, 1)]
        case .bottleneck:
            units = [unit(1, inWidth, planes, 1, 1), unit(2, planes, planes, 3, stride), unit(3, planes, outWidth, 1, 1)]
        }
        if stride == 1 && inWidth == outWidth {
            shortcut = .identity
        } else if shortcutKind == .zeroPad {
            shortcut = .zeroPad
        } else {
            shortcut = .projection(Unit(
                conv: ConvLayer(name: "\(name).shortcut.conv", inChannels: inWidth, outChannels: outWidth, kernel: 1, stride: stride, padding: 0),
                bn: BatchNormLayer(name: "\(name).shortcut.bn", channels: outWidth)))
        }
        convOut = units.map { _ in FloatBuffer() }
        act = units.map { _ in FloatBuffer() }
    }

    public var allUnits: [Unit] {
        if case .projection(let p) = shortcut { return units + [p] }
        return units
    }

    /// Geometries of the block's convolutions for an input of `height` x `width` and inner width k.
    public func geometries(batch: Int, height: Int, width: Int, inner: Int) -> [ConvGeometry] {
        var result = [ConvGeometry]()
        var h = height, w = width
        for (i, u) in units.enumerated() {
            let cin = i == 0 ? inWidth : inner
            let cout = i == units.count - 1 ? outWidth : inner
            let g = u.conv.geometry(batch: batch, height: h, width: w, activeIn: cin, activeOut: cout)
            result.append(g)
            h = g.outHeight; w = g.outWidth
        }
        if case .projection(let p) = shortcut {
            result.append(p.conv.geometry(batch: batch, height: height, width: width, activeIn: inWidth, activeOut: outWidth))
        }
        return result
    }

    /// Runs the block; returns its output (owned by the block, valid until its next forward).
    func forward(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, inner: Int,
                 mode: NormalizationMode, workspace: Workspace) -> (UnsafePointer<Float>, Int, Int) {
        precondition(inner >= 1 && inner <= planes, "\(name): inner width \(inner) outside 1...\(planes)")
        geometries = geometries(batch: batch, height: height, width: width, inner: inner)
        input = x; self.batch = batch; self.height = height; self.width = width
        inputCount = batch * height * width * inWidth
        let last = geometries[units.count - 1]
        let rowsOut = batch * last.outHeight * last.outWidth

        let residual: UnsafePointer<Float>
        switch shortcut {
        case .identity:
            residual = x
        case .zeroPad:
            let s = ZeroPadShortcut(batch: batch, height: height, width: width, inChannels: inWidth, outChannels: outWidth, stride: stride)
            zeroPadShortcutForward(s, x: x, y: shortcutOut.ensure(count: s.outputCount))
            residual = UnsafePointer(shortcutOut.pointer)
        case .projection(let p):
            let g = geometries[units.count]
            if mode == .eval {
                p.conv.forward(x, g, y: shortcutOut.ensure(count: g.outputCount), workspace: workspace,
                               epilogue: p.bn.evalEpilogue(active: outWidth, residual: nil, relu: false))
            } else {
                p.conv.forward(x, g, y: shortcutConvOut.ensure(count: g.outputCount), workspace: workspace)
                p.bn.forward(shortcutConvOut.pointer, rows: rowsOut, active: outWidth, residual: nil, relu: false,
                             y: shortcutOut.ensure(count: g.outputCount), mode: mode)
            }
            residual = UnsafePointer(shortcutOut.pointer)
        }

        var current = x
        for (i, u) in units.enumerated() {
            let g = geometries[i]
            let isLast = i == units.count - 1
            let a = act[i].ensure(count: g.outputCount)
            if mode == .eval {
                // Eval: the batch norm (and residual, ReLU) runs inside the convolution.
                u.conv.forward(current, g, y: a, workspace: workspace,
                               epilogue: u.bn.evalEpilogue(active: g.outChannels, residual: isLast ? residual : nil, relu: true))
            } else {
                let y = convOut[i].ensure(count: g.outputCount)
                u.conv.forward(current, g, y: y, workspace: workspace)
                u.bn.forward(y, rows: g.batch * g.outHeight * g.outWidth, active: g.outChannels,
                             residual: isLast ? residual : nil, relu: true, y: a, mode: mode)
            }
            current = UnsafePointer(a)
        }
        return (current, last.outHeight, last.outWidth)
    }

    /// Floats the `dIn` buffer of backward must hold for the last forward: the block's input
    /// gradient, and before it the gradients of the inner units' outputs (see backward).
    public var inputGradientCapacity: Int {
        geometries.prefix(units.count - 1).map(\.outputCount).reduce(inputCount, max)
    }

    /// dOut [N, OH, OW, outWidth] is consumed (overwritten); dIn [N, H, W, inWidth] is written
    /// (it must hold `inputGradientCapacity` floats). No scratch: each batch norm's input
    /// gradient overwrites its saved input (the convolution's output, read by nothing after),
    /// and the gradient of an inner unit's output waits in dIn, which is free until the first
    /// unit writes the block's input gradient there. This keeps training memory to the saved
    /// activations and two gradient buffers.
    func backward(dOut: UnsafeMutablePointer<Float>, dIn: UnsafeMutablePointer<Float>, workspace: Workspace) {
        precondition(input != nil, "\(name): backward before forward")
        var dyAct = dOut
        for i in (0..<units.count).reversed() {
            let dConv = convOut[i].pointer
            units[i].bn.backward(dy: dyAct, dx: dConv)
            units[i].conv.backward(dy: dConv, dx: dIn, workspace: workspace)
            dyAct = dIn
        }
        // dOut now holds the gradient after the final ReLU: the residual branch's gradient.
        switch shortcut {
        case .identity:
            residualAddBackward(dy: dOut, da: dIn, count: inputCount)
        case .zeroPad:
            let s = ZeroPadShortcut(batch: batch, height: height, width: width, inChannels: inWidth, outChannels: outWidth, stride: stride)
            zeroPadShortcutBackward(s, dy: dOut, dx: dIn)
        case .projection(let p):
            let dConv = shortcutConvOut.pointer
            p.bn.backward(dy: dOut, dx: dConv)
            p.conv.backward(dy: dConv, dx: dIn, accumulate: true, workspace: workspace)
        }
    }
}
