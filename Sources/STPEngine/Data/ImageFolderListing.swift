// Lists the files of an image folder and checks its layout before anything is decoded:
//
//   PATH/train/CLASS/...   one folder per class; the class names are the sorted folder names
//   PATH/val/CLASS/...     optional; the same class folders as train
//
// Every file under a class folder, in subfolders too, is taken as one image of that class
// (its format is checked when it is decoded); names starting with "." (.DS_Store, the decode
// cache) are skipped, and so are files lying directly in train/ or val/, which belong to no class.
// Names sort by Unicode code point, as Python's sorted() does, so class indices match those of
// torchvision's ImageFolder on the same folder.
//
// Directory symlinks are followed only when they lead out of the folder (images kept on another
// disk, say), never when they lead back into it: `train/a/up -> ..` would list every image again
// as often as the depth allows, and `train/b/sub -> ../../train` would label class a's images b
// too. A directory reached twice (a loop outside the folder) is listed once. Each symlink skipped
// is in `skippedLinks`, and the loader says so.
//
// The listing also yields the folder's fingerprint: a digest of every file's path, size and
// modification time, which tells the decode cache whether the folder changed since.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct ImageFolderListing: Equatable {
    struct File: Equatable {
        /// Relative to the folder root, e.g. "train/cat/001.jpg".
        var relativePath: String
        var size: Int
        /// Modification time in nanoseconds since the epoch.
        var modified: Int64
        var label: Int32
    }

    var root: String
    var classNames: [String]
    var train: [File]
    /// The val folder's files; nil when there is no val folder.
    var val: [File]?
    /// Directory symlinks not followed, relative to the root, with the reason.
    var skippedLinks: [String] = []

    static let trainFolder = "train"
    static let valFolder = "val"
    /// Subfolders deeper than this inside a class folder are not followed (a symlink loop).
    static let maximumDepth = 16

    /// Lists `root`, throwing an error that names the offending folder when the layout is wrong:
    /// no root or train folder, no class folders, fewer than two classes, an empty class folder,
    /// or a val folder whose classes differ from train's.
    static func scan(root: String) throws -> ImageFolderListing {
        guard DataFile.isDirectory(root) else {
            throw STPError.file(.data, root, "not found or not a folder; expected a folder holding train/CLASS/ image folders")
        }
        let trainPath = root + "/" + trainFolder
        guard DataFile.isDirectory(trainPath) else {
            throw STPError.file(.data, trainPath, "not found; expected the training images in class folders, train/CLASS/*.jpg (or .jpeg, .png)")
        }
        let classNames = try classFolders(of: trainPath)
        guard !classNames.isEmpty else {
            let strays = (try? visibleEntries(of: trainPath).count) ?? 0
            throw STPError.file(.data, trainPath, "has no class folders" + (strays > 0 ? " (only \(strays) loose files)" : "")
                                + "; expected one folder per class, train/CLASS/*.jpg")
        }
        guard classNames.count >= 2 else {
            throw STPError.file(.data, trainPath, "has one class folder (\(classNames[0])); expected at least two classes to tell apart")
        }
        var walk = Walk(root: root)
        let train = try files(in: trainFolder, root: root, classNames: classNames, walk: &walk)
        var val: [File]?
        let valPath = root + "/" + valFolder
        if DataFile.isDirectory(valPath) {
            let valClasses = try classFolders(of: valPath)
            if valClasses != classNames {
                let missing = classNames.filter { !valClasses.contains($0) }
                let extra = valClasses.filter { !classNames.contains($0) }
                var problems = [String]()
                if !missing.isEmpty { problems.append("lacks " + missing.joined(separator: ", ")) }
                if !extra.isEmpty { problems.append("has " + extra.joined(separator: ", ") + " that train lacks") }
                throw STPError.file(.data, valPath, problems.joined(separator: " and ")
                                    + "; expected the same class folders as \(trainPath)")
            }
            val = try files(in: valFolder, root: root, classNames: classNames, walk: &walk)
        }
        return ImageFolderListing(root: root, classNames: classNames, train: train, val: val, skippedLinks: walk.skipped)
    }

    /// A digest of every file's path, size and modification time, and of `decodeOptions`.
    func fingerprint(decodeOptions: String) -> String {
        var digest = MD5()
        digest.update(Array("image-folder listing\n\(decodeOptions)\nclasses \(classNames.joined(separator: "/"))\n".utf8))
        for file in train + (val ?? []) {
            digest.update(Array("\(file.relativePath)\t\(file.size)\t\(file.modified)\n".utf8))
        }
        digest.update(Array((val == nil ? "no val folder\n" : "val folder\n").utf8))
        return MD5.hex(digest.finalize())
    }

    /// Unicode code point order (Python's sorted()), independent of locale and normalisation.
    static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }

    /// Names in `path` not starting with ".", unsorted.
    static func visibleEntries(of path: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path).filter { !$0.hasPrefix(".") }
        } catch {
            throw STPError.file(.data, path, "cannot be listed (\(error.localizedDescription))")
        }
    }

    static func classFolders(of path: String) throws -> [String] {
        try visibleEntries(of: path).filter { DataFile.isDirectory(path + "/" + $0) }.sorted(by: codePointOrder)
    }

    /// The files of every class folder of `split`, class by class, each class's in path order.
    /// What a listing has seen: the directories it entered (device, inode) and the symlinks it
    /// did not follow.
    struct Walk {
        let realRoot: String
        var visited = Set<[UInt64]>()
        var skipped = [String]()
        init(root: String) {
            realRoot = Walk.realPath(root) ?? root
        }
        static func realPath(_ path: String) -> String? {
            guard let resolved = realpath(path, nil) else { return nil }
            defer { free(resolved) }
            return String(cString: resolved)
        }
    }

    static func files(in split: String, root: String, classNames: [String], walk: inout Walk) throws -> [File] {
        var all = [File]()
        for (label, name) in classNames.enumerated() {
            let classPath = split + "/" + name
            var found = [File]()
            try collect(relative: classPath, root: root, label: Int32(label), depth: 0, walk: &walk, into: &found)
            guard !found.isEmpty else {
                throw STPError.file(.data, root + "/" + classPath, "is an empty class folder; expected at least one .jpg, .jpeg or .png image of class \(name)")
            }
            all += found.sorted { codePointOrder($0.relativePath, $1.relativePath) }
        }
        return all
    }

    private static func collect(relative: String, root: String, label: Int32, depth: Int, walk: inout Walk,
                                into found: inout [File]) throws {
        var here = stat()
        if stat(root + "/" + relative, &here) == 0 {
            guard walk.visited.insert([UInt64(here.st_dev), UInt64(here.st_ino)]).inserted else { return }
        }
        for name in try visibleEntries(of: root + "/" + relative).sorted(by: codePointOrder) {
            let path = relative + "/" + name
            var info = stat()
            guard stat(root + "/" + path, &info) == 0 else { continue }   // a dangling symlink
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                let modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
                found.append(File(relativePath: path, size: Int(info.st_size), modified: modified, label: label))
            case S_IFDIR where depth < maximumDepth:
                var link = stat()
                if lstat(root + "/" + path, &link) == 0, (link.st_mode & S_IFMT) == S_IFLNK {
                    let target = Walk.realPath(root + "/" + path) ?? ""
                    if target == walk.realRoot || target.hasPrefix(walk.realRoot + "/") {
                        walk.skipped.append("\(path) (a link back into the folder, to \(target))")
                        continue
                    }
                    if walk.visited.contains([UInt64(info.st_dev), UInt64(info.st_ino)]) {
                        walk.skipped.append("\(path) (a link to a folder already listed, \(target))")
                        continue
                    }
                }
                try collect(relative: path, root: root, label: label, depth: depth + 1, walk: &walk, into: &found)
            default:
                continue
            }
        }
    }
}
