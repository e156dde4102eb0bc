import Foundation
import STPEngine

/// The message of the STPError that `body` throws; nil when it does not throw. Any other error
/// gives a message saying so, which no test expects.
public func errorMessage(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let e as STPError {
        return e.message
    } catch {
        return "not an STPError: \(error)"
    }
}

/// `errorMessage(body)`, or "" when `body` does not throw (for `.contains` checks).
public func errorText(_ body: () throws -> Void) -> String { errorMessage(body) ?? "" }

/// A fresh directory under the system temporary directory, unique per call (tests run in
/// parallel); `label` (by default the calling function) makes it recognisable. The caller removes it.
public func temporaryDirectory(_ label: String = #function) -> String {
    let clean = label.filter { $0.isLetter || $0.isNumber }.prefix(40)
    let path = NSTemporaryDirectory() + "stp-test-\(clean)-\(UUID().uuidString.prefix(8))"
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        fatalError("cannot create the temporary directory \(path): \(error)")
    }
    return path
}

/// `count` Gaussian floats (mean 0, standard deviation `scale`) from the engine's seeded
/// generator: the same numbers for the same seed on every machine.
public func gaussians(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = SeededRandom(seed: seed)
    return (0..<count).map { _ in rng.nextGaussian() * scale }
}

/// The sorted names in a directory (empty when it cannot be read).
public func directoryListing(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}
