// Whole-file reads for every file stp reads from a user: data sets, checkpoints, run records,
// metrics logs, descriptions of extracted networks. One rule for all of them, so that none can
// block on a named pipe, read a device or a directory, or answer with Foundation's error numbers:
// the file is opened non-blocking (opening a FIFO for reading then returns at once instead of
// waiting for a writer), then must be a regular file (fstat on the open descriptor, so no other
// file can be swapped in between the check and the read), and is read to its stated size.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum RegularFile {
    /// The bytes of the regular file at `path`. `what` says what the file should be; errors are
    /// of `kind` and name the path, the problem and what was expected.
    public static func read(_ path: String, kind: STPError.Kind, what: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = errno == ENOENT ? "no such file" : String(cString: strerror(errno))
            throw STPError.file(kind, path, "cannot open (\(reason)); expected \(what)")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw STPError.file(kind, path, "cannot read its type (\(String(cString: strerror(errno)))); expected \(what)")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw STPError.file(kind, path, "is \(typeName(st.st_mode)), not a regular file; expected \(what)")
        }
        // A regular file ignores O_NONBLOCK; clearing it keeps reads plain wherever that differs.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        try bytes.withUnsafeMutableBytes { buf in
            while done < size {
                let n = Glibc.read(fd, buf.baseAddress! + done, size - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw STPError.file(kind, path, offset: done, "read failed (\(n < 0 ? String(cString: strerror(errno)) : "file shrank while reading"))")
                }
                done += n
            }
        }
        return bytes
    }

    /// "a directory", "a named pipe", ...: what a path is when it is not a regular file.
    static func typeName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a named pipe"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
    }
}
