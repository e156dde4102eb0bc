import Testing
@testable import STPEngine
#if canImport(Glibc)
import Glibc
#endif

@Test func reportingDurations() {
    #expect(ProgressFormat.duration(7.9) == "7.9s")
    #expect(ProgressFormat.duration(7.94) == "7.9s")
    #expect(ProgressFormat.duration(0) == "0.0s")
    #expect(ProgressFormat.duration(12.3) == "12.3s")
    #expect(ProgressFormat.duration(59.94) == "59.9s")
    #expect(ProgressFormat.duration(59.96) == "1m00s")
    #expect(ProgressFormat.duration(185) == "3m05s")
    #expect(ProgressFormat.duration(3599.4) == "59m59s")
    #expect(ProgressFormat.duration(3599.6) == "1h00m")
    #expect(ProgressFormat.duration(3720) == "1h02m")
    #expect(ProgressFormat.duration(26 * 3600 + 5 * 60) == "26h05m")
    #expect(ProgressFormat.duration(-1) == "--")
    #expect(ProgressFormat.duration(.infinity) == "--")
    #expect(ProgressFormat.duration(.nan) == "--")
}

@Test func reportingRatesAndPercent() {
    #expect(ProgressFormat.rate(1043.4, unit: "img") == "1043 img/s")
    #expect(ProgressFormat.rate(87.46, unit: "img") == "87.5 img/s")
    #expect(ProgressFormat.rate(3.254, unit: "it") == "3.25 it/s")
    #expect(ProgressFormat.rate(12345, unit: "img") == "12.3k img/s")
    #expect(ProgressFormat.rate(.nan, unit: "img") == "-- img/s")
    #expect(ProgressFormat.percent(240.0 / 391.0) == "61%")
    #expect(ProgressFormat.percent(0.999) == "99%")
    #expect(ProgressFormat.percent(1) == "100%")
    #expect(ProgressFormat.percent(-0.2) == "0%")
}

@Test func reportingBars() {
    #expect(ProgressFormat.bar(fraction: 240.0 / 391.0, width: 16, unicode: false) == "[#########.......]")
    #expect(ProgressFormat.bar(fraction: 0, width: 5, unicode: false) == "[.....]")
    #expect(ProgressFormat.bar(fraction: 1, width: 5, unicode: false) == "[#####]")
    #expect(ProgressFormat.bar(fraction: 0.5, width: 0, unicode: false) == "[]")
    #expect(ProgressFormat.bar(fraction: 0.5, width: 4, unicode: true) == "[██  ]")
    // 0.55 of 4 cells = 2.2 cells = 17.6 eighths → 2 full + one 1/8 block.
    #expect(ProgressFormat.bar(fraction: 0.55, width: 4, unicode: true) == "[██▏ ]")
    #expect(ProgressFormat.bar(fraction: 0.6, width: 4, unicode: true) == "[██▍ ]")
    #expect(ProgressFormat.bar(fraction: 1, width: 4, unicode: true) == "[████]")
    #expect(ProgressFormat.bar(fraction: .nan, width: 3, unicode: true) == "[   ]")
    for w in [1, 7, 16, 33] {
        for f in stride(from: 0.0, through: 1.0, by: 0.01) {
            #expect(ProgressFormat.bar(fraction: f, width: w, unicode: true).count == w + 2)
        }
    }
}

private let sample = ProgressSnapshot(label: "epoch 3/30", completed: 240, total: 391, elapsed: 12.3,
                                      items: 12829, unit: "img",
                                      fields: [("loss", "0.842"), ("acc", "71.2%")])

@Test func reportingProgressLines() {
    #expect(ProgressFormat.plainLine(sample)
        == "epoch 3/30 61% 240/391 12.3s ETA 7.7s 1043 img/s loss 0.842 acc 71.2%")
    // 88 usable columns of a width-89 terminal: the bar takes what is left (16 cells).
    let line = ProgressFormat.terminalLine(sample, width: 89, unicode: false)
    #expect(line == "epoch 3/30 [#########.......] 61% 240/391 12.3s ETA 7.7s 1043 img/s loss 0.842 acc 71.2%")
    #expect(line.count == 88)
    // Wide terminal: bar capped at 50 cells.
    let wide = ProgressFormat.terminalLine(sample, width: 200, unicode: true)
    #expect(wide.hasPrefix("epoch 3/30 [██████████████████████████████▋                   ] 61% "))
    // Narrow: fields dropped from the end rather than shrinking the bar below 10 cells
    // (at 80 columns "acc" would leave 7 cells, so it goes and the bar gets 17).
    let standard = ProgressFormat.terminalLine(sample, width: 80, unicode: false)
    #expect(standard == "epoch 3/30 [##########.......] 61% 240/391 12.3s ETA 7.7s 1043 img/s loss 0.842")
    let narrow = ProgressFormat.terminalLine(sample, width: 70, unicode: false)
    #expect(narrow == "epoch 3/30 [###########.......] 61% 240/391 12.3s ETA 7.7s 1043 img/s")
    let tiny = ProgressFormat.terminalLine(sample, width: 30, unicode: false)
    #expect(tiny.count <= 29)
    #expect(tiny.hasPrefix("epoch 3/30"))
    for width in 1...120 {
        #expect(ProgressFormat.terminalLine(sample, width: width, unicode: true).count <= max(width - 1, 1))
    }
    // Steps without items: it/s; before the first step: ETA --; finished: no ETA.
    let start = ProgressSnapshot(label: "eval", completed: 0, total: 79, elapsed: 0)
    #expect(ProgressFormat.plainLine(start) == "eval 0% 0/79 0.0s ETA -- -- it/s")
    let done = ProgressSnapshot(label: "eval", completed: 79, total: 79, elapsed: 4, finished: true)
    #expect(ProgressFormat.plainLine(done) == "eval 100% 79/79 4.0s 19.8 it/s")
}

@Test func reportingRedrawAndPlainPolicies() {
    #expect(ProgressFormat.shouldRedraw(now: 5, lastDraw: nil, finished: false))
    #expect(!ProgressFormat.shouldRedraw(now: 5.05, lastDraw: 5, finished: false))
    #expect(ProgressFormat.shouldRedraw(now: 5.1, lastDraw: 5, finished: false))
    #expect(ProgressFormat.shouldRedraw(now: 5.01, lastDraw: 5, finished: true))
    #expect(ProgressFormat.shouldEmitPlain(fraction: 0, lastTenth: nil, now: 0, lastEmit: nil, interval: 30, finished: false))
    #expect(!ProgressFormat.shouldEmitPlain(fraction: 0.15, lastTenth: 1, now: 3, lastEmit: 2, interval: 30, finished: false))
    #expect(ProgressFormat.shouldEmitPlain(fraction: 0.2, lastTenth: 1, now: 3, lastEmit: 2, interval: 30, finished: false))
    #expect(ProgressFormat.shouldEmitPlain(fraction: 0.15, lastTenth: 1, now: 32, lastEmit: 2, interval: 30, finished: false))
    #expect(ProgressFormat.shouldEmitPlain(fraction: 0.15, lastTenth: 1, now: 3, lastEmit: 2, interval: 30, finished: true))
}

/// Reads everything written to a pipe's write end so far (the write end must be closed).
private func drain(_ fd: Int32) -> String {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// A clock the test advances by hand.
private final class FakeClock: Sendable {
    let now = Mutex(0.0)
    func advance(_ s: Double) { now.withLock { $0 += s } }
    func read() -> Double { now.withLock { $0 } }
}
import Synchronization

@Test func reportingProgressBarPlainOutput() {
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    let console = Console(fileDescriptor: fds[1], isTerminal: false)
    let clock = FakeClock()
    let bar = ProgressBar(label: "epoch 1/2", total: 100, console: console, plainInterval: 30,
                          clock: { clock.read() })
    #expect(bar.style == .plain)
    for step in 1...100 {
        clock.advance(0.1)
        bar.update(completed: step, items: step * 10, fields: [("loss", "1.0")])
    }
    bar.finish(items: 1000, fields: [("loss", "0.5")])
    bar.update(completed: 100)          // after finish: ignored
    close(fds[1])
    let lines = drain(fds[0]).split(separator: "\n").map(String.init)
    close(fds[0])
    #expect(lines.count == 12)  // 1%, each tenth 10%..100%, and the final line
    #expect(lines.first == "epoch 1/2 1% 1/100 0.1s ETA 9.9s 100 img/s loss 1.0")
    #expect(lines[1] == "epoch 1/2 10% 10/100 1.0s ETA 9.0s 100 img/s loss 1.0")
    #expect(lines.last == "epoch 1/2 100% 100/100 10.0s 100 img/s loss 0.5")
}

@Test func reportingProgressBarTerminalOutput() {
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    let console = Console(fileDescriptor: fds[1], isTerminal: true)
    let clock = FakeClock()
    let bar = ProgressBar(label: "e", total: 10, unit: "img", console: console,
                          style: .terminal(width: 40, unicode: false), clock: { clock.read() })
    bar.update(completed: 1)       // drawn (first)
    clock.advance(0.05)
    bar.update(completed: 2)       // throttled
    clock.advance(0.05)
    bar.update(completed: 3)       // drawn
    console.writeLine("a log line")  // erases the bar, writes, redraws it
    bar.finish()
    close(fds[1])
    let out = drain(fds[0])
    close(fds[0])
    let esc = "\u{1B}[K"
    let first = "\r" + ProgressFormat.terminalLine(
        ProgressSnapshot(label: "e", completed: 1, total: 10, elapsed: 0), width: 40, unicode: false) + esc
    #expect(out.hasPrefix(first))
    #expect(!out.contains(" 2/10 "))
    #expect(out.contains("\r\(esc)a log line\n"))
    #expect(out.hasSuffix("] 100% 10/10 0.1s 100 it/s" + esc + "\n"))
    #expect(!console.hasStatusLine)
}

@Test func reportingConsoleEnvironment() {
    #expect(Console.columns(ioctlColumns: 132, environment: ["COLUMNS": "90"]) == 132)
    #expect(Console.columns(ioctlColumns: 0, environment: ["COLUMNS": "90"]) == 90)
    #expect(Console.columns(ioctlColumns: nil, environment: ["COLUMNS": "x"]) == 80)
    #expect(Console.columns(ioctlColumns: nil, environment: [:]) == 80)
    #expect(Console.localeIsUTF8(environment: ["LANG": "en_US.UTF-8"]))
    #expect(Console.localeIsUTF8(environment: ["LC_CTYPE": "C.utf8", "LANG": "C"]))
    #expect(!Console.localeIsUTF8(environment: ["LC_ALL": "C", "LANG": "en_US.UTF-8"]))
    #expect(Console.localeIsUTF8(environment: ["LC_ALL": "", "LANG": "de_DE.UTF-8"]))
    #expect(!Console.localeIsUTF8(environment: [:]))
}
