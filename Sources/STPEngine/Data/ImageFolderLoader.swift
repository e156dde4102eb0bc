// Loads an image folder (`--data folder:PATH`) as train and test splits.
//
//   1. List the folder and check its layout (ImageFolderListing).
//   2. Read the decode cache when it matches the folder's fingerprint (ImageFolderCache);
//      otherwise decode every file on all cores, with a progress bar, and write the cache.
//   3. Unreadable files: an error naming the first, or with skip-bad a log line counting them.
//   4. Split: the val folder is the test split; without one, a seeded, stratified fraction of
//      each class is held out. The training images are put in a seeded random order, because
//      callers take held-out and calibration images from the ends of the training set and a
//      class-sorted order would hand them one class.
//
// Images are stored with a margin: resized so the shorter side is storedSide (round(size * 8/7))
// and cut to the centred storedSide square; the data sets carry cropSize = size, so training
// batches take a random size x size window (plus flip) and evaluation the centred one, which
// makes a test image the "resize to 8/7, centre crop" of the original.

import Dispatch
import Foundation
import Synchronization

/// The outcome of loading an image folder.
public struct ImageFolderLoad: Sendable {
    public var splits: DataSplits
    /// Files decoded by this load; 0 when the cache was used.
    public var decodedImages: Int
    /// The cache that was read or written; nil when none could be written.
    public var cachePath: String?
    /// Paths of the unreadable files that were skipped.
    public var skippedImages: [String]
}

public enum ImageFolderLoader {
    /// Files above this size are refused without being read.
    static let maximumFileBytes = 512_000_000

    /// Loads the folder at `path`. `environment` supplies STP_CACHE/HOME for the fallback cache
    /// location; `progress` shows the decoding progress (nil: none); `log` receives the log
    /// lines (cache read, rebuilt or not writable, images skipped).
    public static func load(path: String, options: ImageFolderOptions,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            progress: Console? = .standardError,
                            log: (String) -> Void = { Console.standardError.writeLine($0) }) throws -> ImageFolderLoad {
        try options.validate()
        let listing = try ImageFolderListing.scan(root: path)
        if !listing.skippedLinks.isEmpty {
            let shown = listing.skippedLinks.prefix(5).joined(separator: "; ")
            log("data: did not follow \(listing.skippedLinks.count) directory symlink\(listing.skippedLinks.count == 1 ? "" : "s") of \(path): \(shown)"
                + (listing.skippedLinks.count > 5 ? "; ..." : ""))
        }
        let side = options.storedSide
        let fingerprint = listing.fingerprint(decodeOptions: "side \(side), cache format \(ImageFolderCache.version)")

        var folder: DecodedImageFolder?
        var cachePath: String?
        var staleCache: String?
        lookup: for candidate in ImageFolderCache.candidatePaths(root: path, side: side, environment: environment) {
            switch ImageFolderCache.read(candidate, fingerprint: fingerprint, side: side) {
            case .missing:
                continue
            case .stale:
                staleCache = staleCache ?? candidate
            case .corrupt(let reason):
                log("data: ignoring the cache \(candidate): \(reason); decoding the images again to rebuild it")
            case .valid(let cached):
                folder = cached
                cachePath = candidate
                break lookup
            }
        }

        var decodedImages = 0
        if let folder {
            log("data: read \(folder.train.labels.count + (folder.val?.labels.count ?? 0)) decoded images of \(path) from \(cachePath!)")
        } else {
            if let staleCache {
                log("data: \(path) changed since \(staleCache) was written; decoding the images again")
            }
            let start = monotonicSeconds()
            let decoded = decodeAll(listing, side: side, fingerprint: fingerprint, progress: progress)
            decodedImages = listing.train.count + (listing.val?.count ?? 0)
            var cacheNote: String
            switch ImageFolderCache.write(decoded, root: path, environment: environment) {
            case .success(let written):
                cachePath = written
                cacheNote = "cached in \(written)"
            case .failure(let error):
                cacheNote = "could not write the cache (\(error.message)), so the next run decodes them again"
            }
            log("data: decoded \(decodedImages) images of \(path) in "
                + ProgressFormat.duration(monotonicSeconds() - start) + "; " + cacheNote)
            folder = decoded
        }
        let decoded = folder!

        let skipped = decoded.unreadable.map { path + "/" + $0.relativePath }
        if let first = decoded.unreadable.first {
            guard options.skipBadImages else {
                let others = decoded.unreadable.count - 1
                throw STPError.file(.data, skipped[0], first.reason
                                    + (others > 0 ? " (and \(others) more unreadable file\(others == 1 ? "" : "s"))" : "")
                                    + "; the folder option skip-bad (--skip-bad-images) skips unreadable files")
            }
            let examples = decoded.unreadable.prefix(3).map { "\($0.relativePath) (\($0.reason))" }
            log("data: skipped \(decoded.unreadable.count) unreadable image\(decoded.unreadable.count == 1 ? "" : "s") of \(path): "
                + "first ones " + examples.joined(separator: ", "))
        }
        let splits = try split(decoded, root: path, options: options)
        return ImageFolderLoad(splits: splits, decodedImages: decodedImages, cachePath: cachePath, skippedImages: skipped)
    }

    /// Decodes every file of `listing` to side x side RGB, on all cores. Files that cannot be
    /// decoded are left out and recorded with their reason.
    static func decodeAll(_ listing: ImageFolderListing, side: Int, fingerprint: String, progress: Console?) -> DecodedImageFolder {
        let files = listing.train + (listing.val ?? [])
        let imageBytes = side * side * 3
        var pixels = [UInt8](repeating: 0, count: files.count * imageBytes)
        var failures = [String?](repeating: nil, count: files.count)
        let bar = progress.map { ProgressBar(label: "decoding images", total: files.count, unit: "img", console: $0) }
        let next = Atomic<Int>(0), finished = Atomic<Int>(0)
        let root = listing.root
        pixels.withUnsafeMutableBufferPointer { pixelBuffer in
            failures.withUnsafeMutableBufferPointer { failureBuffer in
                // Each index is claimed by exactly one worker, which alone writes its slots.
                let slots = UncheckedSendable((pixelBuffer.baseAddress!, failureBuffer.baseAddress!))
                let workers = max(1, min(ComputeThreads.workers, files.count))
                DispatchQueue.concurrentPerform(iterations: workers) { _ in
                    while true {
                        let i = next.add(1, ordering: .relaxed).oldValue
                        if i >= files.count { break }
                        let fullPath = root + "/" + files[i].relativePath
                        do {
                            // Something as large as a video is not read into memory to find out.
                            guard files[i].size <= maximumFileBytes else {
                                throw STPError.file(.data, fullPath, "is \(files[i].size / 1_000_000) MB, larger than any image stp reads (\(maximumFileBytes / 1_000_000) MB); expected a JPEG or PNG image")
                            }
                            let bytes = try DataFile.read(fullPath, what: "a JPEG or PNG image")
                            let image = try ImageDecoder.decode(bytes, path: fullPath, minimumShorterSide: side)
                            ImageResize.shorterSideThenCentreSquare(image, side: side, into: slots.value.0 + i * imageBytes)
                        } catch {
                            (slots.value.1 + i).pointee = reason(of: error, path: fullPath)
                        }
                        let done = finished.add(1, ordering: .relaxed).newValue
                        if done < files.count { bar?.update(completed: done, items: done) }   // finish() draws the last
                    }
                }
            }
        }
        bar?.finish()

        var unreadable = [UnreadableImage]()
        func keep(_ range: Range<Int>) -> DecodedImages {
            var kept = DecodedImages(pixels: [], labels: [])
            kept.pixels.reserveCapacity(range.count * imageBytes)
            for i in range {
                if let reason = failures[i] {
                    unreadable.append(UnreadableImage(relativePath: files[i].relativePath, reason: reason))
                    continue
                }
                kept.pixels += pixels[(i * imageBytes)..<((i + 1) * imageBytes)]
                kept.labels.append(files[i].label)
            }
            return kept
        }
        let train = keep(0..<listing.train.count)
        let val = listing.val.map { _ in keep(listing.train.count..<files.count) }
        return DecodedImageFolder(fingerprint: fingerprint, side: side, classNames: listing.classNames,
                                  train: train, val: val, unreadable: unreadable)
    }

    /// The message of `error` without the leading "PATH: " (the path is stored separately).
    static func reason(of error: Error, path: String) -> String {
        let message = (error as? STPError)?.message ?? "\(error)"
        return message.hasPrefix(path + ": ") ? String(message.dropFirst(path.count + 2)) : message
    }

    /// The train and test data sets of `folder`: the val folder as test split, or a seeded,
    /// stratified `valFraction` of each class; the training images in a seeded random order.
    static func split(_ folder: DecodedImageFolder, root: String, options: ImageFolderOptions) throws -> DataSplits {
        let side = folder.side
        let name = (ImageFolderCache.absolutePath(root) as NSString).lastPathComponent
        func dataset(_ images: DecodedImages, _ suffix: String) -> ImageDataset {
            ImageDataset(name: "\(name)-\(suffix)", height: side, width: side, channels: 3, classNames: folder.classNames,
                         pixels: images.pixels, labels: images.labels, cropSize: options.inputSize)
        }
        try requireEveryClass(in: folder.train, folder: root + "/" + ImageFolderListing.trainFolder, classNames: folder.classNames)
        let all = dataset(folder.train, "train")
        var random = SeededRandom(seed: options.splitSeed)
        var trainIndices: [Int]
        let test: ImageDataset
        if let val = folder.val {
            try requireEveryClass(in: val, folder: root + "/" + ImageFolderListing.valFolder, classNames: folder.classNames)
            trainIndices = Array(0..<all.count)
            test = dataset(val, "test")
        } else {
            let held = heldOutIndices(labels: folder.train.labels, classCount: folder.classNames.count,
                                      fraction: options.valFraction, random: &random)
            guard !held.isEmpty else {
                throw STPError.file(.data, root + "/" + ImageFolderListing.trainFolder,
                                    "holds out no test images at val=\(options.valFraction) (every class has a single image); "
                                    + "expected a val folder or at least two images in a class")
            }
            let heldSet = Set(held)
            trainIndices = (0..<all.count).filter { !heldSet.contains($0) }
            test = all.subset(held, name: "\(name)-test")
        }
        shuffle(&trainIndices, random: &random)
        return DataSplits(train: all.subset(trainIndices), test: test)
    }

    /// Per class, round(fraction * count) images chosen at random, at least one and never all of
    /// a class's images when it has two or more; the result in ascending (listing) order.
    static func heldOutIndices(labels: [Int32], classCount: Int, fraction: Double, random: inout SeededRandom) -> [Int] {
        var byClass = [[Int]](repeating: [], count: classCount)
        for (i, label) in labels.enumerated() { byClass[Int(label)].append(i) }
        var held = [Int]()
        for var members in byClass {
            let count = members.count
            guard count >= 2 else { continue }
            let take = min(max(Int((Double(count) * fraction).rounded()), 1), count - 1)
            shuffle(&members, random: &random)
            held += members.prefix(take)
        }
        return held.sorted()
    }

    /// Fisher-Yates with the seeded generator, so the order depends on the seed alone.
    static func shuffle(_ values: inout [Int], random: inout SeededRandom) {
        var i = values.count - 1
        while i > 0 {
            let j = Int(random.next() % UInt64(i + 1))
            values.swapAt(i, j)
            i -= 1
        }
    }

    /// Throws when a class has no image left (all of its files were unreadable and skipped).
    static func requireEveryClass(in images: DecodedImages, folder: String, classNames: [String]) throws {
        var counts = [Int](repeating: 0, count: classNames.count)
        for label in images.labels { counts[Int(label)] += 1 }
        if let empty = counts.firstIndex(of: 0) {
            throw STPError.file(.data, folder + "/" + classNames[empty],
                                "has no readable images (all were skipped as unreadable); expected at least one per class")
        }
    }
}
