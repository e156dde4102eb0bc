// `stp info`: the machine as the engine sees it (BLAS core, threads, CPU features) and, with a
// model, its per-layer table of shapes, parameters and multiply-accumulates.

public enum InfoReport {
    public static func system(_ status: BLASStatus) -> String {
        status.details + "\nEngine:       \(ComputeThreads.workers) compute threads; each layer's work is split across them and"
            + "\n              OpenBLAS runs single-threaded inside each (never both levels at once)"
            + "\n" + bf16Line(BF16Kernels.unavailableReason)
    }

    /// Whether `--precision bf16` can run here, which kernels it uses and what it covers.
    static func bf16Line(_ unavailableReason: String?) -> String {
        if let unavailableReason {
            return "bfloat16:     unavailable (\(unavailableReason)); --precision auto runs fp32"
        }
        return "bfloat16:     AVX512-BF16 (VDPBF16PS) products with --precision bf16 or auto: convolution forward"
            + "\n              passes and stride-1 input gradients; weight gradients, batch norm and the optimizer"
            + "\n              stay fp32 (default: fp32). AMX tiles: not used"
    }

    /// Per-layer table like the summaries of pruning tools: name, kind, output shape, weight
    /// shape, parameters and MACs, with totals.
    public static func modelTable(_ spec: ResNetSpec, subnet: SubnetSelection? = nil, csv: Bool = false) -> String {
        let summary = ModelSummary(spec: spec, subnet: subnet)
        var rows = summary.layers.map { l -> [String] in
            [l.name, l.kind.rawValue, l.outputShape.map(String.init).joined(separator: "x"),
             l.weightShape.isEmpty ? "-" : l.weightShape.map(String.init).joined(separator: "x"),
             formatCount(l.parameters), formatCount(l.macs)]
        }
        rows.append(["total", "", "", "", formatCount(summary.totalParameters), formatCount(summary.totalMACs)])
        let table = TextTable(headers: ["layer", "kind", "output (CxHxW)", "weight", "params", "MACs"], rows: rows)
        if csv { return table.csv() }
        let header = "\(spec.name): \(spec.blocksPerStage.map(String.init).joined(separator: "/")) \(spec.block.rawValue) blocks, "
            + "\(spec.shortcut.rawValue) shortcuts, input \(spec.inputChannels)x\(spec.inputHeight)x\(spec.inputWidth), \(spec.classes) classes\n"
            + "\(formatCount(summary.totalParameters)) parameters (\(formatSI(Double(summary.totalParameters)))), "
            + "\(formatCount(summary.totalMACs)) MACs (\(formatSI(Double(summary.totalMACs)))) per image\n\n"
        return header + table.render()
    }
}
