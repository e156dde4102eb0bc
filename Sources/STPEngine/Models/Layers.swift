// The layers a ResNet is built from. Each owns its parameters and what its forward pass saves
// for the backward pass; the maths lives in Kernels/. A layer runs on the first `k` channels of
// its weights when a subnet asks for fewer, by slicing (packing a copy), never by masking.

/// How batch normalisation behaves in a forward pass.
public enum NormalizationMode: Sendable, Equatable {
    /// Batch statistics; running statistics updated when `updateRunningStats`.
    case train(updateRunningStats: Bool)
    /// Running statistics, nothing saved for a backward pass.
    case eval

    public var isTraining: Bool { if case .train = self { return true } else { return false } }
}

/// Scratch memory shared by all layers of one network (layers run one at a time).
public final class Workspace: @unchecked Sendable {
    public let col = FloatBuffer()
    public let weightGradientScratch = FloatBuffer()

    /// Grows (never shrinks) `buffer` to at least `count` floats.
    static func reserve(_ buffer: FloatBuffer, _ count: Int) -> UnsafeMutablePointer<Float> {
        buffer.ensure(count: max(buffer.count, count))
    }
}

/// What a cached bf16 operand was packed for.
struct BF16OperandKey: Equatable {
    var version: Int, inChannels: Int, outChannels: Int, winograd: Bool
}

public final class ConvLayer: @unchecked Sendable {
    public let weight: Parameter
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    private let packed = FloatBuffer()
    private let transposed = FloatBuffer()
    private let packedGrad = FloatBuffer()
    private let flippedWeight = FloatBuffer()
    private let winogradWeight = FloatBuffer()
    /// What `transposed` (and `winogradWeight`, when `winogradCached`) hold: the eval operand of
    /// this weight version and slice. Inference, the search's fitness passes and batch-1
    /// latency run the same weights many times; rebuilding the operand took 40% of a batch-1
    /// forward pass (docs/PERFORMANCE.md).
    private var evalOperand: (version: Int, inChannels: Int, outChannels: Int)?
    /// What `packed` holds (the OHWI slice for OpenBLAS and backward), under the same rule: an
    /// ImageNet-size layer (more than 64 output channels) re-packed its weight for every forward
    /// pass when it ran on OpenBLAS, all 23.5M of ResNet-50's on each batch-1 inference.
    private var packedOperand: (version: Int, inChannels: Int, outChannels: Int)?
    private var winogradCached = false
    /// The bf16 operand (ComputePrecision) and the weight version and geometry it was packed for.
    private var bf16Operand: (key: BF16OperandKey, operand: BF16ConvOperand)?
    private var geometry: ConvGeometry?
    private var savedInput: UnsafePointer<Float>?

    public init(name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int) {
        weight = Parameter(name: name + ".weight", shape: [outChannels, inChannels, kernel, kernel])
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.padding = padding
    }

    public func geometry(batch: Int, height: Int, width: Int, activeIn: Int, activeOut: Int) -> ConvGeometry {
        ConvGeometry(batch: batch, height: height, width: width, inChannels: activeIn, outChannels: activeOut,
                     kernel: kernel, stride: stride, padding: padding)
    }

    /// y [N, OH, OW, activeOut] = conv(x [N, H, W, activeIn]), then the epilogue if given (eval
    /// mode: the next batch norm fused in). x must stay valid until backward.
    public func forward(_ x: UnsafePointer<Float>, _ g: ConvGeometry, y: UnsafeMutablePointer<Float>, workspace: Workspace,
                        epilogue: ConvEpilogue? = nil) {
        precondition(g.inChannels <= inChannels && g.outChannels <= outChannels, "\(weight.name): slice exceeds the layer")
        let workers = ComputeThreads.workers
        if let epilogue, ComputePrecision.usesBF16, BF16Kernels.available {
            // Eval with bf16 products: nothing is saved for a backward pass.
            let operand = cachedBF16Operand(g) { packBF16ConvWeight(weight.readPointer, fullIn: inChannels, g) }
            conv2dForwardBF16(g, x: x, operand: operand, y: y, workers: workers, epilogue: epilogue)
            geometry = nil
            savedInput = nil
            return
        }
        if epilogue != nil && FastKernels.usableForward(FastKernels.available, columns: g.outChannels) {
            // Eval: no backward will need the OHWI copy, so the AVX-512 operand is built directly.
            let nPadded = FastKernels.paddedColumns(g.outChannels)
            let key = (version: weight.version, inChannels: g.inChannels, outChannels: g.outChannels)
            if let cached = evalOperand, cached == key {
                verifyCachedEvalOperand(g, paddedColumns: nPadded)
            } else {
                packTransposedConvWeight(weight.readPointer, fullIn: inChannels, kernelH: kernel, kernelW: kernel,
                                         outChannels: g.outChannels, inChannels: g.inChannels, paddedColumns: nPadded,
                                         into: transposed.ensure(count: nPadded * g.patchSize))
                evalOperand = key
                winogradCached = false
            }
            let wt = UnsafePointer(transposed.pointer)
            if g.usesWinograd && !winogradCached {
                winogradTransformWeight(wt, inChannels: g.inChannels, paddedColumns: nPadded,
                                        into: winogradWeight.ensure(count: 16 * g.inChannels * nPadded))
                winogradCached = true
            }
            let col = Workspace.reserve(workspace.col, g.colScratchFloats(workers: workers))
            conv2dForward(g, x: x, w: wt, y: y, col: col, workers: workers, epilogue: epilogue, transposedWeight: wt,
                          winogradWeight: g.usesWinograd ? UnsafePointer(winogradWeight.pointer) : nil)
            geometry = nil
            savedInput = nil
            return
        }
        let key = (version: weight.version, inChannels: g.inChannels, outChannels: g.outChannels)
        if let cached = packedOperand, cached == key {
            packed.count = g.outChannels * g.patchSize
            verifyCachedPackedOperand(g)
        } else {
            packConvWeight(weight.readPointer, fullIn: inChannels, kernelH: kernel, kernelW: kernel,
                           outChannels: g.outChannels, inChannels: g.inChannels,
                           into: packed.ensure(count: g.outChannels * g.patchSize))
            packedOperand = key
        }
        if ComputePrecision.usesBF16, BF16Kernels.available {
            // Training with bf16 products; the backward pass reads x and `packed` in float32.
            let operand = cachedBF16Operand(g) { packBF16ConvWeight(ohwi: packed.pointer, g) }
            conv2dForwardBF16(g, x: x, operand: operand, y: y, workers: workers, epilogue: epilogue)
        } else {
            let col = Workspace.reserve(workspace.col, g.colScratchFloats(workers: workers))
            conv2dForward(g, x: x, w: packed.pointer, y: y, col: col, workers: workers, epilogue: epilogue)
        }
        geometry = g
        savedInput = x
    }

    /// Accumulates the weight gradient; writes the input gradient into `dx` when given (adds it
    /// to what `dx` holds when `accumulate`).
    public func backward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, accumulate: Bool = false,
                         workspace: Workspace) {
        guard let g = geometry, let x = savedInput else { preconditionFailure("\(weight.name): backward before forward") }
        let workers = ComputeThreads.workers
        let dw = packedGrad.ensure(count: g.outChannels * g.patchSize)
        packedGrad.zero()
        let scratch = Workspace.reserve(workspace.weightGradientScratch, g.weightGradientScratchFloats(workers: workers))
        var col = Workspace.reserve(workspace.col, g.colScratchFloats(workers: workers))
        conv2dBackwardWeights(g, x: x, dy: dy, dw: dw, col: col, dwScratch: scratch, workers: workers)
        unpackConvGradientAccumulate(dw, fullIn: inChannels, kernelH: kernel, kernelW: kernel,
                                     outChannels: g.outChannels, inChannels: g.inChannels, into: weight.grad.pointer)
        if let dx {
            let need = backwardDataScratchFloats(g, workers: workers)
            col = Workspace.reserve(workspace.col, need.col)
            let flipped = need.flipped > 0 ? flippedWeight.ensure(count: need.flipped) : nil
            conv2dBackwardData(g, w: packed.pointer, dy: dy, dx: dx, accumulate: accumulate, col: col,
                               flipped: flipped, workers: workers,
                               bf16: ComputePrecision.usesBF16 && BF16Kernels.available)
        }
    }

    /// The bf16 operand of this weight version for `g`, packed by `pack` when the cached one is
    /// of another version or slice (eval and training share it: the same weights give the same).
    private func cachedBF16Operand(_ g: ConvGeometry, pack: () -> BF16ConvOperand) -> BF16ConvOperand {
        let key = BF16OperandKey(version: weight.version, inChannels: g.inChannels, outChannels: g.outChannels,
                                 winograd: g.usesWinograd)
        if let cached = bf16Operand, cached.key == key { return cached.operand }
        let operand = pack()
        bf16Operand = (key, operand)
        return operand
    }

    public var parameterCount: Int { weight.count }

    /// Debug builds (the tests) check that a cached packed weight is what packing the weight now
    /// gives, bit for bit (a diverged run's NaN weights are not stale): a write that bypassed
    /// `Parameter.pointer` without `markChanged` fails loudly here.
    private func verifyCachedPackedOperand(_ g: ConvGeometry) {
        #if DEBUG
        let fresh = UnsafeMutablePointer<Float>.allocate(capacity: g.outChannels * g.patchSize)
        defer { fresh.deallocate() }
        packConvWeight(weight.readPointer, fullIn: inChannels, kernelH: kernel, kernelW: kernel,
                       outChannels: g.outChannels, inChannels: g.inChannels, into: fresh)
        for i in 0..<(g.outChannels * g.patchSize) where fresh[i].bitPattern != packed.pointer[i].bitPattern {
            preconditionFailure("\(weight.name): stale cached packed weight (weights written without markChanged)")
        }
        #endif
    }

    /// The same check for the AVX-512 eval operand.
    private func verifyCachedEvalOperand(_ g: ConvGeometry, paddedColumns nPadded: Int) {
        #if DEBUG
        let fresh = UnsafeMutablePointer<Float>.allocate(capacity: nPadded * g.patchSize)
        defer { fresh.deallocate() }
        packTransposedConvWeight(weight.readPointer, fullIn: inChannels, kernelH: kernel, kernelW: kernel,
                                 outChannels: g.outChannels, inChannels: g.inChannels, paddedColumns: nPadded, into: fresh)
        for i in 0..<(nPadded * g.patchSize) where fresh[i].bitPattern != transposed.pointer[i].bitPattern {
            preconditionFailure("\(weight.name): stale cached eval operand (weights written without markChanged)")
        }
        #endif
    }
}

public final class BatchNormLayer: @unchecked Sendable {
    public let gamma: Parameter, beta: Parameter
    public let runningMean: StateBuffer, runningVar: StateBuffer
    public let channels: Int
    public var options = BatchNormOptions()
    /// Set in a data-parallel run: training-mode statistics are those of every rank's rows.
    public var sync: (any Communicator)?
    private var totalRows = 0
    private let savedMean = FloatBuffer(), savedInvStd = FloatBuffer()
    private let evalScale = FloatBuffer(), evalShift = FloatBuffer()
    private var rows = 0, active = 0
    private var savedX: UnsafePointer<Float>?, savedY: UnsafePointer<Float>?, savedRelu = false

    public init(name: String, channels: Int) {
        self.channels = channels
        gamma = Parameter(name: name + ".weight", shape: [channels])
        beta = Parameter(name: name + ".bias", shape: [channels])
        gamma.pointer.update(repeating: 1, count: channels)
        runningMean = StateBuffer(name: name + ".running_mean", shape: [channels], fill: 0)
        runningVar = StateBuffer(name: name + ".running_var", shape: [channels], fill: 1)
    }

    /// y = relu?(bn(x) + residual?) over the first `active` channels of an [rows, active] tensor.
    public func forward(_ x: UnsafePointer<Float>, rows: Int, active: Int, residual: UnsafePointer<Float>?, relu: Bool,
                        y: UnsafeMutablePointer<Float>, mode: NormalizationMode) {
        precondition(active <= channels)
        switch mode {
        case .train(let update):
            totalRows = batchNormForwardTrain(x: x, rows: rows, channels: active, gamma: gamma.pointer, beta: beta.pointer,
                                              residual: residual, relu: relu, y: y,
                                              savedMean: savedMean.ensure(count: active), savedInvStd: savedInvStd.ensure(count: active),
                                              runningMean: update ? runningMean.value.pointer : nil,
                                              runningVar: update ? runningVar.value.pointer : nil, options: options, sync: sync)
            self.rows = rows; self.active = active
            savedX = x; savedY = UnsafePointer(y); savedRelu = relu
        case .eval:
            batchNormForwardEval(x: x, rows: rows, channels: active, gamma: gamma.pointer, beta: beta.pointer,
                                 runningMean: runningMean.value.pointer, runningVar: runningVar.value.pointer,
                                 residual: residual, relu: relu, y: y, options: options)
            savedX = nil
        }
    }

    /// The eval-mode normalisation of the first `active` channels as a convolution epilogue
    /// (y = relu?(x * scale + shift + residual?)); valid until the next call.
    public func evalEpilogue(active: Int, residual: UnsafePointer<Float>?, relu: Bool) -> ConvEpilogue {
        precondition(active <= channels)
        let scale = evalScale.ensure(count: active), shift = evalShift.ensure(count: active)
        batchNormEvalScaleShift(gamma: gamma.pointer, beta: beta.pointer, runningMean: runningMean.value.pointer,
                                runningVar: runningVar.value.pointer, channels: active, epsilon: options.epsilon,
                                scale: scale, shift: shift)
        savedX = nil
        return ConvEpilogue(scale: scale, shift: shift, residual: residual, relu: relu)
    }

    /// dy is overwritten with the gradient after the ReLU mask (the residual's gradient).
    public func backward(dy: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>) {
        guard let x = savedX else { preconditionFailure("\(gamma.name): backward without a training forward") }
        batchNormBackward(dy: dy, y: savedRelu ? savedY : nil, x: x, rows: rows, channels: active,
                          gamma: gamma.pointer, savedMean: savedMean.pointer, savedInvStd: savedInvStd.pointer,
                          dx: dx, dgamma: gamma.grad.pointer, dbeta: beta.grad.pointer, sync: sync, totalRows: totalRows)
    }

    public var parameterCount: Int { 2 * channels }
}

public final class LinearLayer: @unchecked Sendable {
    public let weight: Parameter, bias: Parameter
    public let inFeatures: Int, outFeatures: Int
    private var savedX: UnsafePointer<Float>?, batch = 0, activeIn = 0

    public init(name: String, inFeatures: Int, outFeatures: Int) {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures
        weight = Parameter(name: name + ".weight", shape: [outFeatures, inFeatures])
        bias = Parameter(name: name + ".bias", shape: [outFeatures], decays: true)
    }

    public func forward(_ x: UnsafePointer<Float>, batch: Int, activeIn: Int, y: UnsafeMutablePointer<Float>) {
        linearForward(x: x, batch: batch, inFeatures: activeIn, w: weight.pointer, wStride: inFeatures,
                      b: bias.pointer, outFeatures: outFeatures, y: y)
        savedX = x; self.batch = batch; self.activeIn = activeIn
    }

    public func backward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?) {
        guard let x = savedX else { preconditionFailure("\(weight.name): backward before forward") }
        linearBackward(x: x, batch: batch, inFeatures: activeIn, w: weight.pointer, wStride: inFeatures,
                       outFeatures: outFeatures, dy: dy, dw: weight.grad.pointer, db: bias.grad.pointer, dx: dx)
    }

    public var parameterCount: Int { weight.count + bias.count }
}
