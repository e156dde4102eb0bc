// swift-tools-version:6.0
// stp: pruning convolutional networks by stimulative training, with a live terminal explorer.
//
// Layering (a module never imports one above it):
//   CBLAS, CZlib            C shims over system libraries (static inline wrappers, no logic)
//   STPKernelsAVX512        register-blocked conv products, compiled for AVX-512 (used only when
//                           the CPU has it; the engine checks at run time)
//   STPEngine               tensors, kernels, ResNets, SGD, data sets, checkpoints, runtime, ONNX
//   STPMethod               the STP method: architecture space, costs, budgets, extraction
//   CCurses                 C shim over ncursesw (wrappers for its macros and globals)
//   STPExplorer             the terminal explorer: snapshots, panels drawn into a cell grid,
//                           themes, keys, and the curses backend
//   stp (executable)        parses arguments and calls into the libraries
import PackageDescription

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
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CCurses",
            pkgConfig: "ncursesw",
            providers: [.apt(["libncurses-dev"])]
        ),
        .target(
            name: "STPKernelsAVX512",
            swiftSettings: fastMath + [.unsafeFlags(["-target-cpu", "skylake-avx512"])]
        ),
        .target(
            name: "STPEngine",
            dependencies: ["CBLAS", "CZlib", "STPKernelsAVX512"],
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
        .testTarget(
            name: "STPEngineTests",
            dependencies: ["STPEngine"]
        ),
        .testTarget(
            name: "STPMethodTests",
            dependencies: ["STPMethod", "STPEngine"],
            swiftSettings: fastMath
        ),
        .testTarget(
            name: "STPExplorerTests",
            dependencies: ["STPExplorer", "STPMethod", "STPEngine"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
