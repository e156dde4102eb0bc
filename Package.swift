// swift-tools-version:6.0
// stp: pruning convolutional networks by stimulative training, with a live terminal explorer.
//
// Layering (a module never imports one above it):
//   CBLAS, CZlibShim,       C shims over system libraries (static inline wrappers, no logic;
//   CJPEG, CPNG             CZlibShim is not CZlib: ZIPFoundation has a module of that name)
//   CMPI                    C shim over Open MPI (only where it is installed, see `hasMPI`)
//   CAVX512                 masked AVX-512 loads and stores (static inline intrinsics)
//   STPKernelsAVX512        register-blocked conv products, compiled for AVX-512 (used only when
//                           the CPU has it; the engine checks at run time)
//   CBF16                   bfloat16 products in C (AVX512-BF16 intrinsics Swift cannot emit),
//                           each function compiled for that target; called only after the check
//   STPEngine               tensors, kernels, ResNets, SGD, data sets, checkpoints, runtime, ONNX
//   STPMethod               the STP method: architecture space, costs, budgets, extraction
//   CCurses                 C shim over ncursesw (wrappers for its macros and globals)
//   STPExplorer             the terminal explorer: snapshots, panels drawn into a cell grid,
//                           themes, keys, and the curses backend
//   stp (executable)        parses arguments and calls into the libraries
import PackageDescription
import Foundation

// Data parallelism under `mpirun` (docs/SCALING.md) needs Open MPI's headers and libmpi at build
// time. Where they are missing (no libopenmpi-dev) stp builds and runs as a single process, and
// says so if started by mpirun. STP_NO_MPI=1 builds that variant on a machine with Open MPI.
// The manifest is read once per build folder: after installing libopenmpi-dev, touch this file.
let hasMPI: Bool = {
    if ProcessInfo.processInfo.environment["STP_NO_MPI"] == "1" { return false }
    let dirs = ["/usr/lib/x86_64-linux-gnu/pkgconfig", "/usr/lib/aarch64-linux-gnu/pkgconfig",
                "/usr/lib/pkgconfig", "/usr/lib64/pkgconfig", "/usr/local/lib/pkgconfig", "/usr/share/pkgconfig"]
    return dirs.contains { FileManager.default.fileExists(atPath: $0 + "/ompi-c.pc") }
}()
let mpiTargets: [Target] = hasMPI
    ? [.systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])])]
    : []
let mpiDependency: [Target.Dependency] = hasMPI ? ["CMPI"] : []

// Release builds drop integer-overflow and exclusivity checks in the numeric code. Debug builds
// (swift test) optimise it too, keeping every check, so that the tests that train real networks
// stay fast while still catching overflows and exclusivity violations.
let fastMath: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]

let package = Package(
    name: "stp",
    products: [
        .executable(name: "stp", targets: ["stp"]),
        .library(name: "STPEngine", targets: ["STPEngine"]),
        .library(name: "STPMethod", targets: ["STPMethod"]),
        .library(name: "STPExplorer", targets: ["STPExplorer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Reads (and, in tests, writes) the zip archives of torch.save's current format.
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
    ],
    targets: mpiTargets + [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CZlibShim",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CJPEG",
            pkgConfig: "libjpeg",
            providers: [.apt(["libjpeg62-turbo-dev"])]
        ),
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        .systemLibrary(
            name: "CCurses",
            pkgConfig: "ncursesw",
            providers: [.apt(["libncurses-dev"])]
        ),
        // Masked AVX-512 loads and stores (header only), for rows of odd channel counts.
        .systemLibrary(name: "CAVX512"),
        .target(
            name: "STPKernelsAVX512",
            dependencies: ["CAVX512"],
            swiftSettings: fastMath + [.unsafeFlags(["-target-cpu", "skylake-avx512"])]
        ),
        // -O3 in debug builds too: the tests run real networks through these kernels.
        .target(
            name: "CBF16",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        .target(
            name: "STPEngine",
            dependencies: ["CBLAS", "CZlibShim", "CJPEG", "CPNG", "STPKernelsAVX512", "CBF16",
                           .product(name: "ZIPFoundation", package: "ZIPFoundation")] + mpiDependency,
            swiftSettings: fastMath
        ),
        .target(
            name: "STPMethod",
            dependencies: ["STPEngine"],
            swiftSettings: fastMath
        ),
        .target(
            name: "STPExplorer",
            dependencies: ["STPEngine", "STPMethod", "CCurses"]
        ),
        .executableTarget(
            name: "stp",
            dependencies: [
                "STPEngine",
                "STPMethod",
                "STPExplorer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Helpers the three test targets share: expectClose, error messages, temporary
        // directories, seeded random arrays, and the shared folder (SharedFiles).
        .target(
            name: "STPTestSupport",
            dependencies: ["STPEngine"],
            path: "Tests/STPTestSupport"
        ),
        .testTarget(
            name: "STPEngineTests",
            dependencies: ["STPEngine", "STPTestSupport", .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        .testTarget(
            name: "STPMethodTests",
            dependencies: ["STPMethod", "STPEngine", "STPTestSupport"],
            swiftSettings: fastMath
        ),
        .testTarget(
            name: "STPExplorerTests",
            dependencies: ["STPExplorer", "STPMethod", "STPEngine", "STPTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
