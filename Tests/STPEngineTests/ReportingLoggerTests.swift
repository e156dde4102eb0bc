import Testing
@testable import STPEngine
#if canImport(Glibc)
import Glibc
#endif

@Test func reportingLogLineFormat() {
    let t = Logger.Timestamp(year: 2025, month: 3, day: 7, hour: 9, minute: 5, second: 3, millisecond: 42)
    #expect(t.text == "2025-03-07 09:05:03.042")
    #expect(Logger.format(.info, "epoch 1 done", at: t) == "2025-03-07 09:05:03.042 [info] epoch 1 done")
    #expect(Logger.format(.warning, "a\nb", at: t)
        == "2025-03-07 09:05:03.042 [warning] a\n                                  b")
    #expect(Logger.Level.debug < .info && Logger.Level.warning < .error)
    let now = Logger.Timestamp.now()
    #expect(now.year >= 2024 && (1...12).contains(now.month) && (0..<1000).contains(now.millisecond))
}

@Test func reportingLoggerWritesFileAndConsoleFromManyThreads() async throws {
    let dir = "/tmp/stp-logger-test-\(getpid())-\(Int.random(in: 0..<1_000_000))"
    #expect(mkdir(dir, 0o755) == 0)
    defer { unlink(dir + "/log.txt"); rmdir(dir) }
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    let console = Console(fileDescriptor: fds[1], isTerminal: false)
    let logger = try Logger.forRun(directory: dir, console: console, minimumLevel: .info)
    logger.debug("hidden")
    await withTaskGroup(of: Void.self) { group in
        for t in 0..<4 {
            group.addTask { for i in 0..<50 { logger.info("thread \(t) line \(i)") } }
        }
    }
    logger.error("last")
    logger.close()
    logger.close()
    logger.info("after close goes to the console only")
    close(fds[1])

    let file = try #require(readTextFile(dir + "/log.txt"))
    let lines = file.split(separator: "\n").map(String.init)
    #expect(lines.count == 201)
    let pattern = try Regex(#"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[(info|error)\] "#)
    #expect(lines.allSatisfy { (try? pattern.prefixMatch(in: $0)) != nil })
    #expect(!file.contains("hidden"))
    #expect(lines.last?.hasSuffix("[error] last") == true)
    for t in 0..<4 { #expect(lines.filter { $0.hasSuffix("] thread \(t) line 49") }.count == 1) }

    var consoleBytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        if n <= 0 { break }
        consoleBytes += chunk[0..<n]
    }
    close(fds[0])
    let consoleLines = String(decoding: consoleBytes, as: UTF8.self).split(separator: "\n")
    #expect(consoleLines.count == 202)
    #expect(consoleLines.last?.hasSuffix("[info] after close goes to the console only") == true)
}

@Test func reportingLoggerFailsOnBadPath() {
    #expect(throws: STPError.self) { _ = try Logger(filePath: "/nonexistent-dir/x/log.txt", console: nil) }
}
