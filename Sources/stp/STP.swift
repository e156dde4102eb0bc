import ArgumentParser
import STPEngine
import STPMethod

struct STP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stp",
        abstract: "Prune ResNets by stimulative training and watch it live.",
        discussion: "With no command, opens the explorer on the built-in data set and starts stimulative training of a ResNet-20 (stp explore).",
        subcommands: [Explore.self, Train.self, Eval.self, Import.self, Export.self, Info.self, Bench.self, Prune.self, Sparsity.self, DataCommand.self],
        defaultSubcommand: Explore.self
    )
}

/// Runs `body`, turning an stp error into one clear line on standard error and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as STPError {
        Console.standardError.writeLine("stp: error: \(error.message)")
        throw ExitCode(1)
    }
}

extension ShortcutKind: ExpressibleByArgument {}
extension LearningRateSchedule.Kind: ExpressibleByArgument {}
extension BenchmarkOptions.Mode: ExpressibleByArgument {}
extension MethodConfig.Kind: ExpressibleByArgument {}
extension StimulativeOptions.Distillation: ExpressibleByArgument {}
extension StimulativeOptions.Sampling: ExpressibleByArgument {}
extension PruneOptions.Method: ExpressibleByArgument {}
