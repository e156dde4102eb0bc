import Dispatch
import Foundation
import STPEngine
import STPMethod

// What the engine shows: the reference architecture and its relative sparsity, the log, and
// the snapshots the UI renders from.
extension SessionEngine {
    func updateReference() {
        let reference: (Architecture, ReferenceKind)?
        if let selected {
            reference = (selected, .selected)
        } else if let best = snap.best {
            reference = (best.architecture, .best)
        } else {
            reference = Baselines.uniformArchitecture(space: space, window: budget.window).map { ($0, .uniform) }
        }
        guard let (architecture, kind) = reference else { return }
        if architecture != snap.reference {
            snap.sparsity = nil
        }
        snap.reference = architecture
        snap.referenceKind = kind
        measureSparsity()
    }

    func measureSparsity() {
        lastSparsity = monotonicSeconds()
        guard let architecture = snap.reference,
              let report = try? RelativeSparsity.measure(trainer.model, architecture: architecture) else { return }
        var ratios = snap.sparsity?.ratioHistory ?? []
        var dropped = snap.sparsity?.droppedHistory ?? []
        if let r = report.meanWeightRatio { ratios.append(r) }
        if let d = report.meanDroppedMagnitude { dropped.append(d) }
        let keep = 240
        snap.sparsity = SparsityView(report: report, ratioHistory: Array(ratios.suffix(keep)), droppedHistory: Array(dropped.suffix(keep)))
    }


    func log(_ level: LogEntry.Level, _ text: String) {
        snap.log.append(LogEntry(time: monotonicSeconds() - started, level: level, text: text))
        if snap.log.count > 200 { snap.log.removeFirst(snap.log.count - 200) }
    }

    func publish(force: Bool = false) {
        let now = monotonicSeconds()
        guard force || now - lastPublish >= options.publishInterval else { return }
        lastPublish = now
        snap.sequence += 1
        snap.elapsed = now - started
        snap.paused = paused
        snap.space?.blockSampleCounts = objective.blockSampleCounts
        snap.space?.widthSampleCounts = objective.widthSampleCounts
        snap.space?.subnetsSampled = objective.blockSampleCounts.first ?? 0
        mailbox.publish(snap)
    }
}
