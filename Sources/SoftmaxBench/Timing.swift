import Foundation
import Softmax

/// One thing the sweep times: a softmax algorithm of the library, another operation of the
/// library (`--operation`) or a roofline kernel.
public enum BenchSubject: Sendable, Hashable {
  /// A softmax algorithm of the library.
  case algorithm(SoftmaxAlgorithm)
  /// A training operation (or the log-softmax) of the library.
  case operation(TimedOperation)
  /// A kernel that only moves the bytes.
  case roofline(RooflineKernel)
  /// Another project's softmax from `--peer-library`.
  case peer(PeerKernel)

  /// The name in tables, CSV rows and charts.
  public var name: String {
    switch self {
    case .algorithm(let algorithm): algorithm.description
    case .operation(let operation): operation.name
    case .roofline(let kernel): kernel.name
    case .peer(let kernel): kernel.name
    }
  }

  /// The bytes it really moves per element, the basis of its GB/s.
  /// The bytes it moves per element for a row of `count` elements (`.auto` moves what the
  /// algorithm it picks for that length moves).
  public func traffic(forCount count: Int) -> MemoryTraffic {
    switch self {
    case .algorithm(let algorithm): algorithm.resolved(forCount: count).memoryTraffic
    case .operation(let operation): operation.traffic
    case .roofline(let kernel): kernel.traffic
    case .peer(let kernel): kernel.traffic
    }
  }

  /// Runs it once on the next output row of `buffers`, as a shaped array when `shaped` is
  /// given.
  func run(on buffers: BenchBuffers, threads: Int, shaped: ShapedCall? = nil) {
    if case .operation(let operation) = self {
      operation.run(on: buffers, threads: threads, shaped: shaped)
      return
    }
    let output = buffers.nextOutput()
    switch self {
    case .algorithm(let algorithm):
      Self.runAlgorithm(
        algorithm, buffers.input, output, buffers.count, threads: threads, shaped: shaped)
    case .operation:
      break
    case .peer(let kernel):
      kernel.run(buffers.input, output, count: buffers.count)
    case .roofline(let kernel):
      // The two-input kernel reads the logits and dy: two distinct arrays of the array's size,
      // as a backward pass reads y and dy (the logits stand in for y, whose subnormal entries
      // would slow the multiplications down on some CPUs). The by-rows kernel goes row by row
      // along the operations' rows.
      kernel.run(
        input: buffers.input, output: output, count: buffers.count, threads: threads,
        sink: buffers.sink, second: buffers.operands?.dy.map { UnsafePointer($0) },
        rowLength: buffers.operands?.rowLength)
    }
  }

  /// The single place where the benchmark calls the library: one row on up to `threads`
  /// threads (the library splits a long row into chunks).
  static func runAlgorithm(
    _ algorithm: SoftmaxAlgorithm, _ input: UnsafePointer<Float>,
    _ output: UnsafeMutablePointer<Float>, _ count: Int, threads: Int, shaped: ShapedCall? = nil
  ) {
    let x = UnsafeBufferPointer(start: input, count: count)
    let y = UnsafeMutableBufferPointer(start: output, count: count)
    if let shaped {
      softmax(
        x, shape: shaped.layout.shape, axis: shaped.layout.axis, into: y, algorithm: algorithm,
        threads: threads, mask: shaped.mask, temperature: shaped.layout.temperature)
    } else {
      softmax(x, into: y, algorithm: algorithm, threads: threads)
    }
  }
}

/// The arguments of a shaped call besides the buffers, built once per run so that no timed
/// call makes a mask.
struct ShapedCall {
  var layout: BenchLayout
  var mask: SoftmaxMask

  init(_ layout: BenchLayout, seed: UInt64) {
    self.layout = layout
    mask = layout.softmaxMask(seed: seed)
  }
}

/// Median and spread of a kernel's samples, in nanoseconds per call.
public struct SampleStatistics: Sendable, Codable, Equatable {
  /// The median sample (the mean of the middle two for an even count).
  public var median: Double
  /// The fastest sample.
  public var minimum: Double
  /// The slowest sample.
  public var maximum: Double
  /// How many samples.
  public var count: Int

  /// Statistics of `samples`, which must not be empty.
  public init(_ samples: [Double]) {
    let sorted = samples.sorted()
    let middle = sorted.count / 2
    median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    minimum = sorted.first ?? .nan
    maximum = sorted.last ?? .nan
    count = sorted.count
  }
}

/// The timing method: CLOCK_MONOTONIC around batches of calls, each batch lasting at least
/// the minimum sample time so that clock resolution and per-call noise average out.
struct Stopwatch {
  var minSampleSeconds: Double
  var threads: Int
  var shaped: ShapedCall? = nil

  static func now() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
  }

  /// Nanoseconds for `calls` back-to-back calls.
  func time(_ subject: BenchSubject, on buffers: BenchBuffers, calls: Int) -> Double {
    let start = Self.now()
    for _ in 0..<calls {
      subject.run(on: buffers, threads: threads, shaped: shaped)
    }
    return Double(Self.now() - start)
  }

  /// Warms the kernel up (code, TLB, caches for in-cache sizes) and returns how many calls a
  /// sample needs to last `minSampleSeconds`. A single call that already lasts that long
  /// served as the warm-up, which saves seconds per kernel on huge rows.
  func calibrate(_ subject: BenchSubject, on buffers: BenchBuffers) -> Int {
    let target = minSampleSeconds * 1e9
    var calls = 1
    var elapsed = time(subject, on: buffers, calls: 1)
    if elapsed >= target { return 1 }
    while elapsed < target / 4 && calls < 1 << 26 {
      calls *= 2
      elapsed = time(subject, on: buffers, calls: calls)
    }
    let perCall = max(elapsed / Double(calls), 1)
    let needed = max(1, Int((target / perCall).rounded(.up)))
    _ = time(subject, on: buffers, calls: needed)
    return needed
  }
}
