import Foundation
@testable import STPEngine

/// A safetensors file assembled by hand from a header string and data bytes (for corruptions).
func rawSafeTensors(header: String, data: [UInt8]) -> [UInt8] {
    let h = Array(header.utf8)
    var out = [UInt8]()
    withUnsafeBytes(of: UInt64(h.count).littleEndian) { out += $0 }
    return out + h + data
}
