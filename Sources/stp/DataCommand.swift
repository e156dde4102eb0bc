import ArgumentParser
import STPEngine

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data", abstract: "Download and cache data sets.",
                                                    subcommands: [Get.self])

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download (or copy) an official archive, check its MD5, unpack it into the cache.")

        @Argument(help: "cifar10, cifar100, mnist or fashion-mnist.") var name: String
        @Option(help: "A local archive or directory, or a URL, instead of the official mirror.") var from: String?
        @Option(name: .customLong("cache-dir"), help: "Where to unpack (default: $STP_CACHE or ~/.cache/stp/data/NAME).")
        var cacheDir: String?
        @Flag(name: .customLong("no-verify"), help: "Accept files whose MD5 differs from the published one.") var noVerify = false

        func run() throws {
            try reportingErrors {
                guard let dataset = DownloadableDataset(rawValue: name) else {
                    throw STPError(.argument, "unknown data set '\(name)'; expected one of: \(DownloadableDataset.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let console = Console.standardError
                let path = try DataDownloader.get(dataset, from: from, cacheDirectory: cacheDir, verify: !noVerify) { p in
                    if p.stage == .downloading, let total = p.bytesTotal, total > 0 {
                        console.setStatusLine("\(p.stage.rawValue) \(p.file): \(ProgressFormat.percent(Double(p.bytesDone) / Double(total)))")
                    } else {
                        console.writeLine("\(p.stage.rawValue) \(p.file)")
                    }
                }
                console.endStatusLine(keep: false)
                console.writeLine("\(name) is ready; use it with: --data \(dataset.dataSpec(path: path))")
                print(dataset.dataSpec(path: path))
            }
        }
    }
}
