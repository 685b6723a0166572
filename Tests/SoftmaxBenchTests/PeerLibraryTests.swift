import Foundation
import Softmax
import Testing

@testable import SoftmaxBench

/// A C compiler on PATH, to build the test's peer libraries.
private let peerCompiler: String? = {
  let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
  for name in ["cc", "clang", "gcc"] {
    for directory in path.split(separator: ":") {
      let candidate = "\(directory)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
  }
  return nil
}()

/// `--peer-library`: a peer's kernels, loaded from a shared library the test compiles, timed
/// in the same run as the library's, and every broken library refused with one line.
@Suite(.enabled(if: peerCompiler != nil, "needs a C compiler (cc or clang)"))
struct PeerLibraryTests {

  /// A peer with two kernels: a naive Double softmax (2R+1W) and one no CPU can run.
  static let peerSource = """
    #include <math.h>
    #include <stddef.h>
    int softmax_peer_abi_version(void) { return ABI; }
    int softmax_peer_count(void) { return 2; }
    const char *softmax_peer_name(int i) { return i == 0 ? "naive double" : "imaginary"; }
    const char *softmax_peer_detail(int i) { return "test peer"; }
    int softmax_peer_reads(int i) { return 2; }
    int softmax_peer_writes(int i) { return 1; }
    int softmax_peer_supported(int i) { return i == 0; }
    void softmax_peer_run(int i, const float *x, float *y, size_t n) {
      double m = -INFINITY, s = 0;
      for (size_t k = 0; k < n; k++) m = x[k] > m ? x[k] : m;
      for (size_t k = 0; k < n; k++) s += exp((double)x[k] - m);
      for (size_t k = 0; k < n; k++) y[k] = (float)(exp((double)x[k] - m) / s);
    }
    """

  /// Compiles `source` (with `defines`) into a shared library in `directory`.
  static func build(_ source: String, defines: [String] = [], in directory: String) throws
    -> String
  {
    let file = directory + "/peer.c"
    let library = directory + "/libpeer\(defines.joined()).so"
    try source.write(toFile: file, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: peerCompiler!)
    process.arguments = ["-shared", "-fPIC", "-O1"] + defines + ["-o", library, file, "-lm"]
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    return library
  }

  static func run(_ arguments: [String]) throws -> (report: BenchReport, stderr: [String]) {
    final class Lines: @unchecked Sendable { var lines: [String] = [] }
    let err = Lines()
    let runner = BenchRunner(
      arguments: try BenchArguments.parse(arguments), build: .debug, standardOutput: { _ in },
      standardError: { err.lines.append($0) })
    return (try runner.run(), err.lines)
  }

  @Test func peerKernelsRunInTheSameRoundsAndComputeASoftmax() throws {
    let directory = NSTemporaryDirectory() + "softmax-peer-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let library = try Self.build(Self.peerSource, defines: ["-DABI=1"], in: directory)

    let loaded = try PeerKernel.load(path: library)
    #expect(loaded.kernels.map(\.name) == ["naive double"])
    #expect(loaded.unsupported == ["imaginary"])
    let kernel = try #require(loaded.kernels.first)
    #expect(kernel.traffic == MemoryTraffic(reads: 2, writes: 1))
    // The loaded function is really called, with the row it is given.
    let x: [Float] = [1, 2, 3, -1000]
    var y = [Float](repeating: -1, count: 4)
    x.withUnsafeBufferPointer { input in
      y.withUnsafeMutableBufferPointer { kernel.run(input.baseAddress!, $0.baseAddress!, count: 4) }
    }
    let total = x.map { exp(Double($0)) }.reduce(0, +)
    for k in 0..<4 {
      #expect(abs(Double(y[k]) - exp(Double(x[k])) / total) <= 1e-7)
    }

    let result = try Self.run([
      "--quick", "--sizes", "1K", "--repetitions", "2", "--min-sample-ms", "0.2", "--hot",
      "--allow-debug", "--algorithms", "auto", "--output", directory + "/out",
      "--peer-library", library,
    ])
    let peer = try #require(result.report.rows.first { $0.kind == "peer" })
    #expect(peer.name == "naive double" && peer.source == "test peer")
    #expect(peer.repetitions == 2 && peer.medianNsPerElement > 0)
    #expect(peer.readsPerElement == 2 && peer.writesPerElement == 1)
    #expect(result.report.rows.contains { $0.kind == "algorithm" && $0.name == "auto" })
    #expect(result.stderr.contains { $0.contains("cannot run imaginary") })
    #expect(result.report.summary.contains { $0.contains("auto vs naive double") })

    let only = try Self.run([
      "--quick", "--sizes", "1K", "--repetitions", "1", "--min-sample-ms", "0.2", "--hot",
      "--allow-debug", "--output", directory + "/only", "--peer-library", library, "--peers-only",
    ])
    #expect(!only.report.rows.contains { $0.kind == "algorithm" })
    #expect(only.report.rows.contains { $0.kind == "peer" })
  }

  @Test func brokenLibrariesAreOneLineErrors() throws {
    let directory = NSTemporaryDirectory() + "softmax-peer-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let wrongVersion = try Self.build(Self.peerSource, defines: ["-DABI=2"], in: directory)
    let noSymbols = try Self.build("int unrelated(void) { return 0; }", in: directory)
    let cases: [(String, String)] = [
      (directory + "/missing.so", "cannot load"),
      (wrongVersion, "version 2 of the peer interface"),
      (noSymbols, "has no softmax_peer_abi_version"),
    ]
    for (path, message) in cases {
      #expect {
        try PeerKernel.load(path: path)
      } throws: { error in
        let text = (error as? BenchError)?.description ?? ""
        return text.contains(message) && !text.contains("\n")
      }
    }
    #expect(throws: BenchError.self) {
      try BenchConfiguration(BenchArguments.parse(["--peers-only"]))
    }
    #expect(throws: BenchError.self) {
      try BenchConfiguration(
        BenchArguments.parse(["--peer-library", noSymbols, "--shape", "8x1024"]))
    }
    #expect(throws: BenchError.self) {
      try BenchConfiguration(
        BenchArguments.parse(["--peer-library", noSymbols, "--peers-only", "--algorithms", "auto"]))
    }
  }
}
