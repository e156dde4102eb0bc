import Foundation

/// The project's shared folder (real CIFAR-10, PyTorch fixtures, reference models):
/// `$STP_SHARED_DIR`, else the `shared` folder beside the repository (where CI and the
/// developers' machines put it).
///
/// A test that needs a file from it is enabled with `.enabled(if: SharedFiles.available(path),
/// "needs ...")`, so that without the file it shows as skipped with its reason instead of
/// passing without checking anything. With `STP_REQUIRE_SHARED=1` (scripts/test sets it when the
/// shared folder exists) a file missing from a folder of it that exists no longer skips: the test
/// runs and fails on the missing file, so that a renamed fixture or a wrong path cannot turn the
/// check off unnoticed.
public enum SharedFiles {
    public static let directory: String = {
        if let dir = ProcessInfo.processInfo.environment["STP_SHARED_DIR"] { return dir }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared").path
    }()

    public static var cifar10: String { directory + "/data/cifar10" }
    public static var fixtures: String { directory + "/fixtures" }
    public static var models: String { directory + "/models/cifar-resnet" }

    /// `fixtures/<name>`.
    public static func fixture(_ name: String) -> String { fixtures + "/" + name }

    /// STP_REQUIRE_SHARED=1: files of the shared folder's existing subfolders must be present.
    public static var required: Bool { ProcessInfo.processInfo.environment["STP_REQUIRE_SHARED"] == "1" }

    /// Whether a test needing `paths` should run: all exist, or (with STP_REQUIRE_SHARED=1) the
    /// folder of each missing one exists, so that the test runs and reports the missing file.
    public static func available(_ paths: String...) -> Bool {
        paths.allSatisfy { path in
            if FileManager.default.fileExists(atPath: path) { return true }
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            return required && FileManager.default.fileExists(atPath: folder)
        }
    }
}
