import Foundation

/// The project's shared folder (real CIFAR-10, PyTorch fixtures): `$STP_SHARED_DIR`, else the
/// `shared` folder beside the repository (where CI and the developers' machines put it).
/// Tests that need it skip themselves when it is absent.
enum SharedFiles {
    static let directory: String = {
        if let dir = ProcessInfo.processInfo.environment["STP_SHARED_DIR"] { return dir }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared").path
    }()

    static var cifar10: String { directory + "/data/cifar10" }
    static var fixtures: String { directory + "/fixtures" }
}
