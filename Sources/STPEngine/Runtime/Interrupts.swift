// Ctrl-C and SIGTERM: finish the step, save, exit cleanly; a second Ctrl-C exits at once.
//
// The first SIGINT or SIGTERM only sets an atomic flag that the training loop polls between
// steps. Any further SIGINT/SIGTERM while the flag is still set ends the process immediately
// with status 128+signal (130 for SIGINT), for when saving hangs or the user is impatient.
//
// Why sigaction and not DispatchSource.makeSignalSource: the handler here does nothing but an
// atomic load/store and, on the second signal, `_exit`, all async-signal-safe, so it can run
// directly in the signal context. The flag is then set synchronously at delivery, which needs no
// dispatch queue to be serviced (the training loop keeps the main thread busy, and the library
// must not assume an event loop), works with `raise` in tests, and sigaction hands back the
// previous disposition so `uninstall()` can restore exactly what was there. A DispatchSource
// would need SIG_IGN first, deliver later on a queue thread, and could not exit "immediately"
// if that queue were blocked.

import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public enum Interrupts {
    /// What to do when a signal arrives; pure, so the policy is testable without signals.
    enum Response: Equatable { case requestStop, exitNow(Int32) }

    static func response(toSignal signal: Int32, alreadyRequested: Bool) -> Response {
        alreadyRequested ? .exitNow(128 + signal) : .requestStop
    }

    // Globals read by the C handler: lock-free atomics, safe in signal context.
    private static let stopFlag = Atomic<Bool>(false)
    private static let signalNumber = Atomic<Int32>(0)
    private static let signalCount = Atomic<Int>(0)
    private static let announce = Atomic<Bool>(true)

    /// The dispositions replaced by `install()`, restored by `uninstall()`.
    private static let saved = Mutex<[Int32: sigaction]?>(nil)

    static let handledSignals: [Int32] = [SIGINT, SIGTERM]

    /// True once SIGINT or SIGTERM has arrived (and until `reset()`).
    public static var stopRequested: Bool { stopFlag.load(ordering: .acquiring) }

    /// The signal that requested the stop (SIGINT or SIGTERM), or nil.
    public static var requestingSignal: Int32? {
        let s = signalNumber.load(ordering: .acquiring)
        return s == 0 ? nil : s
    }

    /// Signals received since install/reset.
    public static var receivedCount: Int { signalCount.load(ordering: .acquiring) }

    /// Clears the request, e.g. after the loop has acted on it and the program carries on.
    public static func reset() {
        signalNumber.store(0, ordering: .releasing)
        signalCount.store(0, ordering: .releasing)
        stopFlag.store(false, ordering: .releasing)
    }

    /// Lets code outside signal handling (a "quit" key in the terminal UI) request the same stop.
    public static func requestStop() { stopFlag.store(true, ordering: .releasing) }

    public static var isInstalled: Bool { saved.withLock { $0 != nil } }

    /// Installs the SIGINT and SIGTERM handlers (idempotent) and clears the flag. With `announce`
    /// the first signal writes one line to stderr saying that the program will stop after the
    /// current step.
    public static func install(announce: Bool = true) {
        Interrupts.announce.store(announce, ordering: .releasing)
        saved.withLock { saved in
            guard saved == nil else { return }
            reset()
            var previous: [Int32: sigaction] = [:]
            for sig in handledSignals {
                var action = sigaction()
                action.__sigaction_handler.sa_handler = interruptHandler
                sigemptyset(&action.sa_mask)
                // SA_RESTART: a file read or write in progress is resumed rather than failing
                // with EINTR, since the request is only acted on between steps anyway.
                action.sa_flags = SA_RESTART
                var old = sigaction()
                if sigaction(sig, &action, &old) == 0 { previous[sig] = old }
            }
            saved = previous
        }
    }

    /// Restores the dispositions that were in place before `install()`.
    public static func uninstall() {
        saved.withLock { saved in
            guard let previous = saved else { return }
            for (sig, old) in previous {
                var restore = old
                sigaction(sig, &restore, nil)
            }
            saved = nil
        }
    }

    fileprivate static func handle(_ sig: Int32) {
        signalCount.add(1, ordering: .relaxed)
        // exchange: exactly one signal sees `false` and becomes the stop request.
        let already = stopFlag.exchange(true, ordering: .acquiringAndReleasing)
        switch response(toSignal: sig, alreadyRequested: already) {
        case .requestStop:
            signalNumber.store(sig, ordering: .releasing)
            guard announce.load(ordering: .acquiring) else { return }
            let message: StaticString = "\nstp: stopping after this step (press Ctrl-C again to quit now)\n"
            _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
        case .exitNow(let status):
            _exit(status)
        }
    }
}

/// The C-convention handler; a global function so it captures nothing.
private func interruptHandler(_ sig: Int32) {
    Interrupts.handle(sig)
}
