import ArgumentParser
import STPEngine
import STPMethod

struct STP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stp",
        abstract: "Prune ResNets by stimulative training and watch it live.",
        discussion: "With no command, opens the explorer on the built-in data set and starts stimulative training of a ResNet-20 (stp explore).",
        subcommands: [Explore.self, Train.self, Eval.self, Import.self, Export.self, Info.self, Bench.self, Prune.self, Report.self, Sparsity.self, DataCommand.self],
        defaultSubcommand: Explore.self
    )
}

extension STP {
    /// Whether the command of `arguments` is one that every rank of an mpirun job runs (the
    /// data-parallel ones); the others run on rank 0 only.
    static func runsOnEveryRank(_ arguments: [String]) -> Bool {
        let command = arguments.dropFirst().first { !$0.hasPrefix("-") }
        return command == "train" || command == "prune"
    }
}

/// Runs `body`, turning an stp error into one clear line on standard error and exit status 1.
/// In an mpirun job the error names the rank and ends every rank (the others would otherwise
/// wait for this one in their next collective operation forever).
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as STPError {
        let world = Distributed.world
        let prefix = world.isDistributed ? "stp (rank \(world.rank) of \(world.size)): error: " : "stp: error: "
        Console.standardError.writeLine(prefix + error.message, evenWhenMuted: true)
        if world.isDistributed { Distributed.abort(status: 1) }
        throw ExitCode(1)
    }
}

extension ShortcutKind: ExpressibleByArgument {}
extension LearningRateSchedule.Kind: ExpressibleByArgument {}
extension BenchmarkOptions.Mode: ExpressibleByArgument {}
extension MethodConfig.Kind: ExpressibleByArgument {}
extension StimulativeOptions.Distillation: ExpressibleByArgument {}
extension StimulativeOptions.Sampling: ExpressibleByArgument {}
extension StimulativeOptions.Teacher: ExpressibleByArgument {}
extension StimulativeOptions.FullNetworkLoss: ExpressibleByArgument {}
extension PruneOptions.Method: ExpressibleByArgument {}
extension PruneOptions.ChannelOrder: ExpressibleByArgument {}
