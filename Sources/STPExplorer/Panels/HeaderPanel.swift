import STPEngine
import STPMethod

// The header: what is being pruned and how far it is. Items flow onto as many lines as the width
// needs (at most `maxLines`), each a label in the dim role and a value in its own role.

enum HeaderPanel {
    static let maxLines = 3

    struct Item {
        var label: String
        var value: String
        var role: ThemeKey
        var attributes: CellAttributes = []
        var width: Int { (label.isEmpty ? 0 : label.count + 1) + value.count }
    }

    /// The header's logical groups (each starts a new line).
    static func groups(_ s: ExplorerSnapshot) -> [[Item]] {
        let spec = s.space
        var what = [Item(label: "", value: "stp explorer", role: .title, attributes: [.bold]),
                    Item(label: "data", value: "\(s.dataDescription) (\(s.trainImages)/\(s.testImages))", role: .mainFg),
                    Item(label: "model", value: s.modelName + (spec.map { " \(Format.macs($0.fullMACs)) MACs \(Format.macs($0.fullParameters)) params" } ?? ""), role: .mainFg)]
        if let run = s.runPath { what.append(Item(label: "run", value: run, role: .inactiveFg)) }

        let phase = s.phase.rawValue + (s.paused ? " (paused)" : "") + (s.stopped ? " (stopped)" : "")
        var progress = [Item(label: "phase", value: phase, role: s.phase == .failed ? .error : .hiFg, attributes: [.bold]),
                        Item(label: "epoch", value: "\(min(s.epoch + 1, max(s.totalEpochs, 1)))/\(s.totalEpochs)", role: .mainFg),
                        Item(label: "step", value: "\(s.step)/\(s.stepsPerEpoch)", role: .mainFg),
                        Item(label: "", value: s.imagesPerSecond.map { String(format: "%.0f img/s", $0) } ?? "- img/s", role: .mainFg),
                        Item(label: "elapsed", value: Format.duration(s.elapsed), role: .mainFg),
                        Item(label: "ETA", value: s.paused ? "paused" : Format.duration(s.eta), role: .mainFg)]
        if let loss = s.runningLoss {
            // A non-finite loss is the one figure the user must not miss: training has diverged.
            progress.append(loss.isFinite
                ? Item(label: "loss", value: Format.number(loss), role: .lossFull)
                : Item(label: "loss", value: Format.number(loss) + " (non-finite outputs: diverged)", role: .error, attributes: [.bold]))
        }
        var budget = [Item(label: "budget", value: "\(s.budgetText), at most \(Format.macs(s.targetMACs)) MACs", role: .budget, attributes: [.bold])]
        if s.search.running {
            budget.append(Item(label: "search", value: "generation \(s.search.generation)/\(s.search.generations), \(s.search.evaluations) evaluated", role: .hiFg))
        } else if s.search.completed > 0 {
            budget.append(Item(label: "search", value: "\(s.search.completed) done, \(s.candidates.count) candidates" + (s.search.lastSeconds.map { ", last \(Format.duration($0))" } ?? ""), role: .mainFg))
        } else {
            budget.append(Item(label: "search", value: "not run yet (s)", role: .inactiveFg))
        }
        if s.front.running {
            budget.append(Item(label: "front", value: "updating, \(s.search.evaluations) evaluated", role: .hiFg))
        } else if s.front.rounds > 0 {
            budget.append(Item(label: "front", value: "\(s.front.points) on the curve, \(Format.duration(s.front.seconds))", role: .mainFg))
        }
        budget.append(Item(label: "BLAS", value: "\(s.blasCore) \(s.blasThreads) thread\(s.blasThreads == 1 ? "" : "s"), \(s.computeThreads) compute threads", role: .mainFg))
        return [what, progress, budget]
    }

    /// Items in the order they are dropped when the header would need more than `maxLines`
    /// lines: the run path first, then the loss, the BLAS details, the model's costs.
    static let dropOrder: [String] = ["run", "loss", "BLAS", "front", "lr", "model", "elapsed"]

    /// The lines of the header at `width`: each group on its own line(s) when that fits in
    /// `maxLines`, else the items flow together; when even that is too long, the least important
    /// items are dropped (in `dropOrder`).
    static func lines(_ s: ExplorerSnapshot, width: Int) -> [[Item]] {
        var groups = groups(s)
        for label in [""] + dropOrder {
            if !label.isEmpty { groups = groups.map { $0.filter { $0.label != label } } }
            let grouped = flow(groups, width: width)
            if grouped.count <= maxLines { return grouped }
            let flowing = flow([groups.flatMap { $0 }], width: width)
            if flowing.count <= maxLines { return flowing }
        }
        return Array(flow([groups.flatMap { $0 }], width: width).prefix(maxLines))
    }

    private static func flow(_ groups: [[Item]], width: Int) -> [[Item]] {
        var lines = [[Item]]()
        for group in groups {
            var line = [Item]()
            var used = 0
            for item in group {
                let w = item.width + (line.isEmpty ? 0 : 2)
                if !line.isEmpty && used + w > width {
                    lines.append(line)
                    line = [item]
                    used = item.width
                } else {
                    line.append(item)
                    used += w
                }
            }
            if !line.isEmpty { lines.append(line) }
        }
        return lines
    }

    static func height(_ s: ExplorerSnapshot, width: Int) -> Int { lines(s, width: width).count }

    static func draw(_ grid: inout CellGrid, _ rect: Rect, _ context: RenderContext) {
        for (row, line) in lines(context.snapshot, width: rect.width).enumerated() where row < rect.height {
            var x = rect.x
            for (i, item) in line.enumerated() {
                if i > 0 { x += 2 }
                if !item.label.isEmpty {
                    x = grid.text(item.label + " ", x: x, y: rect.y + row, role: .inactiveFg, clip: rect)
                }
                x = grid.text(item.value, x: x, y: rect.y + row, role: item.role, attributes: item.attributes, clip: rect)
            }
        }
    }
}
