import STPEngine
import Testing
@testable import STPMethod

// The recipe a prune gets by default depends on whether it starts from a trained network; the
// options a user gives are applied after it (stp prune does so), and nothing else changes.
@Test func aTrainedStartGetsTheFromTrainedRecipeAndAScratchStartThePapers() {
    var config = TrainingConfig()
    #expect(PruneRecipe.for(config) == .fromScratch)
    config.initialWeights = "m20"
    #expect(PruneRecipe.for(config) == .fromTrained)
    #expect(PruneRecipe.fromTrained != PruneRecipe.fromScratch)

    var options = PruneOptions()
    options.training = config
    options.stimulative.lambda = 3
    options.researchEvery = 4
    options.apply(PruneRecipe.for(options.training))
    #expect(options.channelOrder == .l1 && options.stimulativeFraction == 0.2 && options.stimulative.subnetsPerStep == 2)
    #expect(options.stimulative.lambda == 3 && options.researchEvery == 4, "only the recipe's options change")
    // The scratch recipe is the one PruneOptions starts with, so library callers that never
    // apply a recipe get the paper's.
    var plain = PruneOptions()
    let before = plain
    plain.apply(.fromScratch)
    #expect(plain.channelOrder == before.channelOrder && plain.stimulativeFraction == before.stimulativeFraction
            && plain.stimulative.subnetsPerStep == before.stimulative.subnetsPerStep)
}

@Test func theRecipeSaysWhatItSetsAndWhatARunUses() {
    #expect(PruneRecipe.fromTrained.summary == "channel order l1, first search after 20% of the epochs, 2 subnets per step")
    #expect(PruneRecipe.fromScratch.summary == "channel order given, first search after 60% of the epochs, 1 subnet per step")
    var o = PruneOptions()
    o.apply(.fromTrained)
    #expect(PruneRecipe(of: o) == .fromTrained)
    o.stimulative.subnetsPerStep = 3
    #expect(PruneRecipe(of: o).summary.hasSuffix("3 subnets per step"))
}
