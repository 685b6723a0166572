import ArgumentParser
import Foundation
import Softmax

extension InputDistribution: ExpressibleByArgument {}

/// The options of `softmax bench`. They live here rather than in the tool so that tests can
/// parse a real command line and run it in-process.
public struct BenchArguments: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Row lengths in floats: comma-separated sizes (4096, 4K, 16M, 2^20) or ranges doubling "
        + "(1K..1M) or with a step (1K..1M:4). For --operation, each size N is one row: "
        + "shape [1, N].", valueName: "list"))
  public var sizes: String?

  @Option(
    help: ArgumentHelp(
      "Comma-separated algorithm names for --operation softmax (default: all the library has).",
      valueName: "list"))
  public var algorithms: String?

  @Option(
    help: ArgumentHelp(
      "Comma-separated operations to time in one run, interleaved in every round, or all: "
        + "softmax (the --algorithms; the default), log-softmax, backward (softmaxBackward: y "
        + "and dy read, dx written), log-backward (logSoftmaxBackward from log y and dy), "
        + "cross-entropy (one seeded label per row, mean; a row for value + gradient and one "
        + "for the value only), logsumexp (one value per row), gating (moeGating: softmax top-8 "
        + "renormalized, the last dimension as the experts). All but softmax run on the "
        + "array of --shape along --axis, or without --shape on each size N of --sizes as one "
        + "row, shape [1, N]; each has its own roofline kernel, and the tables and summary "
        + "give its time ÷ softmax's (auto, else the fastest of --algorithms) at that size.",
      valueName: "list"))
  public var operation: String?

  @Option(help: "Timed samples per kernel and size (default: 7, fewer for huge sizes).")
  public var repetitions: Int?

  @Option(
    help: ArgumentHelp(
      "Threads for one row: the library's threads: parameter and the roofline kernels "
        + "split each row over this many threads."))
  public var threads: Int = 1

  @Option(
    help: ArgumentHelp(
      "Time a shaped array instead of single rows: dimensions joined by x, outermost first "
        + "(4096x1024, 8x128256, 32x8x512x512); the softmax and every --operation run along "
        + "--axis."))
  public var shape: String?

  @Option(
    parsing: .unconditional,
    help: "The axis of --shape to normalize over; negative counts from the end (-1: last).")
  public var axis: Int = -1

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "With --shape: the library's temperature: (logits divided by T; 0 is the argmax).",
      valueName: "T"))
  public var temperature: Float?

  @Option(
    help: ArgumentHelp(
      "With --shape: none, causal (the last query sees every key), keep or additive (a "
        + "random mask of the row length from --seed, about 10% dropped)."))
  public var mask: BenchMask?

  @Option(
    help: ArgumentHelp(
      "Kernel set to run: portable, avx2 or avx512 (default: the widest this CPU has). "
        + "Same as the environment variable SOFTMAX_ISA."))
  public var isa: String?

  @Flag(help: "Write every call into one output buffer (default: rotate cold outputs).")
  public var hot = false

  @Flag(help: "Small sizes and fewer samples; finishes in under 30 seconds.")
  public var quick = false

  @Option(
    help: ArgumentHelp(
      "Directory for results.csv, results.json and the charts (default: "
        + "bench-results/<timestamp>/).", valueName: "dir"))
  public var output: String?

  @Option(help: "Seed of the input generator.")
  public var seed: UInt64 = 42

  @Option(help: "Input values: uniform in [-1000, 1000] as in the paper, or standard normal.")
  public var distribution: InputDistribution = .uniform

  @Option(
    help: ArgumentHelp(
      "A CSV in the results.csv format (e.g. from scripts/compare-peers.sh) whose rows are "
        + "added to the tables and charts. Repeatable.", valueName: "file"))
  public var merge: [String] = []

  @Option(
    help: ArgumentHelp(
      "A shared library of another project's softmax kernels (the interface of "
        + "scripts/xnnpack/softmax_peer.h; scripts/xnnpack/build-peer.sh builds XNNPACK's), "
        + "timed in the same rounds and on the same buffers as the library. Repeatable.",
      valueName: "file"))
  public var peerLibrary: [String] = []

  @Flag(help: "Time only the --peer-library kernels and the roofline kernels.")
  public var peersOnly = false

  @Option(help: "Shortest timed sample in milliseconds (default: 10; 5 with --quick).")
  public var minSampleMs: Double?

  @Flag(help: "Run even from a debug build, whose timings mean little.")
  public var allowDebug = false

  /// Arguments with every option at its default.
  public init() {}
}

/// The checked, resolved settings of one benchmark run.
public struct BenchConfiguration: Sendable, Codable, Equatable {
  /// The sweep's default: from 1K (in L1) far past the last-level cache. Sizes that do not
  /// fit in the available memory are skipped with a message.
  public static let defaultSizes: [Int] =
    stride(from: 10, through: 20, by: 2).map { 1 << $0 } + (21...28).map { 1 << $0 }
  /// `--quick`: in-cache and just-out-of-L2 sizes only.
  public static let quickSizes: [Int] = stride(from: 10, through: 20, by: 2).map { 1 << $0 }

  /// Row lengths in floats, ascending.
  public var sizes: [Int]
  /// The operations of `--operation`, in ``BenchOperation/allCases`` order; `[.softmax]` by
  /// default.
  public var operations: [BenchOperation]
  /// The algorithms to time for `softmax`, in the library's order; empty without it.
  public var algorithms: [SoftmaxAlgorithm]
  /// nil: adaptive (see ``repetitions(for:)``).
  public var fixedRepetitions: Int?
  /// Threads for one row, for the algorithms and the roofline kernels alike.
  public var threads: Int
  /// The kernel set that runs (`SoftmaxRuntime.selectedKernelSet`).
  public var kernelSet: String
  /// The shaped array of `--shape` and `--axis` with `--temperature` and `--mask`, or nil for
  /// single rows.
  public var layout: BenchLayout?
  /// One output row instead of cold rotated outputs.
  public var hotOutput: Bool
  /// `--quick`: small sizes, short samples.
  public var quick: Bool
  /// nil: a fresh bench-results/<timestamp>/.
  public var outputDirectory: String?
  /// Seed of the inputs; each size mixes in its length.
  public var seed: UInt64
  /// How the inputs are drawn.
  public var distribution: InputDistribution
  /// CSV files whose rows join the tables and charts.
  public var mergeFiles: [String]
  /// The shortest timed sample; kernels are called repeatedly until a sample lasts this long.
  public var minSampleSeconds: Double
  /// Whether a debug build may run.
  public var allowDebug: Bool
  /// Shared libraries of peer kernels (`--peer-library`).
  public var peerLibraries: [String] = []

  /// The library calls the operations other than softmax time, in order.
  public var timedOperations: [TimedOperation] { operations.flatMap(\.timed) }

  /// Checks the arguments; every problem becomes a one-line ``BenchError``.
  public init(_ arguments: BenchArguments) throws {
    quick = arguments.quick
    operations = try arguments.operation.map(BenchOperation.parseList) ?? [.softmax]
    sizes = try arguments.sizes.map(SizeList.parse) ?? (quick ? Self.quickSizes : Self.defaultSizes)
    layout = try arguments.shape.map { try BenchLayout(parsing: $0, axis: arguments.axis) }
    if arguments.temperature != nil || arguments.mask != nil {
      guard layout != nil else { throw BenchError("--temperature and --mask need --shape") }
      if let other = operations.first(where: { !$0.takesSoftmaxOptions }) {
        throw BenchError(
          "--temperature and --mask apply to softmax and log-softmax only; --operation "
            + "\(other.rawValue) has neither (time it in a run without them)")
      }
      try layout?.setOptions(temperature: arguments.temperature, mask: arguments.mask)
    }
    if arguments.shape == nil && arguments.axis != -1 && operations != [.softmax] {
      throw BenchError(
        "--axis needs --shape: without it each size N is one row, shape [1, N], along the "
          + "last axis")
    }
    if let layout {
      guard arguments.sizes == nil else {
        throw BenchError("--shape and --sizes exclude each other: a shape sets the size")
      }
      sizes = [layout.count]
    }
    if arguments.peersOnly {
      guard !arguments.peerLibrary.isEmpty else {
        throw BenchError("--peers-only needs --peer-library")
      }
      guard arguments.algorithms == nil, operations == [.softmax] else {
        throw BenchError("--peers-only times no algorithm or operation of the library")
      }
    }
    if !arguments.peerLibrary.isEmpty && layout != nil {
      throw BenchError("--peer-library times single rows (--sizes); drop --shape")
    }
    peerLibraries = arguments.peerLibrary
    if arguments.peersOnly {
      algorithms = []
    } else if !operations.contains(.softmax) {
      if let list = arguments.algorithms {
        let names = operations.map(\.rawValue).joined(separator: ",")
        throw BenchError(
          "--algorithms \(list) chooses softmax algorithms, but --operation \(names) has no "
            + "softmax (use --operation softmax,\(names), or drop --algorithms)")
      }
      algorithms = []
    } else if let list = arguments.algorithms, list != "all" {
      var chosen: [SoftmaxAlgorithm] = []
      for name in list.split(separator: ",", omittingEmptySubsequences: false) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard let algorithm = SoftmaxAlgorithm(name: trimmed) else {
          let known = SoftmaxAlgorithm.allCases.map(\.description).joined(separator: ", ")
          throw BenchError("--algorithms: unknown algorithm '\(trimmed)' (known: \(known))")
        }
        if !chosen.contains(algorithm) { chosen.append(algorithm) }
      }
      // Keep the library's order so tables and charts always list algorithms the same way.
      algorithms = SoftmaxAlgorithm.allCases.filter(chosen.contains)
    } else {
      algorithms = Array(SoftmaxAlgorithm.allCases)
    }
    if let repetitions = arguments.repetitions, repetitions < 1 {
      throw BenchError("--repetitions must be at least 1 (got \(repetitions))")
    }
    fixedRepetitions = arguments.repetitions
    guard arguments.threads >= 1 else {
      throw BenchError("--threads must be at least 1 (got \(arguments.threads))")
    }
    threads = arguments.threads
    if operations.contains(.crossEntropy) {
      let longest = layout.map { [$0.rowLength] } ?? sizes
      if let length = longest.max(), length > Int(Int32.max) {
        throw BenchError(
          "--operation cross-entropy: rows of \(length) classes are more than Int32 labels hold")
      }
    }
    if operations.contains(.sampling) {
      if let layout,
        (layout.axis + layout.shape.count) % layout.shape.count != layout.shape.count - 1
      {
        throw BenchError("--operation sampling: the vocabulary must be the last axis of --shape")
      }
      let longest = layout.map { [$0.rowLength] } ?? sizes
      if let length = longest.max(), length >= 1 << 31 {
        throw BenchError("--operation sampling: rows of \(length) logits are more than 2^31 − 1")
      }
    }
    kernelSet = try Self.selectKernelSet(arguments.isa)
    hotOutput = arguments.hot
    outputDirectory = arguments.output
    seed = arguments.seed
    distribution = arguments.distribution
    mergeFiles = arguments.merge
    let sampleMs = arguments.minSampleMs ?? (quick ? 5 : 10)
    guard sampleMs > 0, sampleMs <= 10_000 else {
      throw BenchError("--min-sample-ms must be in (0, 10000] (got \(sampleMs))")
    }
    minSampleSeconds = sampleMs / 1000
    allowDebug = arguments.allowDebug
  }

  /// Makes the library use kernel set `name` (through SOFTMAX_ISA, read once per process when
  /// the library first runs) and returns the set in use.
  static func selectKernelSet(_ name: String?) throws -> String {
    guard let name else { return SoftmaxRuntime.selectedKernelSet }
    let available = SoftmaxRuntime.availableKernelSets
    guard available.contains(name) else {
      throw BenchError(
        "--isa: '\(name)' is not available on this CPU (available: "
          + "\(available.joined(separator: ", ")))")
    }
    setenv("SOFTMAX_ISA", name, 1)
    guard SoftmaxRuntime.selectedKernelSet == name else {
      throw BenchError(
        "--isa: the kernel set was already chosen in this process "
          + "(\(SoftmaxRuntime.selectedKernelSet)); start a new process")
    }
    return name
  }

  /// Samples per kernel at size `n`: fewer for huge rows, whose single calls already average
  /// over hundreds of milliseconds, so that the default sweep stays within its time budget.
  public func repetitions(for n: Int) -> Int {
    if let fixedRepetitions { return fixedRepetitions }
    if quick { return 5 }
    switch n {
    case ..<(1 << 23): return 7
    case ..<(1 << 26): return 5
    default: return 3
    }
  }
}
