import Foundation
import STPTestSupport
@testable import STPEngine

/// A fresh temporary directory for one test, removed by `cleanup()`.
struct DataTempDir {
    let path: String
    init() {
        path = temporaryDirectory("data")
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
