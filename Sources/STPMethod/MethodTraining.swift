import Foundation
import STPEngine

// Training with a method's objective through the engine's trainer: the method and its options
// are stored in the run record (key "method"), so `--resume` rebuilds the same objective.

public struct MethodConfig: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case standard, stimulative, slimming }
    public var kind: Kind = .standard
    public var stimulative = StimulativeOptions()
    /// s of the slimming baseline's s * sum |gamma|.
    public var slimmingStrength: Float = 1e-4
    public var expansion: ExpansionPlan?
    /// The architecture the last epochs fine-tune alone (stp prune --finetune), once it is chosen.
    public var fineTune: Architecture?

    public init(kind: Kind = .standard) { self.kind = kind }

    public static let recordKey = "method"
}

public enum MethodTraining {
    /// Installs the objective of `method` on `trainer` and records it.
    public static func configure(_ trainer: Trainer, method: MethodConfig) throws {
        switch method.kind {
        case .standard:
            trainer.objective = CrossEntropyObjective()
        case .stimulative:
            let objective = try StimulativeObjective(spec: trainer.spec, options: method.stimulative, seed: trainer.config.seed)
            objective.expansion = method.expansion
            objective.fineTuneTarget = method.fineTune
            if method.stimulative.teacher == .frozen { objective.teacherNetwork = try frozenTeacher(for: trainer) }
            trainer.objective = objective
        case .slimming:
            trainer.objective = try SlimmingObjective(strength: method.slimmingStrength)
        }
        record(trainer, method: method)
    }

    /// The --init network as it was given, for `--teacher frozen`: read again from its file, so
    /// a resumed run (whose own weights have moved) distils from the same teacher.
    static func frozenTeacher(for trainer: Trainer) throws -> ResNet {
        guard let path = trainer.config.initialWeights else {
            throw STPError(.argument, "--teacher frozen distils from the trained network the run starts from: it needs --init")
        }
        let teacher = ResNet(spec: trainer.spec, seed: trainer.config.seed)
        try InitialNetwork.load(path).apply(to: teacher)
        return teacher
    }

    /// Records `method` in the trainer's run record (saved with its next checkpoint), so that a
    /// resumed run continues with it: stp re-records its branch's expansion target after every
    /// re-search.
    public static func record(_ trainer: Trainer, method: MethodConfig) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding a struct of numbers, strings and arrays cannot fail.
        let data = (try? encoder.encode(method)) ?? Data()
        trainer.setConfiguration(MethodConfig.recordKey, String(decoding: data, as: UTF8.self))
    }

    /// The method a run was trained with (standard for runs without one).
    public static func method(of record: RunRecord, path: String) throws -> MethodConfig {
        guard let text = record.configuration[MethodConfig.recordKey] else { return MethodConfig() }
        do {
            return try JSONDecoder().decode(MethodConfig.self, from: Data(text.utf8))
        } catch {
            throw STPError(.checkpoint, "\(path): the '\(MethodConfig.recordKey)' entry of the run record is not readable (\(error))")
        }
    }

    /// Resumes a run with the objective it was trained with.
    public static func resume(runPath: String) throws -> Trainer {
        let trainer = try Trainer.resume(runPath: runPath)
        try configure(trainer, method: try method(of: trainer.record, path: runPath))
        return trainer
    }
}
