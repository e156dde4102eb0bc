import Foundation
import Testing
@testable import STPEngine

// BN recalibration estimates the statistics of the inputs the network was trained on: images
// augmented as in training, one fixed draw, so that every recalibration (of every candidate of a
// search) sees exactly the same batches.

private func stemStatistics(_ augmentation: Augmentation) throws -> [Float] {
    let data = BuiltinShapes.generate(trainCount: 64, testCount: 8, seed: 4)
    let net = ResNet(spec: try ResNetSpec.named("resnet20"), seed: 2)
    let normalization = Normalization.compute(from: data.train)
    let calibrator = BatchNormCalibrator(dataset: data.train, images: 48, batchSize: 16, normalization: normalization,
                                         augmentation: augmentation)
    calibrator.recalibrate(net, subnet: nil)
    return net.stemBN.runningMean.value.array + net.stemBN.runningVar.value.array
}

@Test func recalibrationIsDeterministicAndSeesAugmentedImages() throws {
    let augmented = try stemStatistics(.standard)
    #expect(try stemStatistics(.standard) == augmented)
    // Black crop borders and flips change the statistics: the augmentation is really applied.
    let plain = try stemStatistics(.none)
    #expect(zip(augmented, plain).contains { abs($0 - $1) > 1e-4 })
}
