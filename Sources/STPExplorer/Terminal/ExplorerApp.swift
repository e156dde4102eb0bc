import CCurses
import Foundation
import STPEngine

// `stp explore`: checks for a terminal, builds the session (errors before any terminal setup, as
// plain messages), then runs the UI loop on the calling thread: read keys (waiting at most 100 ms,
// so the screen refreshes about ten times a second), reduce them to state changes and engine
// commands, render the latest snapshot when anything changed, copy the frame to the terminal.
// Quitting, Ctrl-C, SIGTERM and errors all end the same way: the engine stops and checkpoints
// the run, then the terminal is restored.

public enum ExplorerApp {
    /// The message when there is no terminal; names the commands that work without one.
    public static let headlessMessage = """
        stp explore: standard input and output must be a terminal (the explorer is an interactive \
        terminal UI). Without one, use the headless commands: stp train (--method stimulative), \
        stp prune --budget 50%, stp sparsity RUN, stp eval RUN, stp export --onnx OUT.onnx RUN.
        """

    public static var hasTerminal: Bool { isatty(0) == 1 && isatty(1) == 1 }

    /// mpirun hands its ranks pipes, not the terminal it was started from, and starts them in a
    /// process group of their own, which the terminal treats as background (reading a key would
    /// fail). The explorer (rank 0 only) takes the controlling terminal back and makes its group
    /// the terminal's foreground one; returns the group to give the terminal back to at exit.
    static func reattachTerminalUnderMPI() -> pid_t? {
        guard !hasTerminal, Distributed.launchedByMPI() else { return nil }
        let tty = open("/dev/tty", O_RDWR)
        guard tty >= 0 else { return nil }
        dup2(tty, 0)
        dup2(tty, 1)
        close(tty)
        let previous = tcgetpgrp(0)
        guard previous >= 0, previous != getpgrp() else { return nil }
        return withTerminalStopsBlocked { tcsetpgrp(0, getpgrp()) == 0 } ? previous : nil
    }

    /// Gives the terminal back to the process group that had it (mpirun's, the shell's job).
    static func restoreForeground(_ group: pid_t?) {
        guard let group else { return }
        _ = withTerminalStopsBlocked { tcsetpgrp(0, group) == 0 }
    }

    /// A background process group changing the terminal's foreground group gets SIGTTOU, which
    /// would stop it: blocked for the call.
    private static func withTerminalStopsBlocked(_ body: () -> Bool) -> Bool {
        var block = sigset_t(), old = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGTTOU)
        pthread_sigmask(SIG_BLOCK, &block, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        return body()
    }

    /// Runs the explorer; returns the process exit status.
    public static func run(options: ExplorerOptions, themeName: String?) -> Int32 {
        let foregroundBeforeMPI = reattachTerminalUnderMPI()
        defer { restoreForeground(foregroundBeforeMPI) }
        guard hasTerminal else {
            FileHandle.standardError.write(Data((headlessMessage + "\n").utf8))
            return 2
        }
        setlocale(LC_ALL, "")
        let environment = ProcessInfo.processInfo.environment
        let session: ExplorerSession
        do {
            _ = ComputeThreads.workers   // sets OpenBLAS single-threaded before the header reads it
            session = try ExplorerSession(options: options)
        } catch {
            let message = (error as? STPError)?.message ?? "\(error)"
            FileHandle.standardError.write(Data("stp: error: \(message)\n".utf8))
            return 1
        }
        let executable = CommandLine.arguments.first.flatMap(executablePath)
        let library = ThemeLibrary(candidates: ThemeLibrary.candidateDirectories(
            environment: environment, executablePath: executable,
            currentDirectory: FileManager.default.currentDirectoryPath), environment: environment)
        var state = ExplorerUIState(themeName: themeName ?? Theme.builtinDefault.name)
        let glyphs = GlyphSet.detect(environment: environment)

        Interrupts.install(announce: false)
        defer { Interrupts.uninstall() }
        let screen = CursesScreen(environment: environment)
        defer { screen.close() }
        state.message = load(theme: state.themeName, from: library, into: screen)
        session.start()

        var exiting = false
        var exitRequestedAt = 0.0
        var lastSequence = -1
        var lastState = state
        var lastSize = (width: -1, height: -1)
        var lastRender = 0.0
        while true {
            if Interrupts.stopRequested && !exiting {
                session.send(.quit)
                exiting = true
                exitRequestedAt = monotonicSeconds()
            }
            let snapshot = session.snapshot
            if exiting && (snapshot.stopped || monotonicSeconds() - exitRequestedAt > 120) { break }
            if let key = screen.readKey(milliseconds: 100) {
                var pending: [Key] = [key]
                // Drain what is already typed (a paste, a held key) before drawing once.
                while pending.count < 64, let more = screen.readKey(milliseconds: 0) { pending.append(more) }
                for k in pending {
                    if exiting { continue }
                    for effect in ExplorerReducer.reduce(&state, key: k, snapshot: session.snapshot, screen: screen.size) {
                        switch effect {
                        case .send(let command): session.send(command)
                        case .redraw: screen.invalidate()
                        case .cycleTheme:
                            state.themeName = library.next(after: state.themeName)
                            state.message = load(theme: state.themeName, from: library, into: screen) ?? "theme \(state.themeName)"
                        case .exit:
                            exiting = true
                            exitRequestedAt = monotonicSeconds()
                            state.message = "saving the run..."
                        }
                    }
                }
            }
            let size = screen.size
            let now = monotonicSeconds()
            let latest = session.snapshot
            state.reconcile(with: latest)
            // Redraw when something changed, and once a second for the elapsed time.
            guard latest.sequence != lastSequence || state != lastState || size != lastSize || now - lastRender >= 1 else { continue }
            if size != lastSize { screen.invalidate() }
            let grid = ExplorerRenderer.render(snapshot: latest, state: state, width: size.width, height: size.height, glyphs: glyphs)
            screen.draw(grid)
            lastSequence = latest.sequence
            lastState = state
            lastSize = size
            lastRender = now
        }
        screen.close()
        let final = session.snapshot
        if let run = session.runPath {
            print("stp explore: run saved in \(run) at step \(final.globalStep); continue with: stp explore \(run)")
        }
        if let error = final.log.last(where: { $0.level == .error }), final.phase == .failed {
            FileHandle.standardError.write(Data("stp: error: \(error.text)\n".utf8))
            return 1
        }
        return 0
    }

    /// Loads and applies a theme; returns the first diagnostic to show (nil when clean).
    private static func load(theme name: String, from library: ThemeLibrary, into screen: CursesScreen) -> String? {
        let (theme, diagnostics) = library.load(name)
        screen.apply(theme)
        screen.invalidate()
        return diagnostics.first.map { "\($0)" }
    }

    private static func executablePath(_ argument: String) -> String? {
        if argument.contains("/") { return argument }
        return (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? argument
    }
}
