// How much memory the process uses, for the run log and the memory budget checks.
//
// Linux reports the resident set in /proc/self/status: VmRSS (now) and VmHWM (the high-water
// mark, i.e. peak). Both are in kB. When that file is unavailable the peak falls back to
// getrusage's ru_maxrss (also kB on Linux) and the current value to nil.

#if canImport(Glibc)
import Glibc
#endif

public enum ProcessMemory {
    /// Peak resident set size in bytes (VmHWM, else ru_maxrss); 0 if neither is available.
    public static func peakResidentBytes() -> Int {
        if let text = readTextFile("/proc/self/status"),
           let kB = statusField("VmHWM", in: text) {
            return kB * 1024
        }
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss) * 1024
    }

    /// Current resident set size in bytes (VmRSS); nil if /proc/self/status cannot be read.
    public static func currentResidentBytes() -> Int? {
        guard let text = readTextFile("/proc/self/status"),
              let kB = statusField("VmRSS", in: text) else { return nil }
        return kB * 1024
    }

    /// The number of kB in a /proc/<pid>/status line such as "VmHWM:\t  123456 kB".
    static func statusField(_ name: String, in text: String) -> Int? {
        for line in text.split(separator: "\n") {
            guard line.hasPrefix(name + ":") else { continue }
            let rest = line.dropFirst(name.count + 1).split(separator: " ", omittingEmptySubsequences: true)
                .flatMap { $0.split(separator: "\t") }
            guard let number = rest.first, let value = Int(number) else { return nil }
            return value
        }
        return nil
    }
}
