import Foundation
@testable import STPEngine

/// A fresh temporary directory for one test, removed by `cleanup()`.
struct DataTempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "stp-data-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    func write(_ name: String, _ bytes: [UInt8]) {
        let p = file(name)
        try! FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
    }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// The message of the STPError thrown by `body`, or nil when it does not throw one.
func dataErrorMessage(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let e as STPError {
        return e.message
    } catch {
        return "non-STPError: \(error)"
    }
}
