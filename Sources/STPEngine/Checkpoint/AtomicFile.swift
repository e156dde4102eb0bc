// Crash-safe file replacement. A checkpoint or run record is written to a temporary file in the
// same directory, flushed to disk, renamed over the target (rename is atomic within one file
// system) and then the directory itself is flushed so that the rename survives a power cut. A
// reader therefore sees either the old file or the new one, never a half-written mix.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum AtomicFile {
    /// Replaces the file at `path` with `data`, atomically.
    public static func write(_ data: Data, to path: String) throws {
        try data.withUnsafeBytes { try write(raw: $0, to: path) }
    }

    /// Replaces the file at `path` with `bytes`, atomically.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try bytes.withUnsafeBytes { try write(raw: $0, to: path) }
    }

    /// Replaces the file at `path` with the UTF-8 bytes of `text`, atomically.
    public static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    /// Creates `path` and any missing parents (like `mkdir -p`); succeeds if it already exists
    /// as a directory. Each component is made with mkdir(2), so an error names the component
    /// that is in the way and why ("/etc/passwd is a file, not a directory"), not Foundation's
    /// error numbers.
    public static func createDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return }
            throw STPError.file(.io, path, "cannot create directory: a file with that name exists")
        }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            if mkdir(prefix, 0o755) == 0 { continue }
            let code = errno
            var st = stat()
            if code == EEXIST, stat(prefix, &st) == 0 {
                if (st.st_mode & S_IFMT) == S_IFDIR { continue }
                throw STPError.file(.io, path, "cannot create directory: \(prefix) is a file, not a directory")
            }
            throw STPError.file(.io, path, "cannot create directory \(prefix): \(errnoText(code))")
        }
    }

    /// The directory holding `path` ("." for a bare file name).
    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func errnoText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }

    private static func write(raw: UnsafeRawBufferPointer, to path: String) throws {
        let directory = parentDirectory(of: path)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        var generator = SystemRandomNumberGenerator()
        let suffix = String(generator.next() & 0xFFFF_FFFF, radix: 16)
        let tempPath = (directory == "/" ? "" : directory) + "/.\(name).tmp-\(getpid())-\(suffix)"

        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw STPError.file(.io, path, "cannot create temporary file \(tempPath): \(errnoText())")
        }
        var committed = false
        defer {
            if !committed { unlink(tempPath) }
        }
        do {
            defer { close(fd) }
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw STPError.file(.io, path, offset: done,
                                        "cannot write \(raw.count) bytes to \(tempPath): \(errnoText())")
                }
                done += n
            }
            if fsync(fd) != 0 {
                throw STPError.file(.io, path, "cannot flush \(tempPath) to disk: \(errnoText())")
            }
        }
        if rename(tempPath, path) != 0 {
            throw STPError.file(.io, path, "cannot rename \(tempPath) over it: \(errnoText())")
        }
        committed = true
        try syncDirectory(directory, for: path)
    }

    /// Flushes a directory entry change (a rename or a new file) to disk.
    static func syncDirectory(_ directory: String, for path: String) throws {
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else {
            throw STPError.file(.io, path, "cannot open directory \(directory) to flush it: \(errnoText())")
        }
        defer { close(dfd) }
        // Some file systems (and some containers) do not support fsync on a directory; the data
        // is already renamed, so only a real I/O error is worth reporting.
        if fsync(dfd) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP {
            throw STPError.file(.io, path, "cannot flush directory \(directory): \(errnoText())")
        }
    }
}
