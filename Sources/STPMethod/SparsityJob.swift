import STPEngine

// `stp sparsity RUN [--arch A]`: the relative-sparsity table of a saved network for a reference
// architecture. Without one, the reference is every block at half its width, full depth (the
// shape of a typical 50% budget), so that runs can be compared without a search result.

public enum SparsityJob {
    public static func defaultArchitecture(for spec: ResNetSpec) throws -> Architecture {
        var widths = [[Int]]()
        var b = 0
        for n in spec.blocksPerStage {
            widths.append((0..<n).map { i in ArchitectureSpace.round(ratio: 0.5, full: spec.innerWidths[b + i], divisor: 1) })
            b += n
        }
        return try Architecture(widths: widths)
    }

    public static func run(runPath: String, architecture text: String?) throws -> RelativeSparsityReport {
        let saved = try SavedRun.load(runPath)
        let architecture = try text.map { try Architecture(parsing: $0) } ?? defaultArchitecture(for: saved.model.spec)
        return try RelativeSparsity.measure(saved.model, architecture: architecture)
    }
}
