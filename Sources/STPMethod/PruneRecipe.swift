// The defaults of the method options that depend on where a run starts.
//
// From a trained network (--init) the ablation of issue 26 (docs/RESULTS.md, "Ablation at 70%,
// E = 5", ResNet-20, confirmed at 50 / 85% and on ResNet-56) chose, each measured on top of the
// one before: channels ordered by filter L1 norm before training (+2.7 points), the first search
// after 20% of the epochs and expansion for the rest (+1.6), and two subnets per step (+1.4, for
// 12% more wall time). What lost stays an option: a frozen teacher (+0.1, 16% slower), sampling
// inside the budgets' windows (-1.1), learning rate 0.01 (-2.1).
//
// From scratch there is no channel order to exploit and nothing trained to search early on, so
// the recipe stays the paper's: first channels, search after 60% of the epochs, one subnet.

import STPEngine

public struct PruneRecipe: Sendable, Equatable {
    public var channelOrder: PruneOptions.ChannelOrder
    public var stimulativeFraction: Double
    public var subnetsPerStep: Int

    public init(channelOrder: PruneOptions.ChannelOrder, stimulativeFraction: Double, subnetsPerStep: Int) {
        self.channelOrder = channelOrder
        self.stimulativeFraction = stimulativeFraction
        self.subnetsPerStep = subnetsPerStep
    }

    /// The recipe `options` run with (the defaults and the options given).
    public init(of options: PruneOptions) {
        self.init(channelOrder: options.channelOrder, stimulativeFraction: options.stimulativeFraction,
                  subnetsPerStep: options.stimulative.subnetsPerStep)
    }

    public static let fromScratch = PruneRecipe(channelOrder: .given, stimulativeFraction: 0.6, subnetsPerStep: 1)
    public static let fromTrained = PruneRecipe(channelOrder: .l1, stimulativeFraction: 0.2, subnetsPerStep: 2)

    /// What the recipe sets, for the log: the values a run uses unless the user gives them.
    public var summary: String {
        "channel order \(channelOrder.rawValue), first search after \(Int((100 * stimulativeFraction).rounded()))% of the epochs, \(subnetsPerStep) subnet\(subnetsPerStep == 1 ? "" : "s") per step"
    }

    /// The recipe for a run of `config`: from a trained network when it has initial weights.
    public static func `for`(_ config: TrainingConfig) -> PruneRecipe {
        config.initialWeights == nil ? .fromScratch : .fromTrained
    }
}

extension PruneOptions {
    /// Sets the options the recipe decides; options the user gives are applied after it.
    public mutating func apply(_ recipe: PruneRecipe) {
        channelOrder = recipe.channelOrder
        stimulativeFraction = recipe.stimulativeFraction
        stimulative.subnetsPerStep = recipe.subnetsPerStep
    }
}
