import STPEngine

/// The 16 reference images of ../shared/models/cifar-resnet/reference_logits.safetensors
/// ("images_u8": raw 0...255 values stored as float32, NCHW [16, 3, 32, 32]) as the network
/// input: NHWC floats normalised with the shared models' ImageNet statistics (README there).
public func sharedReferenceImages(_ reference: SafeTensorsFile) throws -> [Float] {
    let (shape, pixels) = try reference.floats("images_u8")
    precondition(shape == [16, 3, 32, 32], "images_u8 is \(shape)")
    let norm = Normalization.imagenet
    var nhwc = [Float](repeating: 0, count: pixels.count)
    for n in 0..<16 { for c in 0..<3 { for y in 0..<32 { for x in 0..<32 {
        nhwc[((n * 32 + y) * 32 + x) * 3 + c] = (pixels[((n * 3 + c) * 32 + y) * 32 + x] / 255 - norm.mean[c]) / norm.std[c]
    } } } }
    return nhwc
}
