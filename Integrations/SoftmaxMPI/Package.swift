// swift-tools-version: 6.0
// The sharded softmax and vocabulary-parallel cross-entropy over MPI: a package of its own so
// that the core package never needs MPI. Needs the system's OpenMPI (Debian: openmpi-bin and
// libopenmpi-dev; found by pkg-config as `ompi`).
import PackageDescription

let package = Package(
  name: "SoftmaxMPI",
  // What swift-softmax needs (Synchronization.Atomic); Linux needs no entry.
  platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
  products: [
    .library(name: "SoftmaxMPI", targets: ["SoftmaxMPI"]),
    .executable(name: "softmax-mpi", targets: ["SoftmaxMPITool"]),
  ],
  dependencies: [
    .package(name: "swift-softmax", path: "../.."),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
  ],
  targets: [
    // mpi.h, and static inline functions for what OpenMPI defines as macros over its
    // externs (MPI_COMM_WORLD, the datatypes, the operations), which Swift cannot import.
    .systemLibrary(
      name: "COpenMPI", pkgConfig: "ompi",
      providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
    .target(
      name: "SoftmaxMPI",
      dependencies: ["COpenMPI", .product(name: "Softmax", package: "swift-softmax")]),
    .executableTarget(
      name: "SoftmaxMPITool",
      dependencies: [
        "SoftmaxMPI", .product(name: "Softmax", package: "swift-softmax"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    // Depends on the tool so that SwiftPM builds softmax-mpi, which the tests run under mpirun.
    .testTarget(
      name: "SoftmaxMPITests",
      dependencies: [
        "SoftmaxMPI", "SoftmaxMPITool", .product(name: "Softmax", package: "swift-softmax"),
      ]),
  ]
)
