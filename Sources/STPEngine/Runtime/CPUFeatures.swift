// What the processor can do, read from /proc/cpuinfo.
//
// The BLAS core decision (BLASRuntime.swift) and `stp info` need the model name and the SIMD
// feature flags. Parsing is a pure function on the file's text so tests can feed it sample text;
// `CPUFeatures.current()` reads the real file.

#if canImport(Glibc)
import Glibc
#endif

public struct CPUFeatures: Sendable, Equatable {
    /// "model name" of the first processor, e.g. "Intel(R) Xeon(R) Processor"; "unknown" if absent.
    public var modelName: String
    /// "vendor_id", e.g. "GenuineIntel"; empty if absent.
    public var vendor: String
    /// Feature flags of the first processor, lower case as the kernel writes them ("avx512f").
    public var flags: Set<String>
    /// Logical processors the process may use (affinity mask when known, else /proc/cpuinfo count).
    public var logicalCores: Int

    public init(modelName: String, vendor: String = "", flags: Set<String>, logicalCores: Int) {
        self.modelName = modelName
        self.vendor = vendor
        self.flags = flags
        self.logicalCores = logicalCores
    }

    public func has(_ flag: String) -> Bool { flags.contains(flag.lowercased()) }

    public var hasAVX2: Bool { has("avx2") }
    public var hasFMA: Bool { has("fma") }
    public var hasAVX512F: Bool { has("avx512f") }
    public var hasAVX512BW: Bool { has("avx512bw") }
    public var hasAVX512VL: Bool { has("avx512vl") }
    public var hasAVX512BF16: Bool { has("avx512_bf16") }
    /// Any of the AMX tile extensions (amx_tile, amx_bf16, amx_int8).
    public var hasAMX: Bool { has("amx_tile") || has("amx_bf16") || has("amx_int8") }

    /// The SIMD features that matter for the numeric kernels, in a fixed order, with the names
    /// Intel uses ("AVX2 FMA AVX-512F AVX-512BW AVX-512VL AVX-512-BF16"); "SSE only" when none.
    public var simdSummary: String {
        var names: [String] = []
        if hasAVX2 { names.append("AVX2") }
        if hasFMA { names.append("FMA") }
        if hasAVX512F { names.append("AVX-512F") }
        if hasAVX512BW { names.append("AVX-512BW") }
        if hasAVX512VL { names.append("AVX-512VL") }
        if hasAVX512BF16 { names.append("AVX-512-BF16") }
        if hasAMX { names.append("AMX") }
        return names.isEmpty ? "SSE only" : names.joined(separator: " ")
    }

    /// The single most capable SIMD level, for one-line messages: "AVX-512F", "AVX2", or "no AVX2".
    public var bestSIMD: String {
        if hasAVX512F { return "AVX-512F" }
        if hasAVX2 { return hasFMA ? "AVX2+FMA" : "AVX2" }
        return "no AVX2"
    }

    /// Parses the text of /proc/cpuinfo (x86 layout: "key<TAB>: value" lines, one block per
    /// logical processor separated by blank lines). Flags and model come from the first block;
    /// the core count is the number of "processor" lines (at least 1).
    public static func parse(cpuinfo text: String) -> CPUFeatures {
        var model: String?
        var vendor: String?
        var flags: Set<String>?
        var processors = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let colon = rawLine.firstIndex(of: ":") else { continue }
            let key = rawLine[..<colon].strippingBlanks()
            let value = rawLine[rawLine.index(after: colon)...].strippingBlanks()
            switch key {
            case "processor": processors += 1
            case "model name": if model == nil { model = value }
            case "vendor_id": if vendor == nil { vendor = value }
            // "flags" on x86; "Features" on ARM, kept so the parser degrades gracefully there.
            case "flags", "Features":
                if flags == nil {
                    flags = Set(value.split(separator: " ").map { $0.lowercased() })
                }
            default: break
            }
        }
        return CPUFeatures(modelName: model ?? "unknown", vendor: vendor ?? "",
                           flags: flags ?? [], logicalCores: max(processors, 1))
    }

    /// The running machine: /proc/cpuinfo, with the core count taken from the scheduler affinity
    /// mask (what `nproc` prints) when that is available, since containers often see every host
    /// processor in /proc/cpuinfo but may run on only a few.
    public static func current() -> CPUFeatures {
        var features = parse(cpuinfo: readTextFile("/proc/cpuinfo") ?? "")
        if let allowed = affinityCoreCount() { features.logicalCores = allowed }
        return features
    }

    static func affinityCoreCount() -> Int? {
        // sched_getaffinity is not visible to Swift without _GNU_SOURCE; the kernel publishes the
        // same mask in /proc/self/status.
        guard let status = readTextFile("/proc/self/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("Cpus_allowed_list:") {
            let list = line.dropFirst("Cpus_allowed_list:".count).strippingBlanks()
            return countCPUList(list)
        }
        return nil
    }

    /// Number of processors in a kernel CPU list such as "0-3,8,10-11" (7); nil if malformed.
    static func countCPUList(_ list: String) -> Int? {
        var total = 0
        for part in list.split(separator: ",") {
            let ends = part.split(separator: "-")
            if ends.count == 1, Int(ends[0]) != nil {
                total += 1
            } else if ends.count == 2, let lo = Int(ends[0]), let hi = Int(ends[1]), hi >= lo {
                total += hi - lo + 1
            } else {
                return nil
            }
        }
        return total > 0 ? total : nil
    }
}

extension Substring {
    func strippingBlanks() -> String {
        let set: String = " \t\r"
        var s = self[...]
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}

/// Reads a whole (small, possibly size-less like /proc files) text file; nil if it cannot be opened.
func readTextFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}
