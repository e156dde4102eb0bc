// An in-memory labelled image set: every loader (built-in, CIFAR, MNIST) produces this.
//
// Pixels are bytes in NHWC order (image, row, column, channel), the layout the engine computes
// in, so a batch is filled by normalising bytes without any transposition.

public struct ImageDataset: Sendable {
    public var name: String
    public var height: Int
    public var width: Int
    public var channels: Int
    public var classNames: [String]
    /// count * height * width * channels bytes, NHWC.
    public var pixels: [UInt8]
    /// One class index per image, each in 0..<classNames.count.
    public var labels: [Int32]

    public init(name: String, height: Int, width: Int, channels: Int, classNames: [String],
                pixels: [UInt8], labels: [Int32]) {
        precondition(pixels.count == labels.count * height * width * channels, "pixel count does not match labels")
        self.name = name
        self.height = height
        self.width = width
        self.channels = channels
        self.classNames = classNames
        self.pixels = pixels
        self.labels = labels
    }

    public var count: Int { labels.count }
    public var classCount: Int { classNames.count }
    public var imageSize: Int { height * width * channels }

    /// The images at `indices`, in that order (for held-out splits and calibration sets).
    public func subset(_ indices: [Int], name: String? = nil) -> ImageDataset {
        var px = [UInt8]()
        px.reserveCapacity(indices.count * imageSize)
        var lb = [Int32]()
        lb.reserveCapacity(indices.count)
        for i in indices {
            px.append(contentsOf: pixels[(i * imageSize)..<((i + 1) * imageSize)])
            lb.append(labels[i])
        }
        return ImageDataset(name: name ?? self.name, height: height, width: width, channels: channels,
                            classNames: classNames, pixels: px, labels: lb)
    }
}

/// A train and a test split of one data set.
public struct DataSplits: Sendable {
    public var train: ImageDataset
    public var test: ImageDataset
    public init(train: ImageDataset, test: ImageDataset) {
        self.train = train
        self.test = test
    }
}
