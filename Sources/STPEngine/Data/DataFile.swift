// File helpers for the data layer: whole-file reads with errors that name the path, and atomic
// writes (temporary file, fsync, rename) so an interrupted download never leaves a half file
// under the final name.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum DataFile {
    static func exists(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    static func size(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
    }

    /// The whole file. `what` says what the file should be, for the error when it is missing.
    static func read(_ path: String, what: String) throws -> [UInt8] {
        try RegularFile.read(path, kind: .data, what: what)
    }

    /// Writes `bytes` to `path` atomically: a temporary file in the same directory is written,
    /// flushed to disk and renamed over `path`; the directory is then synced.
    static func writeAtomically(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let temp = dir + "/." + (path as NSString).lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw STPError.file(.io, temp, "cannot create (\(String(cString: strerror(errno))))")
        }
        var ok = false
        defer {
            if !ok { unlink(temp) }
        }
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw STPError.file(.io, temp, offset: done, "write failed (\(reason))")
            }
            done += n
        }
        guard fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw STPError.file(.io, temp, "fsync failed (\(reason))")
        }
        close(fd)
        guard rename(temp, path) == 0 else {
            throw STPError.file(.io, path, "cannot rename \(temp) into place (\(String(cString: strerror(errno))))")
        }
        ok = true
        syncDirectory(dir)
    }

    static func writeAtomically(_ bytes: ArraySlice<UInt8>, to path: String) throws {
        try bytes.withUnsafeBytes { try writeAtomically($0, to: path) }
    }

    static func syncDirectory(_ dir: String) {
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw STPError.file(.io, path, "cannot create directory (\(error.localizedDescription))")
        }
    }

    /// `~` and `~/...` expanded against $HOME.
    static func expandTilde(_ path: String) -> String {
        guard path == "~" || path.hasPrefix("~/") else { return path }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return home + path.dropFirst()
    }
}
