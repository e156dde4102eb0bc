import Dispatch
import Foundation
import STPEngine
import STPMethod

// Exporting a candidate: extract, recalibrate, evaluate, save with ONNX.
extension SessionEngine {
    func export(_ architecture: Architecture) {
        guard let runPath = trainer.runDirectory?.path else {
            log(.error, "export needs a run directory")
            return
        }
        do {
            // Any architecture of the network extracts (the uniform reference is not always one of
            // the space's width choices).
            try architecture.validate(for: trainer.spec)
            log(.info, "export: extracting \(architecture.text)")
            publish(force: true)
            let result = try CandidateExport.run(supernet: trainer.model, architecture: architecture, calibrator: calibrator,
                                                 testLoader: trainer.testLoader, runPath: runPath,
                                                 normalization: trainer.trainLoader.normalization, dataSpec: trainer.config.data,
                                                 convention: trainer.record.keyConvention)
            try trainer.save()
            snap.stepsSinceSave = 0
            if !snap.exported.contains(architecture.text) { snap.exported.append(architecture.text) }
            snap.phase = snap.search.running ? .search : phaseNow()
            log(.good, String(format: "exported %@ MACs, test top-1 %.2f%% without fine-tuning: %@ (model.onnx, model.safetensors); checkpoint saved",
                              CountFormat.string(result.macs), 100 * result.test.top1, result.directory))
        } catch {
            log(.error, "export failed: " + ((error as? STPError)?.message ?? "\(error)"))
        }
    }
}
