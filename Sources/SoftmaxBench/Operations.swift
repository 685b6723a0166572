import Foundation
import Softmax
internal import SoftmaxKernels

/// What `softmax bench --operation` can time. `softmax` is the algorithms of `--algorithms`
/// (the benchmark's original subject); the others are the library's training operations,
/// along one axis of the array of `--shape`, or of shape [1, N] for each size N without it.
public enum BenchOperation: String, Sendable, Codable, CaseIterable {
  /// The shaped (or single-row) softmax, once per algorithm of `--algorithms`.
  case softmax
  /// `logSoftmax(_:shape:axis:into:threads:)`.
  case logSoftmax = "log-softmax"
  /// `softmaxBackward`: dx from the softmax output y and the upstream gradient dy.
  case backward
  /// `logSoftmaxBackward`: dx from the log-softmax output and dy.
  case logBackward = "log-backward"
  /// The fused `crossEntropy` with one label per row, `.mean`: value and gradient, and the
  /// value alone.
  case crossEntropy = "cross-entropy"
  /// `logSumExp(_:shape:axis:into:threads:)`: one value per row.
  case logSumExp = "logsumexp"
  /// `TokenSampler.sample` on each row of the last axis, one row after another on the calling
  /// thread (`--threads` does not apply), with the chains of
  /// ``TimedOperation/samplingOptions``: llama.cpp's usual top-k chain, no truncation, top-p
  /// alone, min-p alone.
  case sampling
  /// `moeGating`: softmax top-8 renormalized over rows of experts (`GatingOperands.swift`).
  case gating

  /// The list of `--operation`: comma-separated names, or `all`; duplicates dropped, returned
  /// in ``allCases`` order so that tables always list operations the same way.
  public static func parseList(_ text: String) throws -> [BenchOperation] {
    if text.trimmingCharacters(in: .whitespaces) == "all" { return allCases }
    let known = allCases.map(\.rawValue).joined(separator: ", ")
    var chosen: Set<BenchOperation> = []
    for item in text.split(separator: ",", omittingEmptySubsequences: false) {
      let name = item.trimmingCharacters(in: .whitespaces)
      guard let operation = BenchOperation(rawValue: name) else {
        throw BenchError(
          name.isEmpty
            ? "--operation: empty item in '\(text)' (known: \(known), or all)"
            : "--operation: unknown operation '\(name)' (known: \(known), or all)")
      }
      chosen.insert(operation)
    }
    return allCases.filter(chosen.contains)
  }

  /// The rows it adds besides the softmax algorithms.
  public var timed: [TimedOperation] {
    switch self {
    case .softmax: []
    case .logSoftmax: [.logSoftmax]
    case .backward: [.backward]
    case .logBackward: [.logBackward]
    case .crossEntropy: [.crossEntropy, .crossEntropyValue]
    case .logSumExp: [.logSumExp]
    case .sampling: [.sampleTopK, .sampleFull, .sampleTopP, .sampleMinP]
    case .gating: [.gating]
    }
  }

  /// Whether `--temperature` and `--mask` mean anything for it (the library's call takes them).
  var takesSoftmaxOptions: Bool { self == .softmax || self == .logSoftmax }
}

/// One library call the sweep times for an operation other than the softmax algorithms; each
/// is one row of the tables, the CSV and the charts, named by its raw value.
public enum TimedOperation: String, Sendable, Hashable, Codable, CaseIterable {
  /// logSoftmax(x) into a rotated output.
  case logSoftmax = "log-softmax"
  /// softmaxBackward(y, dy) into a rotated dx.
  case backward
  /// logSoftmaxBackward(log y, dy) into a rotated dx.
  case logBackward = "log-backward"
  /// crossEntropy(logits, labels, .mean) with the gradient into a rotated output.
  case crossEntropy = "cross-entropy"
  /// crossEntropy(logits, labels, .mean) with gradient nil: the value only.
  case crossEntropyValue = "cross-entropy value"
  /// logSumExp(x) into one value per row at the start of a rotated output.
  case logSumExp = "logsumexp"
  /// One token per row: temperature 0.8, top-k 40, top-p 0.95.
  case sampleTopK = "sample top-k"
  /// One token per row: temperature 0.8, no truncation.
  case sampleFull = "sample full"
  /// One token per row: top-p 0.9 alone.
  case sampleTopP = "sample top-p"
  /// One token per row: temperature 0.8, min-p 0.05.
  case sampleMinP = "sample min-p"

  /// The chain a sampling operation times; nil for the others.
  public var samplingOptions: SamplingOptions? {
    switch self {
    case .sampleTopK: SamplingOptions(temperature: 0.8, topK: 40, topP: 0.95)
    case .sampleFull: SamplingOptions(temperature: 0.8)
    case .sampleTopP: SamplingOptions(topP: 0.9)
    case .sampleMinP: SamplingOptions(temperature: 0.8, minP: 0.05)
    default: nil
    }
  }
  /// moeGating(x), k = 8 weights per row at the start of a rotated output.
  case gating

  /// The name in tables, CSV rows and charts.
  public var name: String { rawValue }

  /// Whole-array reads and writes per element for an array too large for the caches (rows in
  /// cache are re-read from the cache, as for the softmax algorithms).
  public var traffic: MemoryTraffic {
    switch self {
    case .logSoftmax, .backward, .logBackward, .crossEntropy: MemoryTraffic(reads: 2, writes: 1)
    case .crossEntropyValue, .logSumExp: MemoryTraffic(reads: 1, writes: 0)
    // At least one read of the logits; the sampler reads the row a few times more in cache.
    case .sampleTopK, .sampleFull, .sampleTopP, .sampleMinP: MemoryTraffic(reads: 1, writes: 0)
    case .gating: MemoryTraffic(reads: 1, writes: 0)
    }
  }

  /// The roofline kernel (ordinary stores) that moves the same bytes the same way: for the
  /// backward passes the by-rows kernel (each row's y and dy, or dy alone for the log-softmax
  /// backward, read before the row is read again and dx written: no exact backward can write
  /// an output before its row's sum), the 2R+1W kernel of Two-Pass for log-softmax and
  /// cross-entropy (the input read twice, the output written), the read-only sum for the
  /// value-only cross-entropy and logsumexp.
  public var roofline: RooflineKernel {
    switch self {
    case .backward: RooflineKernel.byRows(firstSweepInputs: 2, streaming: false)
    case .logBackward: RooflineKernel.byRows(firstSweepInputs: 1, streaming: false)
    default: RooflineKernel(traffic: traffic, streaming: false)
    }
  }

  /// The kernels its runs time: ``roofline``, and for the backward passes also the two-input
  /// 2R+1W kernel, which reads each input once: the bound of a row whose inputs stay in the
  /// caches between the sweeps.
  public var rooflines: [RooflineKernel] {
    switch self {
    case .backward, .logBackward:
      [roofline, RooflineKernel(traffic: traffic, streaming: false, inputs: 2)]
    default: [roofline]
    }
  }

  /// What the traffic is, for the summary.
  public var trafficDescription: String {
    switch self {
    case .logSoftmax: "x read twice, log y written"
    case .backward: "y and dy read, then read again with dx written"
    case .logBackward: "dy read, then log y and dy read with dx written"
    case .crossEntropy: "logits read twice, gradient written"
    case .crossEntropyValue: "logits read once"
    case .logSumExp: "x read once, one value per row written"
    case .sampleTopK, .sampleFull, .sampleTopP, .sampleMinP: "logits read, one token per row"
    case .gating: "logits read once, k weights and ids per row written"
    }
  }

  /// Runs it once on `buffers` (the logits are `buffers.input`, the other inputs
  /// `buffers.operands`), writing into the next rotated output; `shaped` supplies the mask and
  /// temperature of a log-softmax.
  func run(on buffers: BenchBuffers, threads: Int, shaped: ShapedCall?) {
    guard let operands = buffers.operands else {
      preconditionFailure("softmax bench: \(name) runs without its operands")
    }
    let output = buffers.nextOutput()
    let count = buffers.count
    let x = UnsafeBufferPointer(start: UnsafePointer(buffers.input), count: count)
    let out = UnsafeMutableBufferPointer(start: output, count: count)
    let shape = operands.shape
    let axis = operands.axis
    // The library's functions share names with the cases, hence `Softmax.`.
    switch self {
    case .logSoftmax:
      Softmax.logSoftmax(
        x, shape: shape, axis: axis, into: out, threads: threads, mask: shaped?.mask ?? .none,
        temperature: shaped?.layout.temperature ?? 1)
    case .backward:
      Softmax.softmaxBackward(
        output: operands.buffer(operands.y), outputGradient: operands.buffer(operands.dy),
        shape: shape, axis: axis, into: out, threads: threads)
    case .logBackward:
      Softmax.logSoftmaxBackward(
        output: operands.buffer(operands.logY), outputGradient: operands.buffer(operands.dy),
        shape: shape, axis: axis, into: out, threads: threads)
    case .crossEntropy, .crossEntropyValue:
      guard let labels = operands.labels else { preconditionFailure("no labels") }
      buffers.sink.pointee = Softmax.crossEntropy(
        logits: x, shape: shape, axis: axis,
        labels: UnsafeBufferPointer(start: labels, count: operands.rows), reduction: .mean,
        gradient: self == .crossEntropy ? out : nil, threads: threads)
    case .logSumExp:
      Softmax.logSumExp(
        x, shape: shape, axis: axis,
        into: UnsafeMutableBufferPointer(start: output, count: operands.rows), threads: threads)
    case .sampleTopK, .sampleFull, .sampleTopP, .sampleMinP:
      guard let sampling = operands.sampling, let options = samplingOptions else {
        preconditionFailure("no sampler")
      }
      buffers.sink.pointee += Float(sampling.sampleRows(x, rowLength: operands.rowLength, options))
    case .gating:
      GatingBench.run(x, shape: shape, into: output, threads: threads)
    }
  }
}

/// The inputs of the training operations at one size besides the logits (which are the
/// input of ``BenchBuffers``), made once per size, never inside a timed call: y = softmax of
/// the logits and log y = their log-softmax (both computed by the library along the axis), dy
/// standard normal, one label per row uniform over the classes; all from the run's seed.
/// They are read like the logits: the same arrays every call.
final class OperationOperands {
  /// The array's dimensions: `--shape`, or [1, N] for one row of N.
  let shape: [Int]
  /// The axis of the operations.
  let axis: Int
  /// Elements along the axis.
  let rowLength: Int
  /// Rows: the elements divided by the row length.
  let rows: Int
  let count: Int
  /// The softmax of the logits (for `backward`).
  let y: UnsafeMutablePointer<Float>?
  /// Standard normal upstream gradients (for the backward passes and the two-input roofline).
  let dy: UnsafeMutablePointer<Float>?
  /// The log-softmax of the logits (for `log-backward`).
  let logY: UnsafeMutablePointer<Float>?
  /// One class per row (for cross-entropy).
  let labels: UnsafeMutablePointer<Int32>?
  /// A sampler and its generator (for the sampling operations).
  let sampling: SamplingState?

  /// Which arrays `operations` (and their rooflines) read.
  struct Needs: Equatable {
    var y = false
    var dy = false
    var logY = false
    var labels = false
    var sampler = false

    init(_ operations: [TimedOperation]) {
      for operation in operations {
        switch operation {
        case .backward:
          y = true
          dy = true
        case .logBackward:
          logY = true
          dy = true
        case .crossEntropy, .crossEntropyValue: labels = true
        case .sampleTopK, .sampleFull, .sampleTopP, .sampleMinP: sampler = true
        case .logSoftmax, .logSumExp: break
        case .gating: break
        }
      }
    }

    var any: Bool { y || dy || logY || labels || sampler }
  }

  /// The shape and axis the operations run on at size `count`.
  static func layout(count: Int, layout: BenchLayout?) -> (shape: [Int], axis: Int) {
    layout.map { ($0.shape, $0.axis) } ?? ([1, count], -1)
  }

  /// Bytes the operands of `operations` take at size `count`.
  static func bytesNeeded(count: Int, layout: BenchLayout?, operations: [TimedOperation]) -> Int {
    let needs = Needs(operations)
    let arrays = [needs.y, needs.dy, needs.logY].filter { $0 }.count
    let (shape, axis) = Self.layout(count: count, layout: layout)
    let rows = count / shape[(axis + shape.count) % shape.count]
    return arrays * BenchBuffers.alignedStride(count) * MemoryLayout<Float>.size
      + (needs.labels ? rows * MemoryLayout<Int32>.size : 0)
  }

  /// Operands for `operations` at the size of `logits`.
  init(
    logits: UnsafeBufferPointer<Float>, layout: BenchLayout?, operations: [TimedOperation],
    seed: UInt64, threads: Int
  ) {
    count = logits.count
    (shape, axis) = Self.layout(count: count, layout: layout)
    rowLength = shape[(axis + shape.count) % shape.count]
    rows = count / rowLength
    let needs = Needs(operations)
    let stride = BenchBuffers.alignedStride(count)
    func array() -> UnsafeMutablePointer<Float> { BenchBuffers.allocate(floats: stride) }
    y = needs.y ? array() : nil
    dy = needs.dy ? array() : nil
    logY = needs.logY ? array() : nil
    labels = needs.labels ? .allocate(capacity: max(1, rows)) : nil
    sampling = needs.sampler ? SamplingState(seed: seed ^ UInt64(count)) : nil
    // Seeds depend on the size (as the logits' do) and differ from the logits' seed.
    let sizeSeed = seed ^ UInt64(count)
    if let dy {
      InputDistribution.normal.fill(
        UnsafeMutableBufferPointer(start: dy, count: count), seed: sizeSeed ^ 0x6479_6479)
    }
    if let y {
      softmax(
        logits, shape: shape, axis: axis, into: UnsafeMutableBufferPointer(start: y, count: count),
        threads: threads)
    }
    if let logY {
      logSoftmax(
        logits, shape: shape, axis: axis,
        into: UnsafeMutableBufferPointer(start: logY, count: count), threads: threads)
    }
    if let labels {
      var generator = SplitMix64(seed: sizeSeed ^ 0x6C61_6265_6C73)
      for row in 0..<rows {
        labels[row] = Int32(Int.random(in: 0..<rowLength, using: &generator))
      }
    }
  }

  deinit {
    free(y)
    free(dy)
    free(logY)
    labels?.deallocate()
  }

  /// `pointer` as a buffer of the array's count.
  func buffer(_ pointer: UnsafeMutablePointer<Float>?) -> UnsafeBufferPointer<Float> {
    guard let pointer else { preconditionFailure("softmax bench: an operand was not made") }
    return UnsafeBufferPointer(start: pointer, count: count)
  }
}

/// The sampling operations' state: one reusable sampler (its scratch is allocated on the first
/// call, outside the timed samples after the warm-up) and a seeded generator.
final class SamplingState {
  private var sampler = TokenSampler()
  private var generator: SplitMix64

  init(seed: UInt64) {
    generator = SplitMix64(seed: seed ^ 0x7361_6D70)
  }

  /// Draws one token from each row of `rowLength` logits; returns their sum (a sink).
  func sampleRows(_ x: UnsafeBufferPointer<Float>, rowLength: Int, _ options: SamplingOptions)
    -> Int
  {
    var sum = 0
    var start = 0
    while start < x.count {
      let row = UnsafeBufferPointer(rebasing: x[start..<(start + rowLength)])
      sum &+= sampler.sample(row, options: options, using: &generator)
      start += rowLength
    }
    return sum
  }
}
