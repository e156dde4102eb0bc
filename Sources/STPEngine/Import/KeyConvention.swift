// The tensor names a ResNet's state dict uses, and the mapping between stp's names and the names
// of the PyTorch code bases users arrive with. stp's own names are:
//
//   conv1.weight, bn1.{weight,bias,running_mean,running_var}         stem
//   blocks.B.convJ.weight, blocks.B.bnJ.*                              block B (counted over all stages)
//   blocks.B.shortcut.conv.weight, blocks.B.shortcut.bn.*              projection shortcut ("option B")
//   fc.weight, fc.bias                                                 classifier
//
// The other conventions number blocks per stage (`layerS.I`, S from 1) and differ in the shortcut
// and classifier names:
//
//   cifar         layerS.I.shortcut.0 / .1, linear     the CIFAR ResNets of akamaster/pytorch_resnet_cifar10
//                                                      and kuangliu/pytorch-cifar
//   torchvision   layerS.I.downsample.0 / .1, fc       torchvision.models.resnet18/50
//
// Option A (zero-padding) shortcuts have no tensors in any convention.

public enum KeyConvention: String, Codable, Sendable, CaseIterable {
    case stp
    case cifar
    case torchvision

    /// The convention a PyTorch user of this network shape would expect when nothing else is
    /// known (a network stp trained from scratch): torchvision's for the ImageNet stem, the CIFAR
    /// code bases' for the CIFAR stem.
    public static func natural(for spec: ResNetSpec) -> KeyConvention {
        spec.stem == .imagenet ? .torchvision : .cifar
    }

    /// The name of stp tensor `name` of a network of `spec` in this convention. Names that are not
    /// a block's stay as they are, except the classifier, which the CIFAR code bases call `linear`.
    public func externalName(of name: String, spec: ResNetSpec) -> String {
        if self == .stp { return name }
        if name.hasPrefix("fc.") { return self == .cifar ? "linear." + name.dropFirst(3) : name }
        guard name.hasPrefix("blocks.") else { return name }
        let rest = name.dropFirst("blocks.".count)
        guard let dot = rest.firstIndex(of: "."), let block = Int(rest[..<dot]),
              let (stage, index) = KeyConvention.stageAndIndex(ofBlock: block, spec: spec) else { return name }
        var tail = String(rest[rest.index(after: dot)...])
        let shortcut = self == .cifar ? "shortcut" : "downsample"
        if tail.hasPrefix("shortcut.conv.") {
            tail = "\(shortcut).0." + tail.dropFirst("shortcut.conv.".count)
        } else if tail.hasPrefix("shortcut.bn.") {
            tail = "\(shortcut).1." + tail.dropFirst("shortcut.bn.".count)
        }
        return "layer\(stage + 1).\(index).\(tail)"
    }

    /// Stage (from 0) and index within the stage of block `block` (counted over all stages).
    static func stageAndIndex(ofBlock block: Int, spec: ResNetSpec) -> (Int, Int)? {
        var start = 0
        for (s, n) in spec.blocksPerStage.enumerated() {
            if block < start + n { return (s, block - start) }
            start += n
        }
        return nil
    }

    /// The convention whose names `names` use, from the names alone: stp's `blocks.`, a
    /// `linear` classifier (CIFAR code bases), or torchvision's `layer1` + `fc`. nil when the
    /// names are none of these.
    public static func detect(_ names: Set<String>) -> KeyConvention? {
        if names.contains("blocks.0.conv1.weight") && names.contains("fc.weight") { return .stp }
        guard names.contains("layer1.0.conv1.weight") else { return nil }
        if names.contains("linear.weight") { return .cifar }
        if names.contains("fc.weight") { return .torchvision }
        return nil
    }
}

extension RunRecord {
    /// The key names of the network the run was imported as or started from (--init), which
    /// exports give the pruned network back under; nil for a network stp trained from scratch.
    public var keyConvention: KeyConvention? {
        configuration[ImportJob.conventionKey].flatMap(KeyConvention.init(rawValue:))
    }
}
