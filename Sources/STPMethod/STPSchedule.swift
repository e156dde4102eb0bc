// When the STP method does what over E epochs (METHOD.md sections 5-7), in one place: `stp prune`
// (PrunePipeline) and the explorer (SessionEngine) both follow it.
//
//   epochs 0 ..< firstSearchEpoch     stimulative training over the whole space
//   after firstSearchEpoch            the first KD-guided search; subnet mutating expansion toward
//                                     its best starts (when epochs remain)
//   every researchEvery epochs after  a re-search; the expansion re-targets to its best
//   after the last epoch              a final search (also when it falls between re-searches)

public struct STPSchedule: Sendable, Equatable {
    public let epochs: Int
    /// Epochs of stimulative training over the whole space before the first search: the
    /// fraction of the epochs, rounded, at least 1 and at most all; 0 when there are no epochs
    /// (`stp prune --epochs 0` searches the network it was given as it is).
    public let firstSearchEpoch: Int
    public let researchEvery: Int

    public init(epochs: Int, stimulativeFraction: Double, researchEvery: Int) {
        self.epochs = max(0, epochs)
        firstSearchEpoch = min(self.epochs, max(1, Int((Double(self.epochs) * stimulativeFraction).rounded())))
        self.researchEvery = max(1, researchEvery)
    }

    /// Whether a search is due once `epoch` epochs are complete.
    public func searchDue(afterEpoch epoch: Int) -> Bool {
        epoch >= firstSearchEpoch && ((epoch - firstSearchEpoch) % researchEvery == 0 || epoch == epochs)
    }

    /// The epochs after which searches run, in order (the first one included).
    public var searchEpochs: [Int] { (firstSearchEpoch...epochs).filter(searchDue(afterEpoch:)) }

    /// Whether training continues after the first search (with subnet mutating expansion).
    public var hasExpansion: Bool { firstSearchEpoch < epochs }

    /// Subnet mutating expansion toward `target`, starting after `epoch` epochs (the first
    /// search's, or a later one's when a person searched later) and ending with training.
    public func expansion(toward target: Architecture, startingAfter epoch: Int) -> ExpansionPlan {
        ExpansionPlan(target: target, startEpoch: Double(epoch), endEpoch: Double(epochs))
    }
}
