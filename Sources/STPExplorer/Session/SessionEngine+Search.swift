import Dispatch
import Foundation
import STPEngine
import STPMethod

// Searches and the front over the whole space on the current weights, the candidates they
// publish, and the expansion toward the best candidate.
extension SessionEngine {
    /// The search on the current weights: created the first time, its evaluations forgotten
    /// when training moved on since. Returns whether the weights changed (nothing evaluated yet).
    @discardableResult
    func searchOnCurrentWeights() throws -> (search: KDGuidedSearch, renewed: Bool) {
        if let search, searchWeightsStep == trainer.record.stepsCompleted { return (search, false) }
        searchWeightsStep = trainer.record.stepsCompleted
        if let search {
            search.updateWeights(from: trainer.model)
            return (search, true)
        }
        let s = try KDGuidedSearch(network: trainer.model, space: space, options: options.search, fitnessImages: heldOut,
                                   validation: heldOut, calibrator: calibrator, normalization: trainer.trainLoader.normalization,
                                   batchSize: trainer.config.batchSize)
        s.onEvaluation = { [unowned self] in self.arrived($0) }
        s.latencyModel = latencyModel
        search = s
        return (s, true)
    }

    /// One round of the front over the whole space on this epoch's weights (and up to
    /// frontExtraRounds more while the allowance lasts). On new weights the plotted candidates
    /// are replaced when the first round ends, so the old curve stays on screen until the new
    /// one is complete.
    func runFrontRound() throws {
        frontPending = false
        guard let frontOptions = options.front else { return }
        let t0 = monotonicSeconds()
        let (search, renewed) = try searchOnCurrentWeights()
        if renewed { renewing = [] }
        try evaluatePinned(search)
        snap.front.running = true
        publish(force: true)
        var result = try search.improveFront(frontOptions, rounds: 1, shouldCancel: { [unowned self] in
            self.handleCommands()
            return self.quitRequested || self.searchPending && !renewed
        })
        if renewed { lastRenewalSeconds = monotonicSeconds() - t0 }
        let deadline = t0 + frontAllowance
        if renewed, let fresh = renewing {
            renewing = nil
            snap.candidates = fresh.sorted { ($0.macs, $0.fitness) < ($1.macs, $1.fitness) }
            snap.pareto = KDGuidedSearch.pareto(snap.candidates)
            refreshBest()
        }
        var rounds = 1
        while !result.cancelled && rounds <= options.frontExtraRounds && monotonicSeconds() < deadline && !quitRequested && !searchPending {
            rounds += 1
            result = try search.improveFront(frontOptions, rounds: 1, shouldCancel: { [unowned self] in
                self.handleCommands()
                return self.quitRequested || self.searchPending || monotonicSeconds() >= deadline
            })
        }
        let seconds = monotonicSeconds() - t0
        frontSeconds += seconds
        frontAllowance -= seconds
        snap.front.running = false
        snap.front.rounds += 1
        snap.front.seconds = frontSeconds
        snap.front.points = result.front.count
        if searchWeightsStep == 0 && snap.asImported.isEmpty && startedFromTrainedNetwork {
            // The reference curve of the imported network: kept for the whole run, and not
            // charged to the front's share of the training time (it comes before any training).
            snap.asImported = snap.candidates
            frontAllowance += seconds
        }
        if let first = result.front.first, let last = result.front.last {
            let share = trainingSeconds > 0 ? 100 * frontSeconds / trainingSeconds : 0
            log(.info, String(format: "front: %d candidates on the curve from %@ to %@ MACs (%d evaluated on step %d's weights, %.1f s; the front has taken %.1f%% of the training time)",
                              result.front.count, CountFormat.string(first.candidate.macs), CountFormat.string(last.candidate.macs),
                              result.evaluations, searchWeightsStep, seconds, share))
        }
        updateReference()
        publish(force: true)
    }

    /// The marked architectures on the search's weights (cached ones cost nothing).
    func evaluatePinned(_ search: KDGuidedSearch) throws {
        for a in pinned { _ = try search.evaluate(a) }
    }

    func runSearch() throws {
        searchPending = false
        let t0 = monotonicSeconds()
        let (search, renewed) = try searchOnCurrentWeights()
        if renewed && !snap.candidates.isEmpty {
            snap.candidates = []
            snap.pareto = []
            snap.best = nil
            log(.info, "search on the weights of step \(searchWeightsStep); the earlier candidates are cleared"
                + (pinned.isEmpty ? "" : " (the \(pinned.count) marked are evaluated again)"))
            try evaluatePinned(search)
            // The curve over the whole space comes back on these weights after the search (its
            // time is taken from the front's allowance, which may run into debt).
            if options.front != nil { frontPending = true }
        }
        let previousBest = snap.best?.architecture
        snap.phase = .search
        snap.search.running = true
        snap.search.generation = 0
        log(.info, "search: \(budget)")
        publish(force: true)
        var result: SearchResult
        repeat {
            retarget = false
            result = try search.run(window: budget.window, shouldCancel: { [unowned self] in
                self.handleCommands()
                return self.quitRequested || self.retarget
            }, progress: { [unowned self] p in
                self.snap.search.generation = p.generation
                self.snap.search.evaluations = p.evaluations
                self.publish(force: true)
            })
            if result.cancelled && retarget && !quitRequested { log(.info, "search re-targeted to \(budget)") }
        } while result.cancelled && retarget && !quitRequested
        snap.search.running = false
        snap.phase = phaseNow()
        guard !result.cancelled else {
            log(.warning, "search cancelled")
            publish(force: true)
            return
        }
        snap.candidates = result.evaluated
        snap.pareto = result.pareto
        snap.best = result.best
        snap.search.completed += 1
        snap.search.evaluations = search.evaluationCount
        snap.search.lastSeconds = monotonicSeconds() - t0
        if let best = result.best {
            log(.good, String(format: "search finished: best %@, %@ MACs, KL %.4f, held-out top-1 %.1f%% (%d evaluated, %.1f s)",
                              best.architecture.text, CountFormat.string(best.macs), best.fitness, 100 * best.accuracy,
                              search.evaluationCount, snap.search.lastSeconds ?? 0))
            if best.architecture != previousBest { log(.good, "new best: \(best.architecture.summary(for: trainer.spec))") }
            startOrRetargetExpansion(best.architecture)
        } else {
            log(.warning, "search finished without a candidate in the budget window")
        }
        updateReference()
        publish(force: true)
    }

    func arrived(_ candidate: Candidate) {
        if renewing != nil {
            renewing!.append(candidate)
            snap.search.evaluations = search?.evaluationCount ?? snap.search.evaluations
            return
        }
        let index = snap.candidates.firstIndex { ($0.macs, $0.fitness) > (candidate.macs, candidate.fitness) } ?? snap.candidates.count
        snap.candidates.insert(candidate, at: index)
        snap.pareto = KDGuidedSearch.pareto(snap.candidates)
        refreshBest()
        snap.search.evaluations = search?.evaluationCount ?? snap.search.evaluations
        publish()
    }

    /// The best candidate of the current budget window among those evaluated.
    func refreshBest() {
        snap.best = snap.candidates.filter { budget.window.contains($0.macs) }.min { ($0.fitness, $0.macs) < ($1.fitness, $1.macs) }
    }

    /// Subnet mutating expansion (METHOD.md section 7) after the stimulative phase.
    func startOrRetargetExpansion(_ target: Architecture) {
        guard !trainer.isFinished, trainer.record.epochsCompleted >= schedule.firstSearchEpoch else { return }
        if objective.expansion == nil {
            objective.expansion = schedule.expansion(toward: target, startingAfter: trainer.record.epochsCompleted)
            log(.info, "expansion: subnets are now the target and its mutations")
        } else {
            objective.expansion?.target = target
        }
        method.expansion = objective.expansion
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let data = try? encoder.encode(method) {
            trainer.setConfiguration(MethodConfig.recordKey, String(decoding: data, as: UTF8.self))
        }
        snap.phase = phaseNow()
    }
}
