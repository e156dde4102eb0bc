import STPEngine

// The baselines of METHOD.md section 5, all expressed as an Architecture so that every method is
// extracted, recalibrated and evaluated by the same code:
//   uniform / st-uniform: every block at the same width ratio, full depth, first-k channels;
//   l1-filter: widths chosen uniformly, but each block keeps its conv1 filters of largest L1 norm;
//   slimming: a global threshold on BN |gamma| chooses how many and which channels each block keeps.
// Channel choices other than "the first k" are realised by permuting a block's inner channels
// (conv1 filters, its BN, conv2's input channels) so the chosen ones come first; the network's
// function is unchanged by the permutation, and first-k slicing then keeps exactly them. The
// permutation is made in place, so a network that other methods also read (one CE run serves
// uniform and l1-filter) is permuted as a copy (PrunePipeline's baselineChoice).

public enum Baselines {
    /// The widest uniform-ratio, full-depth architecture at or below the budget (nil if none is).
    /// Rounding to whole channels may leave it below the window's lower end; its FLOPs are reported.
    public static func uniformArchitecture(space: ArchitectureSpace, window: ClosedRange<Int>,
                                           measure: CostMeasure? = nil) -> Architecture? {
        let spec = space.spec
        let measure = measure ?? .macs(space.cost)
        func architecture(_ ratio: Double) -> Architecture? {
            var widths = [[Int]]()
            var b = 0
            for n in spec.blocksPerStage {
                widths.append((0..<n).map { i in ArchitectureSpace.round(ratio: ratio, full: spec.innerWidths[b + i], divisor: space.options.divisor) })
                b += n
            }
            return try? Architecture(widths: widths)
        }
        // The cost (MACs, or a latency table made non-decreasing in the width) grows with the
        // ratio: bisect for the largest ratio whose cost is within the budget.
        var lo = 0.0, hi = 1.0
        for _ in 0..<40 {
            let mid = (lo + hi) / 2
            if let a = architecture(mid), measure.value(of: a) <= window.upperBound { lo = mid } else { hi = mid }
        }
        guard let a = architecture(lo), measure.value(of: a) <= window.upperBound else { return nil }
        return a
    }

    /// Puts each kept block's chosen inner channels first, in place. `order[b]` lists block b's
    /// inner channels, most important first (a permutation of 0..<innerWidth).
    public static func reorderInnerChannels(_ model: ResNet, order: [[Int]]) {
        for (b, block) in model.blocks.enumerated() {
            let perm = order[b]
            precondition(perm.count == block.planes && Set(perm).count == perm.count, "order of block \(b) is not a permutation")
            // Every unit but the last produces inner channels; the next unit consumes them.
            for u in 0..<(block.units.count - 1) {
                let producer = block.units[u], consumer = block.units[u + 1]
                permuteOutputs(producer.conv.weight, perm)
                for p in [producer.bn.gamma.value, producer.bn.beta.value, producer.bn.runningMean.value, producer.bn.runningVar.value] {
                    let old = p.array
                    for (i, src) in perm.enumerated() { p[i] = old[src] }
                }
                permuteInputs(consumer.conv.weight, perm)
            }
            // A bottleneck's 3x3 also consumes conv1's channels and produces its own; the same order
            // is used for both (they share the block's inner width), which keeps the function.
        }
    }

    private static func permuteOutputs(_ w: Parameter, _ perm: [Int]) {
        let per = w.count / w.shape[0], old = w.value.array
        for (i, src) in perm.enumerated() {
            for j in 0..<per { w.pointer[i * per + j] = old[src * per + j] }
        }
    }

    private static func permuteInputs(_ w: Parameter, _ perm: [Int]) {
        let out = w.shape[0], cin = w.shape[1], taps = w.count / (out * cin), old = w.value.array
        for o in 0..<out { for (i, src) in perm.enumerated() { for t in 0..<taps {
            w.pointer[(o * cin + i) * taps + t] = old[(o * cin + src) * taps + t]
        } } }
    }

    /// L1-filter ordering: conv1 filters by decreasing L1 norm.
    public static func l1Order(_ model: ResNet) -> [[Int]] {
        model.blocks.map { block in
            let w = block.units[0].conv.weight, per = w.count / w.shape[0]
            let norms = (0..<w.shape[0]).map { o in (0..<per).reduce(Float(0)) { $0 + abs(w.pointer[o * per + $1]) } }
            return (0..<norms.count).sorted { (norms[$0], -$0) > (norms[$1], -$1) }
        }
    }

    /// Slimming ordering: the inner BN's channels by decreasing |gamma|.
    public static func gammaOrder(_ model: ResNet) -> [[Int]] {
        model.blocks.map { block in
            let g = block.units[0].bn.gamma.value.array.map(abs)
            return (0..<g.count).sorted { (g[$0], -$0) > (g[$1], -$1) }
        }
    }

    /// Slimming's architecture: the channels whose |gamma| exceeds one global threshold, the
    /// threshold as low as the budget allows (at least one channel per block, full depth).
    public static func slimmingArchitecture(_ model: ResNet, space: ArchitectureSpace, window: ClosedRange<Int>,
                                            measure: CostMeasure? = nil) -> Architecture? {
        let spec = model.spec
        let measure = measure ?? .macs(space.cost)
        let gammas = model.blocks.map { $0.units[0].bn.gamma.value.array.map(abs) }
        func architecture(_ threshold: Float) -> Architecture? {
            var widths = [[Int]]()
            var b = 0
            for n in spec.blocksPerStage {
                widths.append((0..<n).map { i in max(1, gammas[b + i].filter { $0 > threshold }.count) })
                b += n
            }
            return try? Architecture(widths: widths)
        }
        let all = gammas.flatMap { $0 }.sorted()
        var lo = 0, hi = all.count - 1   // index of the threshold in `all`
        while lo < hi {
            let mid = (lo + hi) / 2
            if let a = architecture(all[mid]), measure.value(of: a) <= window.upperBound { hi = mid } else { lo = mid + 1 }
        }
        return architecture(all[lo])
    }
}
