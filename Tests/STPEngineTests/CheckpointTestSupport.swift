import Foundation
@testable import STPEngine

/// A fresh directory under the system temporary directory, unique per call (tests run in parallel).
func checkpointTestDirectory(_ label: String = #function) throws -> String {
    let clean = label.filter { $0.isLetter || $0.isNumber }
    let path = NSTemporaryDirectory() + "stp-ckpt-\(clean)-\(UUID().uuidString.prefix(8))"
    try AtomicFile.createDirectory(path)
    return path
}

/// Runs `body`, which must throw an STPError, and returns its message ("" if it did not throw).
func checkpointErrorMessage(_ body: () throws -> Void) -> String {
    do {
        try body()
        return ""
    } catch let e as STPError {
        return e.message
    } catch {
        return "unexpected error type: \(error)"
    }
}

/// A safetensors file assembled by hand from a header string and data bytes (for corruptions).
func rawSafeTensors(header: String, data: [UInt8]) -> [UInt8] {
    let h = Array(header.utf8)
    var out = [UInt8]()
    withUnsafeBytes(of: UInt64(h.count).littleEndian) { out += $0 }
    return out + h + data
}

func directoryListing(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}
