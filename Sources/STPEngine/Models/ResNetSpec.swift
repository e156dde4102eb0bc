// What a ResNet is, as a value: enough to build it, count its FLOPs and rebuild it from a file.
//
// CIFAR ResNets (He et al. 2016, section 4.2): a 3x3 stem of 16 channels, three stages of n basic
// blocks with 16/32/64 channels, depth 6n+2. ImageNet ResNets: a 7x7 stride-2 stem of 64 channels
// and a 3x3 stride-2 max pool, four stages (64/128/256/512 planes), basic blocks (ResNet-18) or
// bottlenecks with 4x expansion (ResNet-50, stride on the 3x3 as in torchvision).

public enum BlockKind: String, Codable, Sendable { case basic, bottleneck }

/// How a block whose input and output shapes differ forms its shortcut.
public enum ShortcutKind: String, Codable, Sendable, CaseIterable {
    /// Parameter-free: subsample by the stride and pad channels with zeros ("option A").
    case zeroPad = "zero-pad"
    /// 1x1 convolution with the stride, then batch normalisation ("option B").
    case projection
}

public enum StemKind: String, Codable, Sendable {
    /// 3x3 stride-1 convolution (CIFAR).
    case cifar
    /// 7x7 stride-2 convolution and 3x3 stride-2 max pool (ImageNet).
    case imagenet
}

public struct ResNetSpec: Codable, Equatable, Sendable {
    public var name: String
    public var block: BlockKind
    public var stem: StemKind
    public var blocksPerStage: [Int]
    /// Planes per stage: the residual width of basic blocks, the inner width of bottlenecks.
    public var stagePlanes: [Int]
    public var stemWidth: Int
    /// Inner width of each block (one entry per block, in order), when the blocks of a stage are
    /// not all `stagePlanes[s]` wide: an extracted, pruned network. nil means stagePlanes.
    public var blockInnerWidths: [Int]? = nil
    public var shortcut: ShortcutKind
    public var inputChannels: Int
    public var inputHeight: Int
    public var inputWidth: Int
    public var classes: Int

    public var expansion: Int { block == .bottleneck ? 4 : 1 }

    /// Inner width of every block, in order.
    public var innerWidths: [Int] {
        if let blockInnerWidths { return blockInnerWidths }
        var widths = [Int]()
        for (s, n) in blocksPerStage.enumerated() { widths += Array(repeating: stagePlanes[s], count: n) }
        return widths
    }
    public var blockCount: Int { blocksPerStage.reduce(0, +) }
    public func stageOutWidth(_ s: Int) -> Int { stagePlanes[s] * expansion }
    public var featureWidth: Int { stageOutWidth(stagePlanes.count - 1) }

    public static let knownNames = ["resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "resnet18", "resnet50"]

    /// A named model. CIFAR ResNets default to 32x32 inputs, ImageNet ones to 224x224.
    public static func named(_ name: String, inputChannels: Int = 3, classes: Int = 10,
                             inputSize: (Int, Int)? = nil, shortcut: ShortcutKind? = nil) throws -> ResNetSpec {
        let lower = name.lowercased()
        let cifarDepths = ["resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18]
        var spec: ResNetSpec
        if let n = cifarDepths[lower] {
            spec = ResNetSpec(name: lower, block: .basic, stem: .cifar, blocksPerStage: [n, n, n], stagePlanes: [16, 32, 64],
                              stemWidth: 16, shortcut: .zeroPad, inputChannels: inputChannels,
                              inputHeight: 32, inputWidth: 32, classes: classes)
        } else if lower == "resnet18" || lower == "resnet50" {
            let bottleneck = lower == "resnet50"
            spec = ResNetSpec(name: lower, block: bottleneck ? .bottleneck : .basic, stem: .imagenet,
                              blocksPerStage: bottleneck ? [3, 4, 6, 3] : [2, 2, 2, 2], stagePlanes: [64, 128, 256, 512],
                              stemWidth: 64, shortcut: .projection, inputChannels: inputChannels,
                              inputHeight: 224, inputWidth: 224, classes: classes)
        } else {
            throw STPError(.argument, "unknown model '\(name)'; expected one of: \(knownNames.joined(separator: ", "))")
        }
        if let (h, w) = inputSize { spec.inputHeight = h; spec.inputWidth = w }
        if let shortcut { spec.shortcut = shortcut }
        try spec.validate()
        return spec
    }

    public func validate() throws {
        guard !blocksPerStage.isEmpty, blocksPerStage.count == stagePlanes.count, blocksPerStage.allSatisfy({ $0 >= 1 }),
              stagePlanes.allSatisfy({ $0 >= 1 }), stemWidth >= 1 else {
            throw STPError(.argument, "model \(name): stages need at least one block and one channel each")
        }
        if let widths = blockInnerWidths {
            guard widths.count == blockCount, widths.allSatisfy({ $0 >= 1 }) else {
                throw STPError(.argument, "model \(name): needs one positive inner width per block (\(blockCount)), got \(widths)")
            }
        }
        guard inputChannels >= 1, classes >= 2, inputHeight >= 1, inputWidth >= 1 else {
            throw STPError(.argument, "model \(name): needs at least 1 input channel, 2 classes and a non-empty image")
        }
        if shortcut == .zeroPad {
            // Zero padding can only widen the residual stream.
            var width = stemWidth
            for s in 0..<stagePlanes.count {
                if stageOutWidth(s) < width {
                    throw STPError(.argument, "model \(name): a zero-padding shortcut cannot narrow \(width) to \(stageOutWidth(s)) channels; use --shortcut projection")
                }
                width = stageOutWidth(s)
            }
        }
        var h = inputHeight, w = inputWidth
        if stem == .imagenet { h = (h + 1) / 2; w = (w + 1) / 2; h = (h - 1) / 2 + 1; w = (w - 1) / 2 + 1 }
        for _ in 1..<stagePlanes.count { h = (h - 1) / 2 + 1; w = (w - 1) / 2 + 1 }
        guard h >= 1, w >= 1, inputHeight >= (stem == .imagenet ? 4 : 1) else {
            throw STPError(.argument, "model \(name): input \(inputHeight)x\(inputWidth) is too small for its downsampling")
        }
    }
}

/// Which blocks and how many inner channels a forward pass uses: the engine-level description
/// of a subnet of the weight-sharing supernet. nil everywhere means the full network.
public struct SubnetSelection: Equatable, Sendable, Codable {
    /// One entry per block: whether it runs.
    public var keep: [Bool]
    /// One entry per block: channels of its inner convolution outputs (first k are kept).
    public var innerWidth: [Int]

    public init(keep: [Bool], innerWidth: [Int]) {
        self.keep = keep
        self.innerWidth = innerWidth
    }

    public static func full(_ spec: ResNetSpec) -> SubnetSelection {
        SubnetSelection(keep: Array(repeating: true, count: spec.blockCount), innerWidth: spec.innerWidths)
    }

    /// Depth per stage (first d blocks) and inner widths of the kept blocks, as in the fixtures.
    public static func fromDepths(_ spec: ResNetSpec, depths: [Int], widths: [[Int]]) throws -> SubnetSelection {
        var sel = SubnetSelection.full(spec)
        var b = 0
        for (s, n) in spec.blocksPerStage.enumerated() {
            guard depths[s] >= 1, depths[s] <= n, widths[s].count == depths[s] else {
                throw STPError(.argument, "stage \(s + 1): depth \(depths[s]) must be 1...\(n) with one width per kept block")
            }
            for i in 0..<n {
                sel.keep[b + i] = i < depths[s]
                if i < depths[s] { sel.innerWidth[b + i] = widths[s][i] }
            }
            b += n
        }
        return sel
    }
}
