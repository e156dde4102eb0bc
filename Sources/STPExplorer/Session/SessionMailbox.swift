import Dispatch
import Synchronization

// The only state the UI thread and the engine queue share: the commands the UI posted and not yet
// taken, and the latest snapshot the engine published, each behind its own lock. Everything else
// belongs to one side, so the session is thread-safe by construction.

final class SessionMailbox: Sendable {
    private let inbox = Mutex<[ExplorerCommand]>([])
    private let latest: Mutex<ExplorerSnapshot>
    /// Signalled when a command arrives, so an idle (paused) engine wakes at once.
    private let wake = DispatchSemaphore(value: 0)

    init(initial: ExplorerSnapshot = ExplorerSnapshot()) { latest = Mutex(initial) }

    func post(_ command: ExplorerCommand) {
        inbox.withLock { $0.append(command) }
        wake.signal()
    }

    /// Takes every pending command, oldest first.
    func takeCommands() -> [ExplorerCommand] {
        inbox.withLock { commands in
            defer { commands.removeAll() }
            return commands
        }
    }

    var hasCommands: Bool { inbox.withLock { !$0.isEmpty } }

    /// Waits until a command is posted or `seconds` pass.
    func waitForCommand(seconds: Double) {
        if hasCommands { return }
        _ = wake.wait(timeout: .now() + seconds)
    }

    func publish(_ snapshot: ExplorerSnapshot) { latest.withLock { $0 = snapshot } }

    var snapshot: ExplorerSnapshot { latest.withLock { $0 } }
}
