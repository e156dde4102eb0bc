import Foundation
import STPEngine

// Extraction (METHOD.md section 8): a physically smaller, plain ResNet (no masks, no slicing at
// run time) holding exactly the weights a subnet of the supernet uses. Its spec keeps the
// supernet's stages and residual widths, with blocksPerStage = the kept depths and
// blockInnerWidths = the kept widths.
//
// Every tensor of the extracted network has a counterpart in the supernet (block j of stage s is
// the supernet's block stageStart(s) + j) and is no larger in any dimension; the engine's subnet
// slicing uses the leading channels of every dimension (first k output channels of an inner
// convolution and its BN, first k input channels of the next convolution), so copying the leading
// sub-tensor reproduces the subnet exactly: stem, fc and shortcuts whole, inner convolutions,
// BN gamma/beta and running statistics cut to k.

public enum Extraction {
    /// The spec of the network that `architecture` of `spec` extracts to.
    public static func extractedSpec(of spec: ResNetSpec, architecture: Architecture, name: String? = nil) throws -> ResNetSpec {
        try architecture.validate(for: spec)
        var out = spec
        out.name = name ?? (spec.name.hasSuffix("-pruned") ? spec.name : spec.name + "-pruned")
        out.blocksPerStage = architecture.depths
        out.blockInnerWidths = architecture.widths.flatMap { $0 }
        try out.validate()
        return out
    }

    /// For every block of the extracted network, the index of its supernet block.
    public static func blockMapping(of spec: ResNetSpec, architecture: Architecture) -> [Int] {
        var map = [Int]()
        var start = 0
        for (s, n) in spec.blocksPerStage.enumerated() {
            for j in 0..<architecture.depths[s] { map.append(start + j) }
            start += n
        }
        return map
    }

    /// Builds the extracted network and copies the supernet's weights and BN statistics into it.
    public static func extract(from supernet: ResNet, architecture: Architecture, name: String? = nil) throws -> ResNet {
        let spec = try extractedSpec(of: supernet.spec, architecture: architecture, name: name)
        let network = ResNet(spec: spec)
        let map = blockMapping(of: supernet.spec, architecture: architecture)

        var source = [String: (shape: [Int], value: FloatBuffer)]()
        for p in supernet.parameters { source[p.name] = (p.shape, p.value) }
        for s in supernet.stateBuffers { source[s.name] = (s.shape, s.value) }

        func supernetName(_ name: String) -> String {
            guard name.hasPrefix("blocks.") else { return name }
            let rest = name.dropFirst("blocks.".count)
            guard let dot = rest.firstIndex(of: "."), let j = Int(rest[..<dot]) else { return name }
            return "blocks.\(map[j])" + rest[dot...]
        }
        let targets = network.parameters.map { ($0.name, $0.shape, $0.value) }
            + network.stateBuffers.map { ($0.name, $0.shape, $0.value) }
        for (name, shape, value) in targets {
            let from = supernetName(name)
            guard let src = source[from] else {
                throw STPError(.engine, "extraction: tensor \(name) needs supernet tensor \(from), which \(supernet.spec.name) does not have")
            }
            try copyLeading(from: src.value, shape: src.shape, to: value, shape: shape, what: "\(from) -> \(name)")
        }
        for p in network.parameters { p.markChanged() }
        return network
    }

    /// Copies the leading sub-tensor of shape `dstShape` of a row-major tensor of `srcShape`.
    static func copyLeading(from src: FloatBuffer, shape srcShape: [Int], to dst: FloatBuffer, shape dstShape: [Int],
                            what: String) throws {
        guard srcShape.count == dstShape.count, zip(srcShape, dstShape).allSatisfy({ $0 >= $1 }) else {
            throw STPError(.engine, "extraction: \(what): shape \(dstShape) does not fit inside the supernet's \(srcShape)")
        }
        let count = dstShape.reduce(1, *)
        guard count > 0 else { return }
        var srcStrides = Array(repeating: 1, count: srcShape.count)
        for d in stride(from: srcShape.count - 2, through: 0, by: -1) { srcStrides[d] = srcStrides[d + 1] * srcShape[d + 1] }
        var index = Array(repeating: 0, count: dstShape.count)
        let s = src.pointer, t = dst.pointer
        for flat in 0..<count {
            var offset = 0
            for d in index.indices { offset += index[d] * srcStrides[d] }
            t[flat] = s[offset]
            var d = index.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < dstShape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }
}

/// An extracted network with what rebuilds it: saved as `model.safetensors` (weights and BN
/// statistics under stp's names, what stp reads), `pytorch.safetensors` (the same tensors under
/// the key names of the network the user brought, or of the usual PyTorch code for its shape;
/// `scripts/load_pruned.py` builds the matching torch.nn.Module from architecture.json and loads
/// it) and `architecture.json` (the extracted spec, the architecture, the supernet it came from,
/// the key names and the input normalisation), all written atomically.
public struct ExtractedModel: Sendable {
    public static let weightsFile = "model.safetensors"
    public static let pytorchWeightsFile = "pytorch.safetensors"
    public static let descriptionFile = "architecture.json"
    public static let formatVersion = 1

    /// What `architecture.json` holds.
    public struct Info: Codable, Equatable, Sendable {
        public var format = "stp-extracted"
        public var formatVersion = ExtractedModel.formatVersion
        /// The spec of the extracted network (builds it).
        public var spec: ResNetSpec
        /// The architecture of the supernet that was extracted.
        public var architecture: Architecture
        /// The text form of the architecture, for people reading the file.
        public var architectureText: String
        /// The supernet's spec.
        public var supernetSpec: ResNetSpec
        /// Where the supernet came from (a run directory, a checkpoint), free text.
        public var source: String
        public var macs: Int
        public var parameters: Int
        /// The key names of `pytorch.safetensors` (absent in files written before it existed).
        public var pytorchKeys: KeyConvention?
        /// The input normalisation the network expects (pixels scaled to 0...1 first).
        public var normalization: Normalization?
        /// The data set it was trained and evaluated on (a --data spec), and the epochs trained,
        /// so that `stp eval` and `stp export` need nothing but this directory (absent in files
        /// written before they were recorded: those fall back to `source`, a run directory).
        public var data: String?
        public var epochs: Int?
    }

    public let info: Info
    public let network: ResNet

    public var spec: ResNetSpec { info.spec }
    public var architecture: Architecture { info.architecture }

    /// Extracts `architecture` from `supernet`.
    public init(supernet: ResNet, architecture: Architecture, source: String, name: String? = nil) throws {
        let network = try Extraction.extract(from: supernet, architecture: architecture, name: name)
        let summary = ModelSummary(spec: network.spec)
        info = Info(spec: network.spec, architecture: architecture, architectureText: architecture.text,
                                  supernetSpec: supernet.spec, source: source,
                                  macs: summary.totalMACs, parameters: summary.totalParameters)
        self.network = network
    }

    private init(info: Info, network: ResNet) {
        self.info = info
        self.network = network
    }

    /// Writes the weights (stp's names, then PyTorch's), then the description (each atomically)
    /// into `directory`, creating it. `convention` names the PyTorch tensors (default: the
    /// natural one for the network's shape); `normalization` is recorded for PyTorch users and,
    /// with `data` and `epochs`, for `stp eval` and `stp export`.
    public func save(to directory: String, normalization: Normalization? = nil, convention: KeyConvention? = nil,
                     data: String? = nil, epochs: Int? = nil) throws {
        var info = self.info
        info.pytorchKeys = convention ?? KeyConvention.natural(for: spec)
        info.normalization = normalization
        info.data = data
        info.epochs = epochs
        try AtomicFile.createDirectory(directory)
        let weights = (directory as NSString).appendingPathComponent(Self.weightsFile)
        let json = (directory as NSString).appendingPathComponent(Self.descriptionFile)
        let tensors = ModelState.tensors(of: network, optimizer: nil)
        try SafeTensorsFile.write(tensors: tensors,
                                  metadata: ["format": info.format, "architecture": architecture.text,
                                             "model": spec.name],
                                  to: weights)
        let keys = info.pytorchKeys ?? .stp
        let renamed = tensors.map { t in
            SafeTensor(name: keys.externalName(of: t.name, spec: spec), dtype: t.dtype, shape: t.shape, bytes: t.bytes)
        }
        // "format": "pt" is what safetensors' torch loader writes; it tells readers the layout is PyTorch's.
        try SafeTensorsFile.write(tensors: renamed,
                                  metadata: ["format": "pt", "architecture": architecture.text, "model": spec.name,
                                             "key_convention": keys.rawValue],
                                  to: (directory as NSString).appendingPathComponent(Self.pytorchWeightsFile))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data: Data
        do {
            data = try encoder.encode(info)
        } catch {
            throw STPError.file(.checkpoint, json, "cannot encode the architecture description: \(error)")
        }
        data.append(0x0a)
        try AtomicFile.write(data, to: json)
    }

    /// Rebuilds a saved extracted network. Errors name the file and what was expected.
    public static func load(from directory: String) throws -> ExtractedModel {
        let json = (directory as NSString).appendingPathComponent(descriptionFile)
        let data = Data(try RegularFile.read(json, kind: .checkpoint, what: "the extracted model's description (architecture.json, written by stp prune)"))
        let info: Info
        do {
            info = try JSONDecoder().decode(Info.self, from: data)
        } catch let e as STPError {
            throw STPError.file(.checkpoint, json, e.message)
        } catch {
            throw STPError.file(.checkpoint, json, "expected an stp extracted-model description (format \"stp-extracted\"): \(error)")
        }
        guard info.format == "stp-extracted", info.formatVersion == formatVersion else {
            throw STPError.file(.checkpoint, json, "expected format \"stp-extracted\" version \(formatVersion), found \"\(info.format)\" version \(info.formatVersion)")
        }
        do {
            try info.spec.validate()
            let rebuilt = try Extraction.extractedSpec(of: info.supernetSpec, architecture: info.architecture,
                                                       name: info.spec.name)
            guard rebuilt == info.spec else {
                throw STPError(.checkpoint, "the spec does not match the architecture \(info.architecture.text) of \(info.supernetSpec.name)")
            }
        } catch let e as STPError {
            throw STPError.file(.checkpoint, json, e.message)
        }
        let network = ResNet(spec: info.spec)
        let weights = (directory as NSString).appendingPathComponent(weightsFile)
        try ModelState.load(network, optimizer: nil, from: try SafeTensorsFile.read(path: weights))
        return ExtractedModel(info: info, network: network)
    }
}
