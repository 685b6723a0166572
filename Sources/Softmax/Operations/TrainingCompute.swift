internal import SoftmaxKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// The passes that the training operations are written with, for each compute type (Float on
// the selected kernel table, Double on its Double slots). Long rows are cut into chunks by
// `RowPlan` and split across the threads; sums merge in chunk order.

/// A type that training rows are computed in: Float or Double.
protocol TrainingCompute: RowElement {
  /// Σ e^x of a row (count ≥ 1): Two-Pass pass 1 for Float, the maximum and a compensated
  /// Σ e^(x − max) for Double.
  static func normalizer(_ x: UnsafePointer<Self>, count: Int, threads: Int) -> SoftmaxNormalizer

  /// y = scale · softmax(x), then y −= offset + weight · t (t nil: y −= offset), for a
  /// `normalizer` of x that is finite and not empty. `y` may be `x`, not `t`. Returns Σ y in
  /// Double, summed from each block while it is in L1, when `summing` (else 0).
  static func scaledProbabilities(
    _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, count: Int,
    normalizer: SoftmaxNormalizer, scale: Double, targets t: UnsafePointer<Self>?,
    weight: Double, offset: Double, summing: Bool, threads: Int
  ) -> Double

  /// The table's kernels for one chunk, by pass.
  static func dot(_ k: PassKernels, _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ n: Int)
    -> Double
  static func sum(_ k: PassKernels, _ a: UnsafePointer<Self>, _ n: Int) -> Double
  static func backwardOutput(
    _ k: PassKernels, _ y: UnsafePointer<Self>, _ dy: UnsafePointer<Self>,
    _ dx: UnsafeMutablePointer<Self>, _ n: Int, _ s: Double)
  static func logBackwardOutput(
    _ k: PassKernels, _ logY: UnsafePointer<Self>, _ dy: UnsafePointer<Self>,
    _ dx: UnsafeMutablePointer<Self>, _ n: Int, _ s: Double)
}

/// One pass of a training row over its chunks: a sum or dot product (one Double per chunk,
/// merged in chunk order), or an element-wise output pass. `other` is the second input,
/// aligned with the row's `x`.
struct TrainingPass<Element: TrainingCompute>: ChunkPassing {
  enum Kind { case dot, sum, backwardOutput, logBackwardOutput }

  let kind: Kind
  var other: UnsafePointer<Element>? = nil
  /// The sum or dot product that an output pass uses.
  var value: Double = 0
  var results: UnsafeMutableRawPointer? = nil

  func run(_ row: RowPlan<Element>, chunk: Int) {
    let range = row.chunks.range(chunk)
    let (x, y, n) = (row.x + range.lowerBound, row.y + range.lowerBound, range.count)
    let o = other.map { $0 + range.lowerBound }
    let k = row.kernels
    switch kind {
    case .dot: store(Element.dot(k, x, o!, n), chunk)
    case .sum: store(Element.sum(k, x, n), chunk)
    case .backwardOutput: Element.backwardOutput(k, x, o!, y, n, value)
    case .logBackwardOutput: Element.logBackwardOutput(k, x, o!, y, n, value)
    }
  }
}

extension RowPlan where Element: TrainingCompute {
  /// Σ x · other, or Σ x when `other` is nil, in Double, merged in chunk order.
  func sum(times other: UnsafePointer<Element>? = nil) -> Double {
    reduce(TrainingPass(kind: other == nil ? .sum : .dot, other: other), as: Double.self, merge: +)
  }
}

extension Float: TrainingCompute {
  static func normalizer(_ x: UnsafePointer<Float>, count: Int, threads: Int) -> SoftmaxNormalizer {
    accumulate(x, count: count, threads: threads)
  }

  static func scaledProbabilities(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
    normalizer: SoftmaxNormalizer, scale: Double, targets t: UnsafePointer<Float>?,
    weight: Double, offset: Double, summing: Bool, threads: Int
  ) -> Double {
    let row = RowPlan(x: x, y: y, count: count, threads: threads)
    guard var pass = normalizer.plan(row, output: .probabilities) else { return .nan }
    // Fold the scale into the output kernel: its power of two into the exponent bias (exact),
    // its significand into the mantissa factor, so the flush to 0 below 2^-125 still holds.
    switch pass.kind {
    case .twoPassOutput:
      let magnitude = Swift.abs(scale)
      pass.inverseMantissa *= Float(scale < 0 ? -magnitude.significand : magnitude.significand)
      pass.exponentBias -= Float(magnitude.exponent)
    default:
      pass.scale = Float(Double(pass.scale) * scale)
      pass.threshold = flushThreshold(inverseSum: Swift.abs(pass.scale))
    }
    let targets = TargetsPass(
      output: pass, targets: t, weight: Float(weight), offset: Float(offset),
      blocks: summing || t != nil || offset != 0, summing: summing)
    guard summing else {
      row.perform(targets)
      return 0
    }
    return row.reduce(targets, as: Double.self, merge: +)
  }

  static func dot(_ k: PassKernels, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int)
    -> Double
  { k.training.dot(a, b, n) }

  static func sum(_ k: PassKernels, _ a: UnsafePointer<Float>, _ n: Int) -> Double {
    k.training.sum(a, n)
  }

  static func backwardOutput(
    _ k: PassKernels, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>, _ n: Int, _ s: Double
  ) { k.training.backwardOutput(y, dy, dx, n, Float(s)) }

  static func logBackwardOutput(
    _ k: PassKernels, _ logY: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>, _ n: Int, _ s: Double
  ) { k.training.logBackwardOutput(logY, dy, dx, n, Float(s)) }
}

/// The output pass of a Float cross-entropy gradient: the scaled probabilities by the
/// normalizer's output pass, then, while each 4096-element block is still in L1, the targets
/// subtracted and the block summed (no streaming stores then, as the block is read back at
/// once). One Double per chunk when summing.
struct TargetsPass: ChunkPassing {
  typealias Element = Float
  var output: ChunkPass
  let targets: UnsafePointer<Float>?
  let weight: Float
  let offset: Float
  /// Whether the chunk goes block by block (targets to subtract, or a sum to take).
  let blocks: Bool
  let summing: Bool
  var results: UnsafeMutableRawPointer? = nil

  func run(_ row: RowPlan<Float>, chunk: Int) {
    guard blocks else { return output.run(row, chunk: chunk) }
    let range = row.chunks.range(chunk)
    let k = row.kernels
    let subtracts = targets != nil || offset != 0
    var total = 0.0
    var start = range.lowerBound
    while start < range.upperBound {
      let n = Swift.min(4096, range.upperBound - start)
      let (x, y) = (row.x + start, row.y + start)
      if output.kind == .twoPassOutput {
        k.twoPassOutput(x, y, n, output.inverseMantissa, output.exponentBias, false)
      } else {
        k.expScaledOutput(
          x, y, n, output.shift, output.scale, output.threshold, false)
      }
      if subtracts { k.training.subtractTargets(y, targets.map { $0 + start }, n, weight, offset) }
      if summing { total += k.training.sum(y, n) }
      start += n
    }
    if summing { store(total, chunk) }
  }

  func chunk(forTask task: Int, of count: Int) -> Int {
    output.chunk(forTask: task, of: count)
  }

  func streams(_ row: RowPlan<Float>) -> Bool { !blocks && output.streams(row) }
}

extension Double: TrainingCompute {
  static func normalizer(_ x: UnsafePointer<Double>, count: Int, threads: Int)
    -> SoftmaxNormalizer
  {
    accumulate(x, count: count, threads: threads)
  }

  static func scaledProbabilities(
    _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int,
    normalizer: SoftmaxNormalizer, scale: Double, targets t: UnsafePointer<Double>?,
    weight: Double, offset: Double, summing: Bool, threads: Int
  ) -> Double {
    let logSum = normalizer.exponent * ln2 + log(normalizer.mantissa)
    RowPlan(x: x, y: y, count: count, threads: threads)
      .perform(DoubleChunkPass(kind: .expOutput, shift: normalizer.shift, logSum: logSum))
    if let t {
      for i in 0..<count { y[i] = y[i] * scale - (offset + weight * t[i]) }
    } else {
      for i in 0..<count { y[i] = y[i] * scale - offset }
    }
    return summing ? sumDouble_simd8(y, count: count) : 0
  }

  static func dot(
    _ k: PassKernels, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ n: Int
  ) -> Double { k.training.doubleDot(a, b, n) }

  static func sum(_ k: PassKernels, _ a: UnsafePointer<Double>, _ n: Int) -> Double {
    k.training.doubleSum(a, n)
  }

  static func backwardOutput(
    _ k: PassKernels, _ y: UnsafePointer<Double>, _ dy: UnsafePointer<Double>,
    _ dx: UnsafeMutablePointer<Double>, _ n: Int, _ s: Double
  ) { k.training.doubleBackwardOutput(y, dy, dx, n, s) }

  static func logBackwardOutput(
    _ k: PassKernels, _ logY: UnsafePointer<Double>, _ dy: UnsafePointer<Double>,
    _ dx: UnsafeMutablePointer<Double>, _ n: Int, _ s: Double
  ) { k.training.doubleLogBackwardOutput(logY, dy, dx, n, s) }
}
