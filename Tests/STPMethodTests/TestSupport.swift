import Foundation
@testable import STPEngine
@testable import STPMethod

// Tiny ResNets (a few channels, 8x8 images) so that whole architecture spaces can be enumerated
// and networks built in a debug build within seconds.

/// CIFAR-style basic blocks, stages of 2, 1 and 2 blocks with 4/6/8 channels.
func tinyBasicSpec(_ shortcut: ShortcutKind = .zeroPad) -> ResNetSpec {
    ResNetSpec(name: "tiny", block: .basic, stem: .cifar, blocksPerStage: [2, 1, 2], stagePlanes: [4, 6, 8],
               stemWidth: 4, shortcut: shortcut, inputChannels: 3, inputHeight: 8, inputWidth: 8, classes: 3)
}

/// Bottleneck blocks (4x expansion), two stages of 2 blocks, inner widths 2 and 3.
func tinyBottleneckSpec(_ shortcut: ShortcutKind = .projection, stem: StemKind = .cifar) -> ResNetSpec {
    ResNetSpec(name: "tinyneck", block: .bottleneck, stem: stem, blocksPerStage: [2, 2], stagePlanes: [2, 3],
               stemWidth: 4, shortcut: shortcut, inputChannels: 2,
               inputHeight: stem == .cifar ? 8 : 17, inputWidth: stem == .cifar ? 8 : 15, classes: 4)
}

func space(_ spec: ResNetSpec, _ options: ArchitectureSpaceOptions = ArchitectureSpaceOptions()) -> ArchitectureSpace {
    try! ArchitectureSpace(spec: spec, options: options)
}

/// Non-trivial BN parameters and running statistics (and biases), so that copying the wrong
/// channels of any of them changes the outputs.
func randomizeNormalization(_ model: ResNet, seed: UInt64) {
    var rng = SeededRandom(seed: seed)
    for p in model.parameters where p.shape.count == 1 {
        for i in 0..<p.count { p.pointer[i] = (p.name.hasSuffix(".weight") ? 1 : 0) + 0.5 * rng.nextGaussian() }
    }
    for s in model.stateBuffers {
        let isVar = s.name.hasSuffix("running_var")
        for i in 0..<s.value.count {
            s.value.pointer[i] = isVar ? 0.5 + rng.nextFloat() * 1.5 : 0.3 * rng.nextGaussian()
        }
    }
}

/// Eval-mode logits of `model` (or a subnet of it) on an NHWC batch.
func evalLogits(_ model: ResNet, _ input: [Float], batch: Int, subnet: SubnetSelection? = nil) -> [Float] {
    input.withUnsafeBufferPointer { p in
        let z = model.forward(p.baseAddress!, batch: batch, mode: .eval, subnet: subnet)
        return Array(UnsafeBufferPointer(start: z, count: batch * model.spec.classes))
    }
}
