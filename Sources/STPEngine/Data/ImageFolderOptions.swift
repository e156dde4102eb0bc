// The options of an image-folder data set (`--data folder[OPTIONS]:PATH`) and their text form.
//
//   size=N      the network's input side (default 32)
//   val=F       the fraction of each class held out as the test split when PATH has no val
//               folder (default 0.1)
//   seed=N      seed of that held-out split and of the training-set order (default 0)
//   skip-bad    skip unreadable files (counted in a log line) instead of stopping at them
//
// The options sit in brackets between the kind and the colon so that PATH, everything after
// the first colon, may contain any character, commas and colons included. The spec a run stores
// always spells out every option: a later change of a default must not change what a saved run
// trained on when `--resume` parses its spec again.
//
// Why size 32 by default: the default model (resnet20, like every CIFAR ResNet) was designed for
// 32x32 inputs, and a CPU trains it at CIFAR speed; the same network on 224x224 inputs costs 49
// times as much per image. size=224 is the choice for resnet18/resnet50 and the ImageNet convention.

public struct ImageFolderOptions: Sendable, Equatable {
    public static let defaultInputSize = 32
    public static let defaultValFraction = 0.1
    public static let inputSizeRange = 4...2048

    /// Side of the square image the network sees.
    public var inputSize: Int
    /// Fraction of each class held out as the test split when there is no val folder.
    public var valFraction: Double
    /// Seed of the held-out split and of the order of the training images.
    public var splitSeed: UInt64
    /// Skip files that cannot be decoded instead of failing.
    public var skipBadImages: Bool

    public init(inputSize: Int = ImageFolderOptions.defaultInputSize,
                valFraction: Double = ImageFolderOptions.defaultValFraction,
                splitSeed: UInt64 = 0, skipBadImages: Bool = false) {
        self.inputSize = inputSize
        self.valFraction = valFraction
        self.splitSeed = splitSeed
        self.skipBadImages = skipBadImages
    }

    /// The side images are stored (and cached) at: round(inputSize * 8 / 7), the ratio of the
    /// "resize to 256, crop 224" convention. The margin is where training crops move.
    public var storedSide: Int { Int((Double(inputSize) * 8 / 7).rounded()) }

    public func validate() throws {
        guard Self.inputSizeRange.contains(inputSize) else {
            throw STPError(.argument, "image folder: input size \(inputSize) is outside \(Self.inputSizeRange.lowerBound)...\(Self.inputSizeRange.upperBound)")
        }
        guard valFraction.isFinite, valFraction > 0, valFraction < 1 else {
            throw STPError(.argument, "image folder: val fraction \(valFraction) is not between 0 and 1 (exclusive)")
        }
    }

    /// "size=32,val=0.1,seed=0" plus ",skip-bad" when set: every option, so that the spec means
    /// the same thing whatever the defaults become.
    public var specText: String {
        "size=\(inputSize),val=\(valFraction),seed=\(splitSeed)" + (skipBadImages ? ",skip-bad" : "")
    }

    /// Parses the text between the brackets of `folder[...]`; `spec` is the whole spec, for errors.
    public static func parse(_ text: String, spec: String) throws -> ImageFolderOptions {
        var options = ImageFolderOptions()
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 1 && parts[0] == "skip-bad" {
                options.skipBadImages = true
                continue
            }
            guard parts.count == 2 else {
                throw STPError(.argument, "--data \(spec): option '\(item)' is not KEY=VALUE; expected size=N, val=F, seed=N or skip-bad")
            }
            switch parts[0] {
            case "size":
                guard let value = Int(parts[1]) else {
                    throw STPError(.argument, "--data \(spec): size '\(parts[1])' is not a whole number of pixels")
                }
                options.inputSize = value
            case "val":
                guard let value = Double(parts[1]) else {
                    throw STPError(.argument, "--data \(spec): val '\(parts[1])' is not a fraction such as 0.1")
                }
                options.valFraction = value
            case "seed":
                guard let value = UInt64(parts[1]) else {
                    throw STPError(.argument, "--data \(spec): seed '\(parts[1])' is not a non-negative integer")
                }
                options.splitSeed = value
            default:
                throw STPError(.argument, "--data \(spec): unknown folder option '\(parts[0])'; expected size, val, seed or skip-bad")
            }
        }
        do {
            try options.validate()
        } catch let error as STPError {
            throw STPError(.argument, "--data \(spec): " + error.message)
        }
        return options
    }
}
