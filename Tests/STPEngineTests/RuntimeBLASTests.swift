import Testing
@testable import STPEngine

private let avx512 = CPUFeatures(modelName: "x", flags: ["avx2", "fma", "avx512f"], logicalCores: 2)
private let avx2 = CPUFeatures(modelName: "x", flags: ["avx", "avx2", "fma"], logicalCores: 2)
private let avx2NoFMA = CPUFeatures(modelName: "x", flags: ["avx", "avx2"], logicalCores: 2)
private let sse = CPUFeatures(modelName: "x", flags: ["sse2", "ssse3"], logicalCores: 2)

// Serialized: these tests call into OpenBLAS, change its thread count and the recorded
// selection, which are process-wide.
@Suite(.serialized) struct RuntimeBLASTests {
    @Test func runtimeBLASCoreDecisionTable() {
        typealias D = BLASCoreDecision
        let marker = D.markerVariable, core = D.coreTypeVariable
        let cases: [(String, CPUFeatures, [String: String], D.Action, BLASCoreOrigin)] = [
            ("Prescott", avx512, [:], .switchTo("SkylakeX"), .detected),
            ("prescott", avx512, ["HOME": "/root"], .switchTo("SkylakeX"), .detected),
            ("Core2", avx512, [:], .switchTo("SkylakeX"), .detected),
            ("Nehalem", avx2, [:], .switchTo("Haswell"), .detected),
            ("Penryn", avx2, [:], .switchTo("Haswell"), .detected),
            ("Atom", avx2, [:], .switchTo("Haswell"), .detected),
            ("Katmai", avx512, [:], .switchTo("SkylakeX"), .detected),
            ("Dunnington", avx2, [:], .switchTo("Haswell"), .detected),
            ("Unknown", avx512, [:], .switchTo("SkylakeX"), .detected),
            ("", avx2, [:], .switchTo("Haswell"), .detected),
            ("generic", avx2, [:], .switchTo("Haswell"), .detected),
            ("Prescott", avx2NoFMA, [:], .keep, .detected),
            ("Prescott", sse, [:], .keep, .detected),
            ("Haswell", avx512, [:], .keep, .detected),          // not generic: trust OpenBLAS
            ("SkylakeX", avx512, [:], .keep, .detected),
            ("Zen", avx2, [:], .keep, .detected),
            ("Prescott", avx512, [core: "Haswell"], .keep, .setByUser("Haswell")),
            ("Prescott", avx512, [core: "Prescott"], .keep, .setByUser("Prescott")),
            ("Prescott", avx512, [core: ""], .keep, .setByUser("")),
            ("SkylakeX", avx512, [core: "SkylakeX", marker: "Prescott"], .keep, .autoSelected(from: "Prescott")),
            ("Haswell", avx2, [core: "Haswell", marker: "Nehalem"], .keep, .autoSelected(from: "Nehalem")),
            // Marker without the variable (someone unset it): never re-exec a second time.
            ("SkylakeX", avx512, [marker: "Prescott"], .keep, .detected),
            ("Prescott", avx512, [marker: "Prescott"], .keep, .detected),
        ]
        for (name, cpu, env, action, origin) in cases {
            let d = D.decide(corename: name, features: cpu, environment: env)
            #expect(d.action == action, "core \(name) env \(env)")
            #expect(d.origin == origin, "core \(name) env \(env)")
        }
    }

    @Test func runtimeSelectReexecsOnceAndRecordsFailure() {
        var calls: [([(String, String)], [String])] = []
        let d = BLASRuntime.selectCoreOrReexec(
            arguments: ["stp", "train", "--epochs", "3"], environment: [:], corename: "Prescott",
            features: avx512, reexec: { vars, args in calls.append((vars, args)); return "execv: Permission denied" })
        #expect(d.action == .switchTo("SkylakeX"))
        #expect(calls.count == 1)
        #expect(calls.first?.0.map { $0.0 } == ["OPENBLAS_CORETYPE", "STP_BLAS_AUTOSELECTED"])
        #expect(calls.first?.0.map { $0.1 } == ["SkylakeX", "Prescott"])
        #expect(calls.first?.1 == ["stp", "train", "--epochs", "3"])

        // The re-executed program sees the marker and does not exec again.
        calls = []
        let second = BLASRuntime.selectCoreOrReexec(
            arguments: ["stp"], environment: ["OPENBLAS_CORETYPE": "SkylakeX", "STP_BLAS_AUTOSELECTED": "Prescott"],
            corename: "SkylakeX", features: avx512, reexec: { vars, args in calls.append((vars, args)); return "" })
        #expect(calls.isEmpty)
        #expect(second.origin == .autoSelected(from: "Prescott"))

        // A user setting is never overridden.
        _ = BLASRuntime.selectCoreOrReexec(
            arguments: ["stp"], environment: ["OPENBLAS_CORETYPE": "Prescott"], corename: "Prescott",
            features: avx512, reexec: { vars, args in calls.append((vars, args)); return "" })
        #expect(calls.isEmpty)
        BLASRuntime.forgetSelection()
    }

    @Test func runtimeSgemmCheckPassesWithLoadedCore() {
        let check = BLASRuntime.numericCheck()
        #expect(check.passed, "max rel err \(check.maxRelativeError) with core \(BLASRuntime.currentCorename())")
        #expect(check.maxRelativeError < 1e-5)
        #expect(check.summary.hasPrefix("ok (max rel err "))
    }

    @Test func runtimeRelativeErrorDetectsWrongResults() {
        #expect(maxRelativeError(result: [1, 2], reference: [1, 2], scale: [1, 2]) == 0)
        #expect(abs(maxRelativeError(result: [1, 2.5], reference: [1, 2], scale: [1, 2]) - 0.25) < 1e-12)
        #expect(maxRelativeError(result: [.nan], reference: [1], scale: [1]) == .infinity)
        // Cancellation: reference ~0 but terms of size 10 → error relative to the terms, not to 0.
        #expect(abs(maxRelativeError(result: [1e-6], reference: [0], scale: [10]) - 1e-7) < 1e-15)
        #expect(!SgemmCheck(maxRelativeError: .nan).passed)
        #expect(!SgemmCheck(maxRelativeError: 2e-4).passed)
        #expect(SgemmCheck(maxRelativeError: 2e-4).summary == "FAILED (max rel err 2e-4, tolerance 1e-4)")
        #expect(SgemmCheck(maxRelativeError: 3.2e-7).summary == "ok (max rel err 3e-7)")
    }

    @Test func runtimeScientificFormatting() {
        #expect(formatScientific(3e-7) == "3e-7")
        #expect(formatScientific(2.6e-7) == "3e-7")
        #expect(formatScientific(9.7e-8) == "1e-7")
        #expect(formatScientific(1e-4) == "1e-4")
        #expect(formatScientific(0) == "0")
        #expect(formatScientific(0.5) == "0.5")
        #expect(formatScientific(0.012) == "0.01")
        #expect(formatScientific(20) == "20")
        #expect(formatScientific(12345) == "1e4")
        #expect(formatScientific(.infinity) == "inf")
        #expect(formatScientific(.nan) == "nan")
    }

    @Test func runtimeBLASStatusLines() {
        let cpu = CPUFeatures(modelName: "Intel(R) Xeon(R) Processor", flags: ["avx2", "fma", "avx512f"], logicalCores: 2)
        let config = "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64"
        let auto = BLASStatus(corename: "SkylakeX", config: config, threads: 2, origin: .autoSelected(from: "Prescott"),
                              check: SgemmCheck(maxRelativeError: 3e-7), features: cpu)
        #expect(auto.logLine == "BLAS: OpenBLAS 0.3.21 core SkylakeX (auto-selected, OpenBLAS detected Prescott; "
            + "CPU has AVX-512F), 2 threads, sgemm check ok (max rel err 3e-7)")
        #expect(auto.alarm == nil && !auto.checkFailed)

        let user = BLASStatus(corename: "Haswell", config: config, threads: 1, origin: .setByUser("Haswell"),
                              check: nil, features: cpu)
        #expect(user.logLine == "BLAS: OpenBLAS 0.3.21 core Haswell (OPENBLAS_CORETYPE=Haswell set by user), 1 thread")

        let detected = BLASStatus(corename: "Prescott", config: "", threads: 2, origin: .detected,
                                  check: SgemmCheck(maxRelativeError: 1e-8), features: sse)
        #expect(detected.logLine == "BLAS: OpenBLAS core Prescott (detected by OpenBLAS; generic kernels, "
            + "CPU has no AVX2), 2 threads, sgemm check ok (max rel err 1e-8)")

        let broken = BLASStatus(corename: "SkylakeX", config: config, threads: 2, origin: .autoSelected(from: "Prescott"),
                                check: SgemmCheck(maxRelativeError: 0.3), features: cpu, warnings: ["w1"])
        #expect(broken.checkFailed)
        #expect(broken.alarm?.contains("OPENBLAS_CORETYPE=Prescott") == true)
        #expect(broken.logLine.hasSuffix("sgemm check FAILED (max rel err 0.3, tolerance 1e-4)"))
        let details = broken.details.split(separator: "\n").map(String.init)
        #expect(details.first == "CPU:          Intel(R) Xeon(R) Processor")
        #expect(details.contains("  core:       SkylakeX (auto-selected, OpenBLAS detected Prescott; CPU has AVX-512F)"))
        #expect(details.last == "  warning:    w1")
    }

    @Test func runtimeBLASLiveStatusAndThreads() {
        let status = BLASRuntime.status()
        #expect(!status.corename.isEmpty)
        #expect(status.config.hasPrefix("OpenBLAS"))
        #expect(status.check?.passed == true)
        #expect(status.logLine.hasPrefix("BLAS: OpenBLAS "))
        let before = BLASRuntime.threadCount
        BLASRuntime.setThreads(1)
        #expect(BLASRuntime.threadCount == 1)
        BLASRuntime.setThreads(before)
        #expect(BLASRuntime.threadCount == before)
    }
}
