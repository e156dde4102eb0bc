import STPTestSupport
import Testing
@testable import STPEngine
@testable import STPMethod

// Baselines: reordering inner channels keeps the network's function, and each baseline's
// architecture meets the budget.

@Test(arguments: [false, true])
func reorderingInnerChannelsKeepsTheFunction(bottleneck: Bool) throws {
    let spec = bottleneck ? tinyBottleneckSpec() : tinyBasicSpec()
    let model = ResNet(spec: spec, seed: 6)
    randomizeNormalization(model, seed: 7)
    let input = gaussians(2 * spec.inputHeight * spec.inputWidth * 3, seed: 8)
    let before = evalLogits(model, input, batch: 2)
    var rng = SeededRandom(seed: 9)
    let order = model.blocks.map { b in (0..<b.planes).shuffled(using: &rng) }
    let w = model.blocks[0].units[0].conv.weight, per = w.count / w.shape[0]
    let gammaBefore = model.blocks[0].units[0].bn.gamma.value.array
    let weightsBefore = w.value.array
    Baselines.reorderInnerChannels(model, order: order)
    let after = evalLogits(model, input, batch: 2)
    for i in 0..<before.count { #expect(abs(before[i] - after[i]) <= 1e-4 * (1 + abs(before[i]))) }
    // The channel the order puts first is now first: its filter and its BN gamma moved together.
    let first = order[0][0]
    #expect(Array(w.value.array[0..<per]) == Array(weightsBefore[(first * per)..<((first + 1) * per)]))
    #expect(model.blocks[0].units[0].bn.gamma.value.array[0] == gammaBefore[first])
}

@Test func baselineArchitecturesMeetTheBudget() throws {
    let spec = try ResNetSpec.named("resnet20")
    let model = ResNet(spec: spec, seed: 1)
    randomizeNormalization(model, seed: 2)   // distinct |gamma| per channel, as after training
    let space = try ArchitectureSpace(spec: spec)
    for removed in [0.5, 0.7, 0.85] {
        let budget = try Budget.resolve("\(Int(removed * 100))%", for: space)
        let uniform = try #require(Baselines.uniformArchitecture(space: space, window: budget.window))
        #expect(space.cost.macs(of: uniform) <= budget.target)
        #expect(uniform.depths == spec.blocksPerStage)
        let slim = try #require(Baselines.slimmingArchitecture(model, space: space, window: budget.window))
        #expect(space.cost.macs(of: slim) <= budget.target)
        #expect(space.cost.macs(of: slim) > budget.target / 2, "the threshold is as low as the budget allows")
    }
}
