// An in-memory labelled image set: every loader (built-in, CIFAR, MNIST, image folders)
// produces this.
//
// Pixels are bytes in NHWC order (image, row, column, channel), the layout the engine computes
// in, so a batch is filled by normalising bytes without any transposition.
//
// Most sets store images at exactly the network's input size. Image folders store a margin
// around it instead (`cropSize` smaller than the stored side): the batch pipeline cuts a random
// window out of each training image and the centred window out of each evaluation image, so
// random-crop augmentation takes real pixels rather than black padding.

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
    /// The side of the square window the batch pipeline feeds the network, cut out of each
    /// stored height x width image; nil feeds whole images.
    public var cropSize: Int?

    public init(name: String, height: Int, width: Int, channels: Int, classNames: [String],
                pixels: [UInt8], labels: [Int32], cropSize: Int? = nil) {
        precondition(pixels.count == labels.count * height * width * channels, "pixel count does not match labels")
        if let cropSize {
            precondition(cropSize >= 1 && cropSize <= min(height, width),
                         "crop size \(cropSize) does not fit in \(height)x\(width) images")
        }
        self.name = name
        self.height = height
        self.width = width
        self.channels = channels
        self.classNames = classNames
        self.pixels = pixels
        self.labels = labels
        self.cropSize = cropSize
    }

    public var count: Int { labels.count }
    public var classCount: Int { classNames.count }
    /// Bytes of one stored image.
    public var imageSize: Int { height * width * channels }
    /// Height of the network's input: the crop when there is one, else the stored height.
    public var inputHeight: Int { cropSize ?? height }
    /// Width of the network's input: the crop when there is one, else the stored width.
    public var inputWidth: Int { cropSize ?? width }
    /// Values of one network input image (inputHeight * inputWidth * channels).
    public var inputImageSize: Int { inputHeight * inputWidth * channels }

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
                            classNames: classNames, pixels: px, labels: lb, cropSize: cropSize)
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
