import ArgumentParser
import Foundation
import STPEngine
import STPMethod

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import a trained PyTorch ResNet (torch.save zip or legacy format, or safetensors) as an stp model directory.",
        discussion: """
            Reads the state dict with a restricted unpickler (tensors only; any other Python global is \
            refused and nothing is executed), accepts CIFAR ResNet (layerN..., linear), torchvision \
            (layerN..., downsample, fc) and stp key names with or without a module. prefix, infers the \
            model from the tensors unless --model is given, and writes DIR/checkpoint.safetensors and \
            DIR/run.json. Then: stp eval DIR --data SPEC, stp export DIR, or --init DIR for stp train, \
            prune and explore. The input normalisation belongs to the model: --normalization, else what \
            the checkpoint states, else ImageNet's mean and std (reported as assumed).
            """)

    @Argument(help: "The PyTorch checkpoint (.th, .pt, .pth) or safetensors file.") var file: String
    @Option(name: .customLong("out"), help: "The model directory to write.") var output: String
    @Option(help: "The stp model the file must hold (default: inferred from its tensors): \(ResNetSpec.knownNames.joined(separator: ", ")).")
    var model: String?
    @Option(help: "Input normalisation: \(Normalization.specForms) (default: the checkpoint's, else imagenet).")
    var normalization: String?
    @Option(help: "The data set the model is for, recorded so that stp eval DIR needs no --data (e.g. cifar10:PATH).")
    var data: String?
    @Option(name: .customLong("input-size"), help: "Input height and width (default: 32 for the CIFAR stem, 224 for the ImageNet stem).")
    var inputSize: Int?
    @Flag(help: "Replace a model or run already in --out.") var overwrite = false
    @Flag(help: "Print the report as JSON.") var json = false

    func run() throws {
        try reportingErrors {
            var options = ImportJobOptions(sourcePath: file, outputPath: output)
            options.model = model
            options.normalization = normalization
            options.data = data
            options.inputSize = inputSize
            options.overwrite = overwrite
            let report = try ImportJob.run(options)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
                return
            }
            print("imported \(report.source) (\(report.format), \(report.keyConvention) key names)")
            print("  model \(report.model), \(report.shortcut) shortcuts, \(report.classes) classes, "
                  + "\(CountFormat.string(report.parameters)) parameters, \(CountFormat.string(report.macs)) MACs")
            print("  input normalisation \(report.normalization.summary) (\(report.normalizationSource))")
            if !report.metadata.isEmpty {
                print("  checkpoint also holds: " + report.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
            }
            print("wrote \(report.output); next: stp eval \(report.output)\(data == nil ? " --data SPEC" : ""), or --init \(report.output)")
        }
    }
}
