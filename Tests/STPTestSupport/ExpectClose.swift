import Testing

/// What the relative tolerance of `expectClose` is relative to.
public enum CloseScale: Sendable {
    /// Each element's own magnitude, |expected[i]|.
    case element
    /// The largest magnitude in `expected` (for values that cancel to near zero, like logits).
    case largest
    /// |expected[i]|, but at least `fraction` of the largest magnitude in `expected`: elements far
    /// below the tensor's scale are held to the scale's rounding, not their own.
    case elementAtLeast(fraction: Float)
}

/// Expects two float arrays to agree element by element: the same count, every element of
/// `actual` finite where `expected` is, and for every i
///
///     |actual[i] - expected[i]| <= absolute + relative * s_i
///
/// where s_i is given by `scale` (by default |expected[i]|). On failure it reports the worst
/// element (its index, both values and how far over the tolerance it is) under `what`.
/// The one approximate comparison of the test suites; use it rather than a local variant.
public func expectClose(_ actual: [Float], _ expected: [Float], relative: Float = 1e-5, absolute: Float = 1e-6,
                        scale: CloseScale = .element, _ what: @autoclosure () -> String = "",
                        sourceLocation: SourceLocation = #_sourceLocation) {
    guard actual.count == expected.count else {
        Issue.record("\(what()): \(actual.count) elements, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    let largest = expected.lazy.filter(\.isFinite).map(abs).max() ?? 0
    var worst: Float = 0, at = -1
    for i in actual.indices {
        let e = expected[i], a = actual[i]
        let s: Float
        switch scale {
        case .element: s = abs(e)
        case .largest: s = largest
        case .elementAtLeast(let fraction): s = max(abs(e), fraction * largest)
        }
        let err: Float = a.isFinite || !e.isFinite ? (a == e ? 0 : abs(a - e) / (absolute + relative * s)) : .infinity
        if !(err <= worst) { worst = err; at = i }  // also catches NaN
    }
    if at >= 0 && !(worst <= 1) {
        Issue.record("\(what()): worst element \(at): \(actual[at]) vs expected \(expected[at]) (\(worst)x the tolerance \(absolute) + \(relative) x \(scale))",
                     sourceLocation: sourceLocation)
    }
}
