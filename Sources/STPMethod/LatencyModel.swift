import Foundation
import STPEngine

// Measured latency for the search (issue 12): FLOPs are not time, so a budget can be a latency
// ("1.5ms", "2x-faster") and every candidate shows a predicted batch-1 latency and batch-N
// throughput, from a per-block table measured on this machine when a run starts.
//
// How the table is measured (LatencyProfiler.measure):
//   - One physically extracted network per width choice j: every block at its j-th allowed
//     width (the last one when a block has fewer), all blocks kept. Random weights: fp32 time
//     does not depend on the values.
//   - Each network runs its forward pass in eval mode at the table's batch, with the engine's
//     threads, `repetitions` times after a warm-up; ResNet.forward's `blockSeconds` gives each
//     block's time in the context of the whole pass (caches as in real use). The networks take
//     turns, repetition by repetition: the cores are shared with other work, and a slow stretch
//     then slows every network alike (measured one after the other, one network ran 1.5-3x
//     slower than the same network a second later). Every time is a mean over the quietest
//     quarter of its network's passes (LatencyProfiler.quietRepetitions).
//   - A block's term is that time; the base (stem, pooling, classifier, the pass's own
//     overhead) is the median over the networks of total minus the sum of the blocks.
//   - Terms are made non-decreasing in the width per block (LatencyProfiler.nonDecreasingFit),
//     so narrowing a block never predicts a slower network: timing noise would otherwise mislead
//     the repair. A fit, not a running maximum: the maximum carried every upward error of a
//     narrow width into the wider ones, and the full ResNet-56 was predicted 19% slow at batch 1.
// A prediction is base + the terms of the kept blocks. The check measures whole extracted
// networks of random architectures against their predictions, interleaved with the table's own
// networks (LatencyProfiler.measure); `stp prune` prints the worst relative error and stores it
// with the table in report.json (the issue asks for 10%).

/// A per-block latency table of one spec at one batch size and thread count.
public struct LatencyTable: Codable, Sendable, Equatable {
    public var batch: Int
    public var threads: Int
    public var baseNanoseconds: Int
    /// Per block (network order): the measured inner widths, ascending.
    public var widths: [[Int]]
    /// Per block: nanoseconds at each of `widths`.
    public var blockNanoseconds: [[Int]]
    /// Predictions checked against whole measured networks (nil until checked).
    public var check: LatencyCheck?

    /// Block `block`'s time at inner width `width`: measured widths exactly, others by linear
    /// interpolation (or proportional extrapolation beyond the measured range).
    public func blockNanoseconds(_ block: Int, width: Int) -> Int {
        let ws = widths[block], ts = blockNanoseconds[block]
        if let i = ws.firstIndex(of: width) { return ts[i] }
        guard ws.count > 1 else { return Int(Double(ts[0]) * Double(width) / Double(max(ws[0], 1))) }
        var hi = ws.firstIndex { $0 > width } ?? ws.count - 1
        hi = max(hi, 1)
        let lo = hi - 1
        let slope = Double(ts[hi] - ts[lo]) / Double(ws[hi] - ws[lo])
        return max(0, Int((Double(ts[lo]) + slope * Double(width - ws[lo])).rounded()))
    }

    public func nanoseconds(of architecture: Architecture, stageStarts: [Int]) -> Int {
        CostMeasure.latency(self, stageStarts: stageStarts).value(of: architecture)
    }
}

/// Predicted versus measured time of whole networks.
public struct LatencyCheck: Codable, Sendable, Equatable {
    public struct Row: Codable, Sendable, Equatable {
        public var architecture: String
        public var predictedMilliseconds: Double
        public var measuredMilliseconds: Double
        public var relativeError: Double { (predictedMilliseconds - measuredMilliseconds) / measuredMilliseconds }
    }
    public var rows: [Row]
    /// Largest |predicted - measured| / measured.
    public var worstRelativeError: Double { rows.map { abs($0.relativeError) }.max() ?? 0 }
}

/// Batch-1 latency and batch-N throughput tables of one space.
public struct LatencyModel: Codable, Sendable, Equatable {
    /// Batch 1.
    public var latency: LatencyTable
    /// Batch `throughput.batch` (128 for CIFAR-size inputs).
    public var throughput: LatencyTable
    public var stageStarts: [Int]

    public func latencyMilliseconds(of a: Architecture) -> Double {
        Double(latency.nanoseconds(of: a, stageStarts: stageStarts)) / 1e6
    }

    public func imagesPerSecond(of a: Architecture) -> Double {
        Double(throughput.batch) / (Double(throughput.nanoseconds(of: a, stageStarts: stageStarts)) / 1e9)
    }

    /// The batch of the throughput table: 128 as in training for inputs up to 64 px, 16 for
    /// ImageNet-size inputs (a batch of 128 at 224 px takes seconds per pass to measure).
    public static func throughputBatch(for spec: ResNetSpec) -> Int { spec.inputHeight <= 64 ? 128 : 16 }

    /// Measures both tables of `space` and checks each on `checkArchitectures` random
    /// architectures. A few seconds for a CIFAR ResNet here; `progress` gets a line per step.
    /// `throughputBatch` nil: `throughputBatch(for:)`.
    public static func measure(space: ArchitectureSpace, checkArchitectures: Int = 4, seed: UInt64 = 0,
                               throughputBatch: Int? = nil, progress: (String) -> Void = { _ in }) throws -> LatencyModel {
        var tables = [LatencyTable]()
        for batch in [1, throughputBatch ?? Self.throughputBatch(for: space.spec)] {
            progress("latency model: timing \(space.spec.name) blocks at batch \(batch)")
            tables.append(try LatencyProfiler.measure(space: space, batch: batch, checkArchitectures: checkArchitectures, seed: seed))
        }
        return LatencyModel(latency: tables[0], throughput: tables[1], stageStarts: space.cost.stageStarts)
    }

    /// The same model on every rank of a data-parallel job: each rank measured its own (the
    /// figures differ by timing noise), and the search windows must agree, so every time is
    /// replaced by its mean over the ranks (the check figures too).
    public func agreed(over communicator: any Communicator) -> LatencyModel {
        guard communicator.isDistributed else { return self }
        func times(_ t: LatencyTable) -> [Double] {
            [Double(t.baseNanoseconds)] + t.blockNanoseconds.flatMap { $0.map(Double.init) }
                + (t.check?.rows.flatMap { [$0.predictedMilliseconds, $0.measuredMilliseconds] } ?? [])
        }
        func replaced(_ t: LatencyTable, _ values: ArraySlice<Double>) -> LatencyTable {
            var t = t
            var i = values.startIndex
            func next() -> Double { defer { i += 1 }; return values[i] / Double(communicator.size) }
            t.baseNanoseconds = Int(next().rounded())
            t.blockNanoseconds = t.blockNanoseconds.map { $0.map { _ in Int(next().rounded()) } }
            if var check = t.check {
                for r in check.rows.indices {
                    check.rows[r].predictedMilliseconds = next()
                    check.rows[r].measuredMilliseconds = next()
                }
                t.check = check
            }
            return t
        }
        let a = times(latency), b = times(throughput)
        var values = a + b
        communicator.allreduceSum(&values)
        return LatencyModel(latency: replaced(latency, values[0..<a.count]),
                            throughput: replaced(throughput, values[a.count...]), stageStarts: stageStarts)
    }

    /// One line for a console: the model's reach and how well it predicted whole networks.
    public var summary: String {
        func err(_ t: LatencyTable) -> String {
            t.check.map { String(format: "worst error %.1f%% on %d networks", 100 * $0.worstRelativeError, $0.rows.count) } ?? "not checked"
        }
        return "latency model (\(latency.threads) threads): batch 1 \(err(latency)); batch \(throughput.batch) \(err(throughput))"
    }
}

public enum LatencyProfiler {
    /// Times of one network: the total and each block's (0 for dropped blocks), means over its quiet passes.
    public struct NetworkTiming: Sendable {
        public var totalSeconds: Double
        public var blockSeconds: [Double]
    }

    /// Runs `architecture`'s extracted network (random weights) `repetitions` times at `batch`
    /// after `warmup` passes, or fewer when `maxSeconds` runs out (at least `minRepetitions`).
    public static func time(spec: ResNetSpec, architecture: Architecture, batch: Int, warmup: Int = 2,
                            repetitions: Int = 25, minRepetitions: Int = 5, maxSeconds: Double = 0.6) throws -> NetworkTiming {
        try time(spec: spec, architectures: [architecture], batch: batch, warmup: warmup, repetitions: repetitions,
                 minRepetitions: minRepetitions, maxSeconds: maxSeconds)[0]
    }

    /// The timings of several networks, interleaved: repetition r of every network runs before
    /// repetition r + 1 of any, so a slow stretch of the machine (the cores are shared) slows
    /// them all alike instead of one network's every repetition. `maxSeconds` is per network.
    public static func time(spec: ResNetSpec, architectures: [Architecture], batch: Int, warmup: Int = 2,
                            repetitions: Int = 25, minRepetitions: Int = 5, maxSeconds: Double = 0.6) throws -> [NetworkTiming] {
        let networks = try architectures.map { ResNet(spec: try Extraction.extractedSpec(of: spec, architecture: $0), seed: 1) }
        let count = batch * spec.inputHeight * spec.inputWidth * spec.inputChannels
        let input = FloatBuffer(count: count)
        var rng = SeededRandom(seed: 7)
        for i in 0..<count { input.pointer[i] = Float(rng.next() % 1000) / 1000 }
        var perBlock = networks.map { [[Double]](repeating: [], count: $0.spec.blockCount) }
        var totals = [[Double]](repeating: [], count: networks.count)
        var scratch = [Double](repeating: 0, count: networks.map(\.spec.blockCount).max() ?? 0)
        for network in networks {
            for _ in 0..<warmup { network.forward(input.pointer, batch: batch, mode: .eval) }
        }
        let start = monotonicSeconds()
        for r in 0..<repetitions {
            if r >= minRepetitions && monotonicSeconds() - start > maxSeconds * Double(networks.count) { break }
            for (i, network) in networks.enumerated() {
                let t0 = monotonicSeconds()
                _ = scratch.withUnsafeMutableBufferPointer { network.forward(input.pointer, batch: batch, mode: .eval, blockSeconds: $0) }
                totals[i].append(monotonicSeconds() - t0)
                for b in 0..<network.spec.blockCount { perBlock[i][b].append(scratch[b]) }
            }
        }
        return architectures.enumerated().map { i, architecture in
            // Extracted block j of stage s is the spec's block stageStart(s) + j.
            let map = Extraction.blockMapping(of: spec, architecture: architecture)
            var full = [Double](repeating: 0, count: spec.blockCount)
            let quiet = quietRepetitions(totals[i])
            func mean(_ values: [Double]) -> Double { quiet.map { values[$0] }.reduce(0, +) / Double(max(1, quiet.count)) }
            for (j, b) in map.enumerated() { full[b] = mean(perBlock[i][j]) }
            return NetworkTiming(totalSeconds: mean(totals[i]), blockSeconds: full)
        }
    }

    /// The table of `space` at `batch` (see the top of this file), checked on
    /// `checkArchitectures` whole networks (`checkedArchitectures`) when that is above 0.
    ///
    /// The checked networks take turns with the table's own, repetition by repetition, in one
    /// timing: measured after the table, a drift of the shared cores between the two phases
    /// showed as error of the model (session 10: every network over-predicted, by up to 55%,
    /// the full network included, whose prediction is its own measurement by construction).
    public static func measure(space: ArchitectureSpace, batch: Int, checkArchitectures: Int = 0,
                               seed: UInt64 = 0) throws -> LatencyTable {
        let spec = space.spec
        let choices = space.allowedWidths.map(\.count).max() ?? 1
        var samples = [[(width: Int, seconds: Double)]](repeating: [], count: spec.blockCount)
        var bases = [Double]()
        let networks = (0..<choices).map { j in
            spec.blocksPerStage.indices.map { s in
                (0..<spec.blocksPerStage[s]).map { i -> Int in
                    let allowed = space.allowedWidths(stage: s, position: i)
                    return allowed[min(j, allowed.count - 1)]
                }
            }
        }
        let checked = checkedArchitectures(space, count: checkArchitectures, seed: seed)
        let timings = try time(spec: spec, architectures: networks.map { Architecture(unchecked: $0) } + checked, batch: batch)
        for (widths, t) in zip(networks, timings) {
            bases.append(t.totalSeconds - t.blockSeconds.reduce(0, +))
            for (b, k) in widths.flatMap({ $0 }).enumerated() { samples[b].append((k, t.blockSeconds[b])) }
        }
        var widthTable = [[Int]](), timeTable = [[Int]]()
        for b in 0..<spec.blockCount {
            // The same width measured twice (a block with fewer choices): the median of both.
            let grouped = Dictionary(grouping: samples[b], by: \.width)
            let ws = grouped.keys.sorted()
            let ts = nonDecreasingFit(ws.map { median(grouped[$0]!.map(\.seconds)) * 1e9 })
            widthTable.append(ws)
            timeTable.append(ts.map { Int($0.rounded()) })
        }
        var table = LatencyTable(batch: batch, threads: ComputeThreads.workers,
                                 baseNanoseconds: max(0, Int((median(bases) * 1e9).rounded())),
                                 widths: widthTable, blockNanoseconds: timeTable, check: nil)
        if !checked.isEmpty {
            table.check = checkRows(table, space: space, architectures: checked, timings: Array(timings[networks.count...]))
        }
        return table
    }

    /// The architectures a check measures: the smallest and the full one first, then random ones.
    static func checkedArchitectures(_ space: ArchitectureSpace, count: Int, seed: UInt64) -> [Architecture] {
        guard count > 0 else { return [] }
        var rng = SeededRandom(seed: seed &+ 0x1a7e)
        var picked = [space.smallest, space.largest]
        while picked.count < count { picked.append(space.randomArchitecture(using: &rng)) }
        return Array(picked.prefix(count))
    }

    /// Predicted against measured time of whole networks, one row per architecture.
    static func checkRows(_ table: LatencyTable, space: ArchitectureSpace, architectures: [Architecture],
                          timings: [NetworkTiming]) -> LatencyCheck {
        LatencyCheck(rows: zip(architectures, timings).map { a, t in
            LatencyCheck.Row(architecture: a.text,
                             predictedMilliseconds: Double(table.nanoseconds(of: a, stageStarts: space.cost.stageStarts)) / 1e6,
                             measuredMilliseconds: t.totalSeconds * 1000)
        })
    }

    /// The repetitions whose total time is at or below the 25th percentile: the passes the
    /// shared cores left alone (a median still moved by 30% between runs at batch 1; single
    /// passes of 0.1 ms catch interrupts). A network's total and its blocks' times are means over
    /// the same quiet passes, so the blocks and the rest add up to the total. (A lower quartile
    /// per block did not: summed over the 27 blocks of a ResNet-56 it fell short of the total's,
    /// the difference went into the base, and the smallest networks were over-predicted by up to
    /// 55%.)
    static func quietRepetitions(_ totals: [Double]) -> [Int] {
        guard !totals.isEmpty else { return [] }
        let order = totals.indices.sorted { totals[$0] < totals[$1] }
        return Array(order.prefix((totals.count - 1) / 4 + 1))
    }

    /// The closest non-decreasing sequence to `values` in least squares (pool adjacent
    /// violators: a run that decreases is replaced by its mean).
    static func nonDecreasingFit(_ values: [Double]) -> [Double] {
        var blocks = [(sum: Double, count: Int)]()
        for v in values {
            blocks.append((v, 1))
            while blocks.count > 1,
                  blocks[blocks.count - 2].sum / Double(blocks[blocks.count - 2].count)
                    > blocks[blocks.count - 1].sum / Double(blocks[blocks.count - 1].count) {
                let last = blocks.removeLast()
                blocks[blocks.count - 1].sum += last.sum
                blocks[blocks.count - 1].count += last.count
            }
        }
        return blocks.flatMap { [Double](repeating: $0.sum / Double($0.count), count: $0.count) }
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
