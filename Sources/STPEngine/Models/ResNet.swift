#if canImport(Glibc)
import Glibc
#endif

// A ResNet that can run any subnet of itself (first-d blocks, first-k inner channels) by
// slicing its shared weights. Forward keeps what backward needs; backward accumulates into the
// parameters' gradients, so several passes (the full network and sampled subnets) can add up
// before one optimizer step.
//
//   input   [N, H, W, inputChannels]  NHWC, must stay valid until backward
//   logits  [N, classes]

public final class ResNet: @unchecked Sendable {
    public let spec: ResNetSpec
    public let stemConv: ConvLayer
    public let stemBN: BatchNormLayer
    public let blocks: [ResidualBlock]
    public let fc: LinearLayer
    /// Every trainable tensor, in a fixed order (checkpoints and the optimizer rely on it).
    public let parameters: [Parameter]
    /// Every running statistic.
    public let stateBuffers: [StateBuffer]

    private let workspace = Workspace()
    private let stemOut = FloatBuffer(), stemAct = FloatBuffer(), poolOut = FloatBuffer()
    private var poolArgmax: UnsafeMutablePointer<Int32>?
    private var poolArgmaxCount = 0
    private let features = FloatBuffer(), logits = FloatBuffer()
    private let gradA = FloatBuffer(), gradB = FloatBuffer()
    private let dFeatures = FloatBuffer(), dStem = FloatBuffer()

    // What the last forward pass did, for backward.
    private var lastBatch = 0
    private var lastSelection: SubnetSelection
    private var lastStemGeometry: ConvGeometry?
    private var lastPool: MaxPoolGeometry?
    private var lastBlockInputs: [(index: Int, height: Int, width: Int)] = []
    private var lastFinal = (height: 0, width: 0)

    public init(spec: ResNetSpec, seed: UInt64 = 0) {
        self.spec = spec
        let stemKernel = spec.stem == .cifar ? 3 : 7
        stemConv = ConvLayer(name: "conv1", inChannels: spec.inputChannels, outChannels: spec.stemWidth,
                             kernel: stemKernel, stride: spec.stem == .cifar ? 1 : 2, padding: stemKernel / 2)
        stemBN = BatchNormLayer(name: "bn1", channels: spec.stemWidth)
        var blocks = [ResidualBlock]()
        var width = spec.stemWidth
        let inner = spec.innerWidths
        for (s, n) in spec.blocksPerStage.enumerated() {
            for i in 0..<n {
                let stride = (i == 0 && s > 0) ? 2 : 1
                blocks.append(ResidualBlock(name: "blocks.\(blocks.count)", kind: spec.block, inWidth: width,
                                            planes: inner[blocks.count], outWidth: spec.stageOutWidth(s),
                                            stride: stride, shortcutKind: spec.shortcut))
                width = spec.stageOutWidth(s)
            }
        }
        self.blocks = blocks
        fc = LinearLayer(name: "fc", inFeatures: spec.featureWidth, outFeatures: spec.classes)

        var params = [stemConv.weight, stemBN.gamma, stemBN.beta]
        var state = [stemBN.runningMean, stemBN.runningVar]
        for b in blocks {
            for u in b.allUnits {
                params += [u.conv.weight, u.bn.gamma, u.bn.beta]
                state += [u.bn.runningMean, u.bn.runningVar]
            }
        }
        params += [fc.weight, fc.bias]
        parameters = params
        stateBuffers = state
        lastSelection = SubnetSelection.full(spec)
        initialize(seed: seed)
    }

    deinit { poolArgmax?.deallocate() }

    /// Kaiming-normal (fan-in, ReLU gain) convolution and linear weights, as the reference CIFAR
    /// ResNet code does; linear bias uniform in +-1/sqrt(fan-in); BN gamma 1, beta 0.
    public func initialize(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        for p in parameters {
            if p.shape.count >= 2 {
                let fanIn = p.shape.dropFirst().reduce(1, *)
                let std = (2 / Float(fanIn)).squareRoot()
                for i in 0..<p.count { p.pointer[i] = rng.nextGaussian() * std }
            } else if p.name == "fc.bias" {
                let bound = 1 / Float(spec.featureWidth).squareRoot()
                for i in 0..<p.count { p.pointer[i] = (rng.nextFloat() * 2 - 1) * bound }
            } else if p.name.hasSuffix(".weight") {
                p.pointer.update(repeating: 1, count: p.count)
            } else {
                p.pointer.update(repeating: 0, count: p.count)
            }
        }
        for s in stateBuffers { s.value.pointer.update(repeating: s.name.hasSuffix("running_var") ? 1 : 0, count: s.value.count) }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// A network with the same spec and a copy of this one's weights and running statistics
    /// (a search can then run on it while training goes on with the original).
    public func copy() -> ResNet {
        let other = ResNet(spec: spec)
        other.copyWeights(from: self)
        return other
    }

    /// Copies every parameter and running statistic of `source` (same spec).
    public func copyWeights(from source: ResNet) {
        precondition(source.spec == spec, "copyWeights: different networks")
        for (a, b) in zip(parameters, source.parameters) { a.pointer.update(from: b.pointer, count: a.count) }
        for (a, b) in zip(stateBuffers, source.stateBuffers) { a.value.pointer.update(from: b.value.pointer, count: a.value.count) }
    }

    /// Every batch-norm layer, stem first.
    /// The communicator whose ranks share this network's batch statistics in training mode
    /// (nil: this process's rows only). A copy starts unsynchronised.
    public var batchStatisticsSync: (any Communicator)? { stemBN.sync }

    public func synchronizeBatchStatistics(with communicator: (any Communicator)?) {
        for bn in batchNormLayers { bn.sync = communicator }
    }

    public var batchNormLayers: [BatchNormLayer] { [stemBN] + blocks.flatMap { $0.allUnits.map(\.bn) } }

    public func zeroGradients() {
        for p in parameters { p.grad.zero() }
    }

    /// Forward pass of the full network or of a subnet. Returns logits [batch, classes], valid
    /// until the next forward. `blockSeconds` (one entry per block of the spec), when given,
    /// receives the wall time of every kept block: the latency model (STPMethod's
    /// LatencyProfiler) times blocks in the context of a whole network, caches as they really are.
    @discardableResult
    public func forward(_ input: UnsafePointer<Float>, batch: Int, mode: NormalizationMode,
                        subnet: SubnetSelection? = nil,
                        blockSeconds: UnsafeMutableBufferPointer<Double>? = nil) -> UnsafeMutablePointer<Float> {
        let selection = subnet ?? SubnetSelection.full(spec)
        precondition(selection.keep.count == blocks.count && selection.innerWidth.count == blocks.count, "subnet does not match \(spec.name)")
        precondition(blockSeconds.map { $0.count >= blocks.count } ?? true, "blockSeconds needs one entry per block of \(spec.name)")
        lastBatch = batch
        lastSelection = selection

        let sg = stemConv.geometry(batch: batch, height: spec.inputHeight, width: spec.inputWidth,
                                   activeIn: spec.inputChannels, activeOut: spec.stemWidth)
        lastStemGeometry = sg
        if mode == .eval {
            stemConv.forward(input, sg, y: stemAct.ensure(count: sg.outputCount), workspace: workspace,
                             epilogue: stemBN.evalEpilogue(active: spec.stemWidth, residual: nil, relu: true))
        } else {
            stemConv.forward(input, sg, y: stemOut.ensure(count: sg.outputCount), workspace: workspace)
            stemBN.forward(stemOut.pointer, rows: batch * sg.outHeight * sg.outWidth, active: spec.stemWidth,
                           residual: nil, relu: true, y: stemAct.ensure(count: sg.outputCount), mode: mode)
        }
        var x = UnsafePointer(stemAct.pointer)
        var h = sg.outHeight, w = sg.outWidth
        if spec.stem == .imagenet {
            let pg = MaxPoolGeometry(batch: batch, height: h, width: w, channels: spec.stemWidth, kernel: 3, stride: 2, padding: 1)
            if poolArgmaxCount < pg.outputCount {
                poolArgmax?.deallocate()
                poolArgmax = .allocate(capacity: pg.outputCount)
                poolArgmaxCount = pg.outputCount
            }
            maxPoolForward(pg, x: x, y: poolOut.ensure(count: pg.outputCount), argmax: mode == .eval ? nil : poolArgmax!)
            lastPool = pg
            x = UnsafePointer(poolOut.pointer)
            h = pg.outHeight; w = pg.outWidth
        } else {
            lastPool = nil
        }

        lastBlockInputs.removeAll(keepingCapacity: true)
        for (i, block) in blocks.enumerated() where selection.keep[i] {
            lastBlockInputs.append((i, h, w))
            let start = blockSeconds == nil ? 0 : monotonicSeconds()
            (x, h, w) = block.forward(x, batch: batch, height: h, width: w, inner: selection.innerWidth[i],
                                      mode: mode, workspace: workspace)
            if let blockSeconds { blockSeconds[i] = monotonicSeconds() - start }
        }
        lastFinal = (h, w)
        let c = spec.featureWidth
        globalAvgPoolForward(x: x, batch: batch, pixels: h * w, channels: c, y: features.ensure(count: batch * c))
        fc.forward(features.pointer, batch: batch, activeIn: c, y: logits.ensure(count: batch * spec.classes))
        return logits.pointer
    }

    /// Backward pass of the last training-mode forward; gradients accumulate into `parameters`.
    public func backward(_ dlogits: UnsafePointer<Float>) {
        let batch = lastBatch, c = spec.featureWidth
        fc.backward(dy: dlogits, dx: dFeatures.ensure(count: batch * c))
        let pixels = lastFinal.height * lastFinal.width
        // Two gradient buffers alternate: a block reads its output gradient from one and writes
        // its input gradient into the other.
        var dOut = gradA.ensure(count: batch * pixels * c)
        var (current, other) = (gradA, gradB)
        globalAvgPoolBackward(dy: dFeatures.pointer, batch: batch, pixels: pixels, channels: c, dx: dOut)
        for entry in lastBlockInputs.reversed() {
            let block = blocks[entry.index]
            let dIn = other.ensure(count: block.inputGradientCapacity)
            block.backward(dOut: dOut, dIn: dIn, workspace: workspace)
            swap(&current, &other)
            dOut = dIn
        }
        guard let sg = lastStemGeometry else { preconditionFailure("backward before forward") }
        var dAct = dOut
        if let pg = lastPool {
            dAct = dStem.ensure(count: sg.outputCount)
            dStem.zero()
            maxPoolBackward(pg, dy: dOut, argmax: poolArgmax!, dx: dAct)
        }
        let dConv = stemOut.pointer   // in place over the stem convolution's output (read by nothing after)
        stemBN.backward(dy: dAct, dx: dConv)
        stemConv.backward(dy: dConv, dx: nil, workspace: workspace)
    }

    /// Logits of the last forward pass.
    public var lastLogits: UnsafeMutablePointer<Float> { logits.pointer }
}
