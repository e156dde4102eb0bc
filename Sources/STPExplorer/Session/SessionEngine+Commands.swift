import Dispatch
import Foundation
import STPEngine
import STPMethod

// The engine side of the UI's commands (ExplorerCommand): taken from the mailbox between
// training steps and search evaluations, applied to the run.
extension SessionEngine {
    func handleCommands() {
        let commands = mailbox.takeCommands()
        guard !commands.isEmpty else { return }
        for command in commands {
            switch command {
            case .pause: setPaused(true)
            case .resume: setPaused(false)
            case .setBudget(let choice):
                if let resolved = choice.resolved {
                    applyBudget(resolved)
                    log(.info, "budget: \(resolved)")
                    // The best known candidate in the new window shows at once (applyBudget); a
                    // budget search then refines it once searches have begun (before that, the
                    // front keeps improving every epoch and training is not interrupted).
                    if snap.search.running { retarget = true } else if snap.search.completed > 0 { searchPending = true }
                    if selected == nil { updateReference() }
                } else {
                    log(.error, (choice.error ?? "'\(choice.text)' is not a budget") + "; the budget stays \(snap.budgetText)")
                }
            case .searchNow:
                if snap.search.running { log(.info, "a search is already running") } else { searchPending = true }
            case .select(let architecture):
                selected = architecture
                updateReference()
            case .export(let architecture):
                export(architecture)
            case .pin(let architectures):
                pinned = architectures
                snap.pinned = architectures
            case .save:
                do {
                    try trainer.save()
                    snap.stepsSinceSave = 0
                    log(.good, "checkpoint saved in \(trainer.runDirectory?.path ?? "-")")
                } catch {
                    log(.error, (error as? STPError)?.message ?? "\(error)")
                }
            case .quit:
                quitRequested = true
            }
        }
        publish(force: true)
    }

    func setPaused(_ value: Bool) {
        guard value != paused else { return }
        paused = value
        snap.paused = value
        log(.info, value ? "paused (training stops after this step)" : "resumed")
    }

    func applyBudget(_ resolved: ResolvedBudget) {
        budget = resolved
        trainer.setConfiguration(ExplorerOptions.budgetKey, resolved.budget.description)
        snap.budgetText = resolved.budget.description
        snap.targetMACs = resolved.targetMACs ?? 0
        snap.window = resolved.window
        refreshBest()
    }
}
