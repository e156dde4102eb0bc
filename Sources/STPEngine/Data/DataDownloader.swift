// `stp data get cifar10|cifar100|mnist|fashion-mnist [--from FILE_OR_URL] [--no-verify]`:
// fetches the official files (or takes a local copy), checks the published MD5 digests and
// unpacks them into the cache, returning the directory to pass to `--data`.
//
// Cache: $STP_CACHE/data/NAME when STP_CACHE is set, else ~/.cache/stp/data/NAME. Every file is
// written atomically (temporary file, fsync, rename), so an interrupted run leaves either the
// old state or the complete file, never a partial one under its final name.

import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One published file of a data set.
public struct RemoteFile: Sendable, Equatable {
    public var name: String
    public var md5: String
    /// Mirrors, tried in order.
    public var urls: [String]
}

public enum DownloadableDataset: String, CaseIterable, Sendable {
    case cifar10, cifar100, mnist
    case fashionMNIST = "fashion-mnist"

    public var files: [RemoteFile] {
        switch self {
        case .cifar10:
            return [RemoteFile(name: "cifar-10-binary.tar.gz", md5: "c32a1d4ab5d03f1284b67883e8d87530",
                               urls: ["https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"])]
        case .cifar100:
            return [RemoteFile(name: "cifar-100-binary.tar.gz", md5: "03b5dce01913d631647c71ecec9e9cb8",
                               urls: ["https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"])]
        case .mnist:
            let mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
            return zip(MNISTLoader.fileStems, ["f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                                               "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"])
                .map { stem, md5 in RemoteFile(name: stem + ".gz", md5: md5, urls: mirrors.map { $0 + stem + ".gz" }) }
        case .fashionMNIST:
            let mirror = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
            return zip(MNISTLoader.fileStems, ["8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                                               "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"])
                .map { RemoteFile(name: $0 + ".gz", md5: $1, urls: [mirror + $0 + ".gz"]) }
        }
    }

    /// For the tar archives: the folder inside whose files are unpacked (flattened) into the cache.
    public var archiveFolder: String? {
        switch self {
        case .cifar10: CIFARLoader.Variant.cifar10.archiveFolder
        case .cifar100: CIFARLoader.Variant.cifar100.archiveFolder
        case .mnist, .fashionMNIST: nil
        }
    }

    /// The files that must be in the cache directory for the data set to be usable.
    public var unpackedFiles: [String] {
        switch self {
        case .cifar10: CIFARLoader.Variant.cifar10.trainFiles + ["test_batch.bin", "batches.meta.txt"]
        case .cifar100: ["train.bin", "test.bin"]
        case .mnist, .fashionMNIST: files.map(\.name)
        }
    }

    /// The `--data` spec for a directory holding this data set.
    public func dataSpec(path: String) -> String { "\(rawValue):\(path)" }
}

public struct DownloadProgress: Sendable, Equatable {
    public enum Stage: String, Sendable { case downloading, verifying, unpacking, validating, done }
    public var stage: Stage
    /// The file being worked on (a name, URL or path).
    public var file: String
    public var bytesDone: Int64
    /// Nil when unknown (a server that sends no length).
    public var bytesTotal: Int64?
}

public enum DataDownloader {
    /// $STP_CACHE/data/NAME, or ~/.cache/stp/data/NAME.
    public static func cacheDirectory(for dataset: DownloadableDataset,
                                      environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let root: String
        if let cache = environment["STP_CACHE"], !cache.isEmpty {
            root = DataFile.expandTilde(cache)
        } else {
            root = (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/stp"
        }
        return root + "/data/" + dataset.rawValue
    }

    /// Fetches `dataset` into `cacheDirectory` (default: `cacheDirectory(for:)`) and returns that
    /// directory. `source` is a local file or directory, or an http(s)/file URL: for the CIFAR
    /// archives the archive itself (or a directory / base URL holding it), for MNIST a directory or
    /// base URL holding the four .gz files. Without `source` the official mirrors are used.
    /// `verify: false` (`--no-verify`) accepts files whose MD5 differs from the published one.
    /// If the cache already holds the unpacked files and no `source` is given, nothing is fetched.
    @discardableResult
    public static func get(_ dataset: DownloadableDataset, from source: String? = nil, cacheDirectory: String? = nil,
                           verify: Bool = true,
                           progress: @escaping @Sendable (DownloadProgress) -> Void = { _ in }) throws -> String {
        try get(dataset: dataset, files: dataset.files, from: source, cacheDirectory: cacheDirectory,
                verify: verify, progress: progress)
    }

    /// The implementation, with the file list injectable for tests.
    static func get(dataset: DownloadableDataset, files: [RemoteFile], from source: String?, cacheDirectory: String?,
                    verify: Bool, progress: @escaping @Sendable (DownloadProgress) -> Void) throws -> String {
        let dir = DataFile.expandTilde(cacheDirectory ?? self.cacheDirectory(for: dataset))
        try DataFile.makeDirectory(dir)
        if source == nil && dataset.unpackedFiles.allSatisfy({ DataFile.exists(dir + "/" + $0) }) {
            progress(DownloadProgress(stage: .done, file: dir, bytesDone: 0, bytesTotal: 0))
            return dir
        }
        for file in files {
            let fetched = try fetch(file, dataset: dataset, source: source, into: dir, progress: progress)
            defer { if fetched.isTemporary { unlink(fetched.path) } }
            if fetched.md5 != file.md5 {
                if verify {
                    throw STPError.file(.data, fetched.origin,
                                        "MD5 mismatch for \(file.name): expected \(file.md5), got \(fetched.md5)"
                                        + " (damaged or different file; use --no-verify only for a copy you trust)")
                }
            }
            if let folder = dataset.archiveFolder {
                try unpackArchive(fetched.path, origin: fetched.origin, folder: folder, into: dir, progress: progress)
            } else {
                progress(DownloadProgress(stage: .unpacking, file: file.name, bytesDone: 0, bytesTotal: nil))
                let target = dir + "/" + file.name
                if fetched.isTemporary {
                    guard rename(fetched.path, target) == 0 else {
                        throw STPError.file(.io, target, "cannot move the download into place (\(String(cString: strerror(errno))))")
                    }
                    DataFile.syncDirectory(dir)
                } else {
                    let bytes = try DataFile.read(fetched.path, what: file.name)
                    try DataFile.writeAtomically(bytes[...], to: target)
                }
            }
        }
        for name in dataset.unpackedFiles where !DataFile.exists(dir + "/" + name) {
            throw STPError.file(.data, source ?? files.first?.urls.first ?? dir,
                                "did not provide \(name); expected \(dataset.unpackedFiles.joined(separator: ", "))")
        }
        // Prove the directory loads before handing it back.
        progress(DownloadProgress(stage: .validating, file: dir, bytesDone: 0, bytesTotal: nil))
        _ = try DataSource(dataset: dataset, path: dir).load()
        progress(DownloadProgress(stage: .done, file: dir, bytesDone: 0, bytesTotal: 0))
        return dir
    }

    struct Fetched {
        var path: String
        var origin: String     // what the user supplied or the URL, for messages
        var md5: String
        var isTemporary: Bool  // a download in the cache directory, to remove or move
    }

    static func isURL(_ s: String) -> Bool {
        s.hasPrefix("http://") || s.hasPrefix("https://") || s.hasPrefix("file://")
    }

    /// Where `file` comes from when the user gave `source`.
    static func location(of file: RemoteFile, dataset: DownloadableDataset, source: String) throws -> String {
        let single = dataset.files.count == 1
        if isURL(source) {
            if source.hasPrefix("file://") {
                return try location(of: file, dataset: dataset, source: String(source.dropFirst("file://".count)))
            }
            if single && !source.hasSuffix("/") { return source }
            return source + (source.hasSuffix("/") ? "" : "/") + file.name
        }
        let path = DataFile.expandTilde(source)
        if DataFile.isDirectory(path) { return path + "/" + file.name }
        if single { return path }
        throw STPError.file(.argument, path, "expected a directory holding "
                            + dataset.files.map(\.name).joined(separator: ", "))
    }

    static func fetch(_ file: RemoteFile, dataset: DownloadableDataset, source: String?, into dir: String,
                      progress: @escaping @Sendable (DownloadProgress) -> Void) throws -> Fetched {
        let candidates = try source.map { [try location(of: file, dataset: dataset, source: $0)] } ?? file.urls
        var lastError: Error?
        for candidate in candidates {
            if isURL(candidate) {
                do {
                    return try download(candidate, into: dir, name: file.name, progress: progress)
                } catch {
                    lastError = error
                    continue
                }
            }
            guard DataFile.exists(candidate) else {
                throw STPError.file(.data, candidate, "not found; expected the \(dataset.rawValue) file \(file.name)")
            }
            return Fetched(path: candidate, origin: candidate, md5: try md5(ofFile: candidate, progress: progress),
                           isTemporary: false)
        }
        throw lastError ?? STPError(.io, "no source for \(file.name)")
    }

    /// MD5 of a file read in 4 MiB pieces.
    public static func md5(ofFile path: String,
                           progress: @escaping @Sendable (DownloadProgress) -> Void = { _ in }) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw STPError.file(.data, path, "cannot open for reading")
        }
        defer { try? handle.close() }
        let total = Int64(DataFile.size(path) ?? 0)
        var hasher = MD5()
        var done: Int64 = 0
        while true {
            let piece = try handle.read(upToCount: 1 << 22) ?? Data()
            if piece.isEmpty { break }
            piece.withUnsafeBytes { hasher.update($0) }
            done += Int64(piece.count)
            progress(DownloadProgress(stage: .verifying, file: path, bytesDone: done, bytesTotal: total))
        }
        return MD5.hex(hasher.finalize())
    }

    /// Unpacks the regular files directly inside `folder/` of a .tar.gz into `dir`. Other entries
    /// (directories, links, anything with `..` or in other folders) are skipped, so an archive
    /// cannot write outside the cache.
    static func unpackArchive(_ path: String, origin: String, folder: String, into dir: String,
                              progress: @escaping @Sendable (DownloadProgress) -> Void) throws {
        progress(DownloadProgress(stage: .unpacking, file: origin, bytesDone: 0, bytesTotal: nil))
        let compressed = try DataFile.read(path, what: "a .tar.gz archive")
        let tar = try Gzip.decompress(compressed, path: origin)
        let entries = try Tar.entries(in: tar, path: origin)
        let total = Int64(entries.reduce(0) { $0 + $1.size })
        var done: Int64 = 0
        var written = 0
        for entry in entries where entry.kind == .file {
            var name = entry.name
            if name.hasPrefix("./") { name.removeFirst(2) }
            guard name.hasPrefix(folder + "/") else { continue }
            let base = String(name.dropFirst(folder.count + 1))
            guard !base.isEmpty, !base.contains("/"), base != "..", base != "." else { continue }
            try tar.withUnsafeBytes { raw in
                try DataFile.writeAtomically(UnsafeRawBufferPointer(rebasing: raw[entry.dataRange]), to: dir + "/" + base)
            }
            written += 1
            done += Int64(entry.size)
            progress(DownloadProgress(stage: .unpacking, file: base, bytesDone: done, bytesTotal: total))
        }
        if written == 0 {
            throw STPError.file(.data, origin, "archive holds no files under \(folder)/; expected the official archive layout")
        }
    }

    // MARK: - HTTP

    /// Streams `url` into a temporary file in `dir`, hashing as it goes.
    static func download(_ url: String, into dir: String, name: String,
                         progress: @escaping @Sendable (DownloadProgress) -> Void) throws -> Fetched {
        guard let u = URL(string: url) else { throw STPError(.argument, "\(url): not a valid URL") }
        let temp = dir + "/." + name + ".partial-\(getpid())"
        guard FileManager.default.createFile(atPath: temp, contents: nil), let handle = FileHandle(forWritingAtPath: temp) else {
            throw STPError.file(.io, temp, "cannot create the download file")
        }
        let delegate = DownloadDelegate(handle: handle, url: url, progress: progress)
        let session = URLSession(configuration: .ephemeral, delegate: delegate, delegateQueue: nil)
        session.dataTask(with: u).resume()
        delegate.finished.wait()
        session.finishTasksAndInvalidate()
        var ok = false
        defer { if !ok { unlink(temp) } }
        if let error = delegate.failure {
            try? handle.close()
            let reason = (error as NSError).userInfo[NSLocalizedDescriptionKey] as? String ?? "\(error)"
            throw STPError(.io, "\(url): download failed (\(reason))")
        }
        if let status = delegate.status, !(200..<300).contains(status) {
            try? handle.close()
            throw STPError(.io, "\(url): server answered HTTP \(status)")
        }
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw STPError.file(.io, temp, "cannot flush the download (\(error))")
        }
        if let expected = delegate.expected, expected != delegate.received {
            throw STPError(.io, "\(url): connection closed after \(delegate.received) of \(expected) bytes")
        }
        ok = true
        return Fetched(path: temp, origin: url, md5: MD5.hex(delegate.hasher.finalize()), isTemporary: true)
    }

    /// URLSession calls its delegate serially on the session queue; the caller reads the fields
    /// only after `finished` is signalled, so no further locking is needed.
    final class DownloadDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let handle: FileHandle
        let url: String
        let progress: @Sendable (DownloadProgress) -> Void
        let finished = DispatchSemaphore(value: 0)
        var hasher = MD5()
        var received: Int64 = 0
        var expected: Int64?
        var status: Int?
        var failure: Error?

        init(handle: FileHandle, url: String, progress: @escaping @Sendable (DownloadProgress) -> Void) {
            self.handle = handle
            self.url = url
            self.progress = progress
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
            status = (response as? HTTPURLResponse)?.statusCode
            expected = response.expectedContentLength > 0 ? response.expectedContentLength : nil
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            guard failure == nil, status.map({ (200..<300).contains($0) }) ?? true else { return }
            do {
                try handle.write(contentsOf: data)
            } catch {
                failure = error
                dataTask.cancel()
                return
            }
            data.withUnsafeBytes { hasher.update($0) }
            received += Int64(data.count)
            progress(DownloadProgress(stage: .downloading, file: url, bytesDone: received, bytesTotal: expected))
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            if failure == nil { failure = error }
            finished.signal()
        }
    }
}
