import Foundation

// The input normalisation belongs to a trained model: a network trained on inputs normalised with
// ImageNet's mean and std computes nonsense on inputs normalised with anything else. This file
// reads it from what a user types (`--normalization`) and from what a checkpoint carries.
//
//   imagenet                    mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225): torchvision's
//                               models and the akamaster CIFAR ResNets
//   cifar10                     the CIFAR-10 training set's own statistics
//   unit                        pixels scaled to 0...1 and nothing else (mean 0, std 1)
//   M1,M2,M3/S1,S2,S3           explicit per-channel values (one value each applies to every channel)

extension Normalization {
    public static let imagenet = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
    public static let cifar10 = Normalization(mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616])

    public static let specForms = "imagenet, cifar10, unit, or MEAN,MEAN,MEAN/STD,STD,STD"

    /// Parses a `--normalization` value for images of `channels` channels.
    public static func parse(_ text: String, channels: Int = 3) throws -> Normalization {
        let spec = text.trimmingCharacters(in: .whitespaces).lowercased()
        func fitted(_ n: Normalization) throws -> Normalization {
            guard n.channels == channels else {
                throw STPError(.argument, "--normalization \(text): has \(n.channels) channels but the images have \(channels)")
            }
            return n
        }
        switch spec {
        case "imagenet": return try fitted(.imagenet)
        case "cifar10", "cifar-10": return try fitted(.cifar10)
        case "unit", "none":
            return Normalization(mean: Array(repeating: 0, count: channels), std: Array(repeating: 1, count: channels))
        default: break
        }
        let halves = spec.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2 else {
            throw STPError(.argument, "--normalization '\(text)': expected \(specForms)")
        }
        func values(_ part: Substring, _ what: String) throws -> [Float] {
            let list = try part.split(separator: ",").map { item -> Float in
                guard let v = Float(item.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                    throw STPError(.argument, "--normalization '\(text)': \(what) '\(item)' is not a number")
                }
                return v
            }
            if list.count == 1 { return Array(repeating: list[0], count: channels) }
            guard list.count == channels else {
                throw STPError(.argument, "--normalization '\(text)': expected 1 or \(channels) \(what) values, found \(list.count)")
            }
            return list
        }
        let mean = try values(halves[0], "mean"), std = try values(halves[1], "std")
        guard std.allSatisfy({ $0 > 0 }) else {
            throw STPError(.argument, "--normalization '\(text)': every standard deviation must be positive")
        }
        return Normalization(mean: mean, std: std)
    }

    /// The normalisation a checkpoint's metadata states, if any: stp's JSON under `normalization`
    /// or `stp.normalization`, or `mean` and `std` as comma-separated numbers.
    public static func fromMetadata(_ metadata: [String: String], channels: Int) -> Normalization? {
        for key in ["normalization", "stp.normalization"] {
            if let text = metadata[key], let n = try? JSONDecoder().decode(Normalization.self, from: Data(text.utf8)),
               n.channels == channels, n.isValid {
                return n
            }
        }
        if let mean = metadata["mean"], let std = metadata["std"] {
            let text = mean.filter { !"[]() ".contains($0) } + "/" + std.filter { !"[]() ".contains($0) }
            return try? parse(text, channels: channels)
        }
        return nil
    }

    /// Finite means and positive, finite standard deviations (a record could say otherwise).
    public var isValid: Bool { problem() == nil }

    /// What makes this normalisation unusable for images of `channels` channels (nil: not
    /// checked), in words naming the value; nil when it is valid.
    public func problem(channels: Int? = nil) -> String? {
        if mean.isEmpty { return "it has no channels (mean is empty)" }
        if mean.count != std.count { return "it has \(mean.count) means but \(std.count) standard deviations; expected one of each per channel" }
        if let channels, mean.count != channels {
            return "it has \(mean.count) channels but the images have \(channels)"
        }
        if let i = mean.firstIndex(where: { !$0.isFinite }) { return "mean[\(i)] is \(mean[i]); expected a finite number" }
        if let i = std.firstIndex(where: { !($0.isFinite && $0 > 0) }) {
            return "std[\(i)] is \(std[i]); expected a positive finite standard deviation"
        }
        return nil
    }

    /// Text a person reads in a log line.
    public var summary: String {
        func list(_ v: [Float]) -> String { v.map { String(format: "%.4g", $0) }.joined(separator: ", ") }
        return "mean (\(list(mean))), std (\(list(std)))"
    }
}
