// Making sure OpenBLAS runs its fast kernels, and checking that it computes correctly.
//
// Debian's OpenBLAS 0.3.21 (a DYNAMIC_ARCH build) does not recognise recent Intel processors and
// silently falls back to its generic "Prescott" kernels, about five times slower than the
// SkylakeX (AVX-512) or Haswell (AVX2) kernels the processor can run. The library honours the
// OPENBLAS_CORETYPE environment variable, but reads it only once, while it is being loaded, i.e.
// before `main` runs. So the program decides which core it wants and, if that differs, sets the
// variable and replaces itself with a fresh copy of itself (execv of /proc/self/exe). A marker
// variable records that this happened, which both prevents a second re-exec and lets the log say
// where the core came from.
//
// Note: OpenBLAS 0.3.21 does not reject unknown OPENBLAS_CORETYPE values: it silently picks its
// last core (Cooperlake), so the status warns when a user-set value is not a known core name.

import CBLAS
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Decision (pure)

/// How the BLAS core came to be the one in use.
public enum BLASCoreOrigin: Equatable, Sendable {
    /// OpenBLAS's own detection, kept because it is already good (or nothing better exists).
    case detected
    /// The user set OPENBLAS_CORETYPE; stp never overrides it.
    case setByUser(String)
    /// stp set OPENBLAS_CORETYPE and re-executed itself; `from` is what OpenBLAS detected.
    case autoSelected(from: String)
}

/// What to do about the BLAS core, decided from what OpenBLAS reports, the processor's features
/// and the environment. A pure value so the whole table of cases is testable.
public struct BLASCoreDecision: Equatable, Sendable {
    public enum Action: Equatable, Sendable {
        /// Use the core that is loaded.
        case keep
        /// Set OPENBLAS_CORETYPE to this core and re-execute.
        case switchTo(String)
    }

    public var action: Action
    public var origin: BLASCoreOrigin
    /// Why, in words, for the log ("CPU has AVX-512F").
    public var reason: String

    public init(action: Action, origin: BLASCoreOrigin, reason: String) {
        self.action = action
        self.origin = origin
        self.reason = reason
    }

    public static let coreTypeVariable = "OPENBLAS_CORETYPE"
    /// Set together with OPENBLAS_CORETYPE before the re-exec; its value is the core OpenBLAS
    /// detected on its own.
    public static let markerVariable = "STP_BLAS_AUTOSELECTED"

    /// OpenBLAS x86 cores that use no AVX2/FMA kernels: what it falls back to on a processor it
    /// does not recognise. Compared case-insensitively.
    public static let genericCores: Set<String> = [
        "", "generic", "unknown", "katmai", "coppermine", "northwood", "prescott", "banias",
        "atom", "core2", "penryn", "dunnington", "nehalem", "athlon", "opteron", "opteron_sse3",
        "barcelona", "nano", "bobcat",
    ]

    /// Core names OpenBLAS 0.3.21 (x86_64 DYNAMIC_ARCH) accepts in OPENBLAS_CORETYPE.
    public static let knownCores: Set<String> = genericCores.subtracting(["", "generic", "unknown"])
        .union(["sandybridge", "haswell", "skylakex", "cooperlake", "sapphirerapids", "zen",
                "bulldozer", "piledriver", "steamroller", "excavator"])

    public static func isGeneric(_ corename: String) -> Bool {
        genericCores.contains(corename.lowercased())
    }

    /// - Parameters:
    ///   - corename: what `openblas_get_corename()` reports in this process.
    ///   - features: the processor's features.
    ///   - environment: this process's environment.
    public static func decide(corename: String, features: CPUFeatures,
                              environment: [String: String]) -> BLASCoreDecision {
        if let marker = environment[markerVariable], environment[coreTypeVariable] != nil {
            // Second run, after our own re-exec: the variable is ours, not the user's.
            return BLASCoreDecision(action: .keep, origin: .autoSelected(from: marker),
                                    reason: "CPU has \(features.bestSIMD)")
        }
        if let user = environment[coreTypeVariable] {
            return BLASCoreDecision(action: .keep, origin: .setByUser(user),
                                    reason: "\(coreTypeVariable)=\(user) set by user")
        }
        if environment[markerVariable] != nil {
            // The marker without the variable: something removed OPENBLAS_CORETYPE after our
            // re-exec. Never re-execute a second time.
            return BLASCoreDecision(action: .keep, origin: .detected,
                                    reason: "\(markerVariable) set without \(coreTypeVariable); not re-executing again")
        }
        guard isGeneric(corename) else {
            return BLASCoreDecision(action: .keep, origin: .detected, reason: "detected by OpenBLAS")
        }
        if features.hasAVX512F {
            return BLASCoreDecision(action: .switchTo("SkylakeX"), origin: .detected,
                                    reason: "CPU has AVX-512F")
        }
        if features.hasAVX2 && features.hasFMA {
            return BLASCoreDecision(action: .switchTo("Haswell"), origin: .detected,
                                    reason: "CPU has AVX2 and FMA")
        }
        return BLASCoreDecision(action: .keep, origin: .detected,
                                reason: "detected by OpenBLAS; CPU has no AVX2+FMA")
    }
}

// MARK: - Numeric check

/// Result of comparing OpenBLAS sgemm against a plain triple loop in Double.
public struct SgemmCheck: Equatable, Sendable {
    /// Largest error relative to the magnitude of the terms summed: |c - ref| / (|alpha| Σ|a||b| + |beta||c0|).
    public var maxRelativeError: Double
    public static let tolerance = 1e-4
    public var passed: Bool { maxRelativeError < SgemmCheck.tolerance } // false for NaN

    public init(maxRelativeError: Double) { self.maxRelativeError = maxRelativeError }

    /// "ok (max rel err 3e-7)" or "FAILED (max rel err 0.5, tolerance 1e-4)".
    public var summary: String {
        let err = formatScientific(maxRelativeError)
        return passed ? "ok (max rel err \(err))"
                      : "FAILED (max rel err \(err), tolerance \(formatScientific(SgemmCheck.tolerance)))"
    }
}

/// One sgemm problem: row-major C[m×n] = alpha·op(A)·op(B) + beta·C.
public struct SgemmCase: Sendable, Equatable {
    public var m: Int, n: Int, k: Int
    public var transA: Bool, transB: Bool
    public var alpha: Float, beta: Float
    public init(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, alpha: Float = 1, beta: Float = 0) {
        self.m = m; self.n = n; self.k = k
        self.transA = transA; self.transB = transB
        self.alpha = alpha; self.beta = beta
    }

    /// Odd sizes (no kernel-friendly multiples), every transpose combination, beta ≠ 0 in some,
    /// and one case large enough to go through the blocked/packed path.
    public static let standard: [SgemmCase] = [
        SgemmCase(m: 67, n: 45, k: 33, transA: false, transB: false),
        SgemmCase(m: 67, n: 45, k: 33, transA: true, transB: false, alpha: 0.5, beta: 0.25),
        SgemmCase(m: 67, n: 45, k: 33, transA: false, transB: true, alpha: -1.5, beta: 1),
        SgemmCase(m: 67, n: 45, k: 33, transA: true, transB: true),
        SgemmCase(m: 131, n: 97, k: 259, transA: false, transB: true, beta: 0.5),
    ]
}

/// Maximum componentwise relative error; NaN or infinity in the result gives +infinity.
/// `scale[i]` is the magnitude of the terms summed into element i (never compare against |ref|
/// alone: an element that cancels to ~0 would report a huge relative error).
func maxRelativeError(result: [Float], reference: [Double], scale: [Double]) -> Double {
    precondition(result.count == reference.count && reference.count == scale.count)
    var worst = 0.0
    for i in result.indices {
        let r = Double(result[i])
        guard r.isFinite else { return .infinity }
        let err = abs(r - reference[i]) / max(scale[i], Double.leastNormalMagnitude)
        if err > worst { worst = err }
    }
    return worst
}

/// Runs one case through cblas_sgemm (with padded leading dimensions) and through a Double
/// triple loop; returns the maximum relative error.
func runSgemmCase(_ c: SgemmCase, seed: UInt64) -> Double {
    var rng = SeededRandom(seed: seed)
    // Stored shapes (row-major): A is m×k, or k×m when transposed; B is k×n, or n×k.
    let aRows = c.transA ? c.k : c.m, aCols = c.transA ? c.m : c.k
    let bRows = c.transB ? c.n : c.k, bCols = c.transB ? c.k : c.n
    let lda = aCols + 3, ldb = bCols + 1, ldc = c.n + 2
    var a = (0..<(aRows * lda)).map { _ in rng.nextFloat() * 2 - 1 }
    var b = (0..<(bRows * ldb)).map { _ in rng.nextFloat() * 2 - 1 }
    var out = (0..<(c.m * ldc)).map { _ in rng.nextFloat() * 2 - 1 }
    let c0 = out

    @inline(__always) func aAt(_ i: Int, _ p: Int) -> Float { c.transA ? a[p * lda + i] : a[i * lda + p] }
    @inline(__always) func bAt(_ p: Int, _ j: Int) -> Float { c.transB ? b[j * ldb + p] : b[p * ldb + j] }

    var reference = [Double](repeating: 0, count: c.m * c.n)
    var scale = [Double](repeating: 0, count: c.m * c.n)
    for i in 0..<c.m {
        for j in 0..<c.n {
            var sum = 0.0, mag = 0.0
            for p in 0..<c.k {
                let term = Double(aAt(i, p)) * Double(bAt(p, j))
                sum += term
                mag += abs(term)
            }
            let prior = Double(c0[i * ldc + j])
            reference[i * c.n + j] = Double(c.alpha) * sum + Double(c.beta) * prior
            scale[i * c.n + j] = abs(Double(c.alpha)) * mag + abs(Double(c.beta)) * abs(prior)
        }
    }

    a.withUnsafeMutableBufferPointer { pa in
        b.withUnsafeMutableBufferPointer { pb in
            out.withUnsafeMutableBufferPointer { pc in
                cblas_sgemm(CblasRowMajor, c.transA ? CblasTrans : CblasNoTrans,
                            c.transB ? CblasTrans : CblasNoTrans,
                            Int32(c.m), Int32(c.n), Int32(c.k), c.alpha,
                            pa.baseAddress, Int32(lda), pb.baseAddress, Int32(ldb),
                            c.beta, pc.baseAddress, Int32(ldc))
            }
        }
    }
    // Padding columns of C must be untouched.
    for i in 0..<c.m {
        for j in c.n..<ldc where out[i * ldc + j] != c0[i * ldc + j] { return .infinity }
    }
    var result = [Float](repeating: 0, count: c.m * c.n)
    for i in 0..<c.m { for j in 0..<c.n { result[i * c.n + j] = out[i * ldc + j] } }
    return maxRelativeError(result: result, reference: reference, scale: scale)
}

// MARK: - Status

/// Everything about the BLAS library in use, for the run log and `stp info`.
public struct BLASStatus: Sendable, Equatable {
    public var corename: String
    /// openblas_get_config(), e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64".
    public var config: String
    public var threads: Int
    public var origin: BLASCoreOrigin
    public var check: SgemmCheck?
    public var features: CPUFeatures
    /// Things the user should know (a failed re-exec, an unknown user-set core, a failed check).
    public var warnings: [String]

    public init(corename: String, config: String, threads: Int, origin: BLASCoreOrigin,
                check: SgemmCheck?, features: CPUFeatures, warnings: [String] = []) {
        self.corename = corename
        self.config = config
        self.threads = threads
        self.origin = origin
        self.check = check
        self.features = features
        self.warnings = warnings
    }

    /// "OpenBLAS 0.3.21" from the config string (its first two words), or the whole string.
    public var libraryVersion: String {
        let words = config.split(separator: " ")
        if words.count >= 2, words[0] == "OpenBLAS" { return "OpenBLAS \(words[1])" }
        return config.isEmpty ? "OpenBLAS" : config
    }

    /// True when the check failed (or NaN): results of this run cannot be trusted.
    public var checkFailed: Bool { check.map { !$0.passed } ?? false }

    /// How the core was chosen, in words.
    public var originDescription: String {
        switch origin {
        case .detected:
            return BLASCoreDecision.isGeneric(corename)
                ? "detected by OpenBLAS; generic kernels, CPU has \(features.bestSIMD)"
                : "detected by OpenBLAS"
        case .setByUser(let value):
            return "\(BLASCoreDecision.coreTypeVariable)=\(value) set by user"
        case .autoSelected(let from):
            return "auto-selected, OpenBLAS detected \(from); CPU has \(features.bestSIMD)"
        }
    }

    /// One line for the run log:
    /// "BLAS: OpenBLAS 0.3.21 core SkylakeX (auto-selected, OpenBLAS detected Prescott; CPU has
    /// AVX-512F), 2 threads, sgemm check ok (max rel err 3e-7)".
    public var logLine: String {
        var line = "BLAS: \(libraryVersion) core \(corename) (\(originDescription)), "
        line += "\(threads) thread\(threads == 1 ? "" : "s")"
        if let check { line += ", sgemm check \(check.summary)" }
        return line
    }

    /// A loud message when the numeric check failed, naming the likely cause; nil when fine.
    public var alarm: String? {
        guard let check, !check.passed else { return nil }
        var text = "ERROR: OpenBLAS sgemm gives wrong results with core \(corename) "
        text += "(max rel err \(formatScientific(check.maxRelativeError))). "
        switch origin {
        case .autoSelected(let from):
            text += "stp selected this core automatically; rerun with "
            text += "\(BLASCoreDecision.coreTypeVariable)=\(from) to use OpenBLAS's own choice."
        case .setByUser(let value):
            text += "\(BLASCoreDecision.coreTypeVariable)=\(value) was set by the user; unset it or pick another core."
        case .detected:
            text += "The BLAS installation is broken; training results would be meaningless."
        }
        return text
    }

    /// Several lines for `stp info`.
    public var details: String {
        var lines: [String] = []
        lines.append("CPU:          \(features.modelName)")
        lines.append("  cores:      \(features.logicalCores) logical")
        lines.append("  SIMD:       \(features.simdSummary)")
        lines.append("BLAS:         \(libraryVersion)")
        lines.append("  config:     \(config)")
        lines.append("  core:       \(corename) (\(originDescription))")
        lines.append("  threads:    \(threads)")
        if let check { lines.append("  sgemm:      \(check.summary)") }
        for warning in warnings { lines.append("  warning:    \(warning)") }
        return lines.joined(separator: "\n")
    }
}

// MARK: - Runtime

public enum BLASRuntime {
    /// What `selectCoreOrReexec` found, kept for `status()`.
    struct Selection: Sendable, Equatable {
        var decision: BLASCoreDecision
        var warnings: [String]
    }

    private static let selection = Mutex<Selection?>(nil)

    /// Call first thing in main, before any other work (and before starting threads).
    ///
    /// If OpenBLAS loaded a generic core on a processor that has AVX-512F or AVX2+FMA, and the
    /// user has not set OPENBLAS_CORETYPE, this sets OPENBLAS_CORETYPE and STP_BLAS_AUTOSELECTED
    /// and re-executes the program (/proc/self/exe with the same arguments); it does not return
    /// then. If the exec fails the program continues with the generic core and `status()` carries
    /// a warning. In the re-executed program the marker is present, so it never loops.
    @discardableResult
    public static func selectCoreOrReexec(arguments: [String] = CommandLine.arguments) -> BLASCoreDecision {
        selectCoreOrReexec(arguments: arguments, environment: currentEnvironment(),
                           corename: currentCorename(), features: CPUFeatures.current(),
                           reexec: realReexec)
    }

    /// Testable core of `selectCoreOrReexec`: `reexec` receives the variables to set and the
    /// arguments, and returns only on failure, with an error description.
    static func selectCoreOrReexec(arguments: [String], environment: [String: String],
                                   corename: String, features: CPUFeatures,
                                   reexec: ([(String, String)], [String]) -> String) -> BLASCoreDecision {
        let decision = BLASCoreDecision.decide(corename: corename, features: features, environment: environment)
        var warnings: [String] = []
        if case .switchTo(let core) = decision.action {
            let variables = [(BLASCoreDecision.coreTypeVariable, core),
                             (BLASCoreDecision.markerVariable, corename.isEmpty ? "unknown" : corename)]
            let error = reexec(variables, arguments)
            warnings.append("could not re-execute with \(BLASCoreDecision.coreTypeVariable)=\(core) "
                + "(\(error)); running OpenBLAS's generic \(corename) kernels, about 5x slower. "
                + "Set \(BLASCoreDecision.coreTypeVariable)=\(core) in the environment to fix this.")
        }
        if case .autoSelected = decision.origin,
           let wanted = environment[BLASCoreDecision.coreTypeVariable],
           wanted.lowercased() != corename.lowercased() {
            warnings.append("asked OpenBLAS for core \(wanted) but it loaded \(corename)")
        }
        if case .setByUser(let value) = decision.origin,
           !BLASCoreDecision.knownCores.contains(value.lowercased()) {
            warnings.append("\(BLASCoreDecision.coreTypeVariable)=\(value) is not a core OpenBLAS "
                + "knows; it loaded \(corename) instead")
        }
        let record = Selection(decision: decision, warnings: warnings)
        selection.withLock { $0 = record }
        return decision
    }

    /// Drops what `selectCoreOrReexec` recorded (tests that drive it with fake inputs).
    static func forgetSelection() { selection.withLock { $0 = nil } }

    /// Sets the variables and execs /proc/self/exe; returns only on failure (with the reason),
    /// after restoring the environment.
    static func realReexec(_ variables: [(String, String)], _ arguments: [String]) -> String {
        for (name, value) in variables { setenv(name, value, 1) }
        fflush(nil)
        let argv = (arguments.isEmpty ? [CommandLine.arguments.first ?? "stp"] : arguments)
            .map { strdup($0) } + [nil]
        execv("/proc/self/exe", argv)
        let reason = String(cString: strerror(errno))
        for pointer in argv { free(pointer) }
        for (name, _) in variables { unsetenv(name) }
        return "execv /proc/self/exe: \(reason)"
    }

    public static func currentCorename() -> String {
        guard let name = stp_openblas_corename() else { return "unknown" }
        return String(cString: name).trimmingBlanks()
    }

    public static func currentConfig() -> String {
        guard let config = stp_openblas_config() else { return "" }
        return String(cString: config).trimmingBlanks()
    }

    public static var threadCount: Int { Int(stp_openblas_num_threads()) }

    /// Sets the number of OpenBLAS threads (clamped to at least 1).
    public static func setThreads(_ count: Int) {
        stp_openblas_set_num_threads(Int32(max(1, min(count, Int(Int32.max)))))
    }

    /// Runs the sgemm cases and reports the worst relative error.
    public static func numericCheck(cases: [SgemmCase] = SgemmCase.standard) -> SgemmCheck {
        var worst = 0.0
        for (index, c) in cases.enumerated() {
            let err = runSgemmCase(c, seed: 0x5EED + UInt64(index))
            if err.isNaN || err > worst { worst = err.isNaN ? .infinity : err }
        }
        return SgemmCheck(maxRelativeError: worst)
    }

    /// The BLAS status of this process. Uses what `selectCoreOrReexec` recorded; if it was not
    /// called, decides from the environment without acting.
    public static func status(runCheck: Bool = true) -> BLASStatus {
        let corename = currentCorename()
        let features = CPUFeatures.current()
        let recorded = selection.withLock { $0 }
        let decision = recorded?.decision
            ?? BLASCoreDecision.decide(corename: corename, features: features, environment: currentEnvironment())
        var warnings = recorded?.warnings ?? []
        let check = runCheck ? numericCheck() : nil
        var status = BLASStatus(corename: corename, config: currentConfig(), threads: threadCount,
                                origin: decision.origin, check: check, features: features)
        if let alarm = status.alarm { warnings.append(alarm) }
        status.warnings = warnings
        return status
    }

    static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let cString = entry.pointee {
            let pair = String(cString: cString)
            if let eq = pair.firstIndex(of: "=") {
                result[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
            }
            entry += 1
        }
        return result
    }
}

extension String {
    func trimmingBlanks() -> String { self[...].strippingBlanks() }
}

/// Scientific notation with one significant digit and a bare exponent: 3e-7, 1e-4, 2e+3 → "2e3";
/// zero gives "0", non-finite values "inf"/"nan".
public func formatScientific(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    if x == 0 { return "0" }
    var exponent = Int((log10(abs(x))).rounded(.down))
    var mantissa = (x / pow(10, Double(exponent))).rounded()
    if abs(mantissa) >= 10 { mantissa /= 10; exponent += 1 }
    if exponent >= -3 && exponent <= 3 {
        // Plain numbers read better near 1: 0.5, 20.
        let value = mantissa * pow(10, Double(exponent))
        if exponent >= 0 { return String(Int(value)) }
        var s = String(format3: value, decimals: -exponent)
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
    return "\(Int(mantissa))e\(exponent)"
}

extension String {
    /// Fixed-point formatting without Foundation: `decimals` digits after the point.
    init(format3 value: Double, decimals: Int) {
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([Int32(decimals), value]) { vsnprintf(&buffer, 64, "%.*f", $0) }
        self = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
