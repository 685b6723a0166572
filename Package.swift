// swift-tools-version: 6.0
import PackageDescription

let package = Package(
  name: "swift-softmax",
  // The worker pool's Synchronization.Atomic needs these (Swift 6's runtime); Linux needs no
  // entry. On Intel Macs, where Swift has no Float16, the Float16 functions are left out.
  platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
  products: [
    .library(name: "Softmax", targets: ["Softmax"]),
    .executable(name: "softmax-demo", targets: ["SoftmaxDemo"]),
    .executable(name: "softmax", targets: ["SoftmaxTool"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
  ],
  targets: [
    // What users import: entry points, SoftmaxAlgorithm, the special-value contract.
    .target(name: "Softmax", dependencies: ["SoftmaxKernels", "_SoftmaxCKernels"]),
    // Implementation detail: vector exp and the pass kernels, visible to the package only.
    .target(name: "SoftmaxKernels", dependencies: ["_SoftmaxCKernels"]),
    // Implementation detail: the C kernels, one folder per architecture (x86/: AVX-512 and
    // AVX2, compiled for their ISA by function target attributes, no unsafe flags, selected at
    // run time by cpuid; arm/: NEON, baseline on arm64) and common/ for what they share.
    .target(name: "_SoftmaxCKernels"),
    .executableTarget(name: "SoftmaxDemo", dependencies: ["Softmax"]),

    // Shared test code: the Double-precision reference and input generators.
    .target(
      name: "_SoftmaxTestSupport", dependencies: ["SoftmaxKernels"],
      path: "Tests/_SoftmaxTestSupport"),
    .testTarget(
      name: "SoftmaxKernelsTests",
      dependencies: ["SoftmaxKernels", "_SoftmaxCKernels", "_SoftmaxTestSupport"]),
    .testTarget(
      name: "SoftmaxTests", dependencies: ["Softmax", "SoftmaxKernels", "_SoftmaxTestSupport"]),
    // Counts malloc and friends (Linux/glibc) for the no-allocation test. Its definitions
    // replace the allocator for the whole test executable, which every test target links into.
    .target(name: "_MallocCounter", path: "Tests/_MallocCounter"),
    // Counts swift_retain calls (Linux) for the test that rows retain nothing each.
    .target(name: "_RetainCounter", path: "Tests/_RetainCounter"),
    .testTarget(
      name: "SoftmaxAllocationTests",
      dependencies: [
        "Softmax", "SoftmaxKernels", "_MallocCounter", "_RetainCounter",
      ]),

    // `softmax bench`: the logic lives in a library so that tests can run it in-process.
    .target(name: "_SoftmaxRoofline", dependencies: ["_SoftmaxCKernels"]),
    .target(
      name: "SoftmaxBench",
      dependencies: [
        "Softmax", "SoftmaxKernels", "_SoftmaxRoofline",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    // `softmax apply`: file formats (no dependencies, so the fuzz script can compile them
    // alone) and the command's logic, a library so that tests can call it in-process.
    .target(name: "SoftmaxFiles"),
    .target(
      name: "SoftmaxApply",
      dependencies: [
        "Softmax", "SoftmaxKernels", "SoftmaxFiles",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    // `softmax check`: accuracy against a Double reference on every kernel set of this CPU,
    // in a library for the same reason; each kernel set runs in a child process of the tool.
    .target(
      name: "SoftmaxCheck",
      dependencies: [
        "Softmax", "SoftmaxKernels",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(
      name: "SoftmaxTool",
      dependencies: [
        "Softmax", "SoftmaxBench", "SoftmaxApply", "SoftmaxCheck",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .testTarget(name: "SoftmaxFilesTests", dependencies: ["SoftmaxFiles"]),
    // Runs the built `softmax` executable on files the tests make (the dependency on the
    // executable target makes SwiftPM build it first).
    .testTarget(
      name: "SoftmaxToolTests",
      dependencies: ["SoftmaxTool", "SoftmaxFiles"]),
    .testTarget(name: "SoftmaxBenchTests", dependencies: ["SoftmaxBench", "Softmax"]),
    // Depends on the tool so that SwiftPM builds `softmax` for the end-to-end test.
    .testTarget(
      name: "SoftmaxCheckTests", dependencies: ["SoftmaxCheck", "Softmax", "SoftmaxTool"]),
  ]
)
