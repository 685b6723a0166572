internal import SoftmaxKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// Double rows, with the semantics of the Float rows in Double precision: masks and
// temperatures take one extra pass (the effective logits go to the output, correctly rounded
// quotients, an additive mask's Float values added in Double), then the row runs there in
// place on the table's Double kernels; inner axes run its strided Double kernel, 8 columns at
// a time.

extension Double: RowElement {
  static let columnWidth = 8

  /// Double rows have one algorithm, whose output is computed from the input: nothing to stage.
  static func streamedRows(
    _ rows: SoftmaxRows<Double>, _ items: Range<Int>, x: UnsafePointer<Double>,
    y: UnsafeMutablePointer<Double>, length: Int, arrayStreams: Bool
  ) -> Bool { false }

  static func strided(
    _ kernels: PassKernels, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>,
    length: Int, stride: Int, width: Int, output: RowOutput
  ) {
    kernels.double.strided(x, y, length, stride, width, output)
  }

  static func plainRow(
    _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int,
    algorithm: SoftmaxAlgorithm, output: RowOutput, threads: Int, kernels: PassKernels
  ) {
    guard count > 0 else { return }
    RowPlan(x: x, y: y, count: count, threads: threads, kernels: kernels)
      .softmax(sink: nil, output: output)
  }

  static func row(
    _ rows: SoftmaxRows<Double>, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>,
    kept: Int, length: Int, index: Int, threads: Int
  ) {
    let settings = rows.settings
    let kernels = rows.kernels
    let temperature = settings.temperature
    let start = index * settings.maskStride
    // With a temperature, the largest kept logit m is subtracted first (the softmax of
    // (x − m) / T is that of x / T): the quotients can then not overflow, so a tiny T tends
    // to the argmax, and they are exact where the probabilities are not negligible.
    let shift = temperature == 1 ? 0 : largestKept(x, kept: kept, mask: settings.mask, at: start)
    var x = x
    switch settings.mask {
    case .keep(let keep):
      keep.withUnsafeBufferPointer { k in
        for i in 0..<kept { y[i] = k[start + i] ? (x[i] - shift) / temperature : -.infinity }
      }
      x = UnsafePointer(y)
    case .additive(let bias):
      bias.withUnsafeBufferPointer { a in
        for i in 0..<kept { y[i] = (x[i] - shift) / temperature + Double(a[start + i]) }
      }
      x = UnsafePointer(y)
    case .none, .causal:
      if temperature != 1 {
        // A division, not a multiplication by 1/T: every quotient is correctly rounded.
        for i in 0..<kept { y[i] = (x[i] - shift) / temperature }
        x = UnsafePointer(y)
      }
    }
    let sink = settings.sink.map { temperature == 1 ? $0 : ($0 - shift) / temperature }
    if settings.nanIfEmpty
      && (kept == 0
        || RowPlan(x: x, y: y, count: kept, threads: threads, kernels: kernels).maximum
          == -.infinity)
    {
      return y.update(repeating: .nan, count: length)
    }
    guard kept > 0 else { return }
    RowPlan(x: x, y: y, count: kept, threads: threads, kernels: kernels)
      .softmax(sink: sink, output: settings.output)
  }

  /// The largest finite one of the first `kept` logits that a keep mask keeps, or 0 when there
  /// is none (NaN makes the sum NaN anyway; +inf entries take the contract's shares, and a
  /// finite logit beside them must stay finite: 1e290 / 1e-30 unshifted is +inf).
  private static func largestKept(
    _ x: UnsafePointer<Double>, kept: Int, mask: SoftmaxMask, at start: Int
  ) -> Double {
    var largest = -Double.infinity
    if case .keep(let keep) = mask {
      keep.withUnsafeBufferPointer { k in
        for i in 0..<kept where k[start + i] && x[i].isFinite && x[i] > largest {
          largest = x[i]
        }
      }
    } else {
      for i in 0..<kept where x[i].isFinite && x[i] > largest { largest = x[i] }
    }
    return largest.isFinite ? largest : 0
  }
}

extension Double {
  public static func _accumulate(_ values: UnsafeBufferPointer<Double>, threads: Int?)
    -> SoftmaxNormalizer
  {
    SoftmaxNormalizer.accumulate(values, threads: threads, accumulate)
  }

  public static func _normalize(
    _ values: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>,
    by normalizer: SoftmaxNormalizer, logarithm: Bool, threads: Int?
  ) {
    normalizer.normalize(values, output, logarithm: logarithm, threads: threads, normalize)
  }

  static func accumulate(_ x: UnsafePointer<Double>, count: Int, threads: Int)
    -> SoftmaxNormalizer
  {
    let row = RowPlan(
      x: x, y: UnsafeMutablePointer(mutating: x), count: count, threads: threads)
    let maximum = row.maximum
    guard maximum.isFinite else {
      let census = SpecialValues.census(x, count: count)
      return SoftmaxNormalizer(
        shift: 0, mantissa: census.hasNaN ? .nan : 0, exponent: 0,
        infinityCount: census.hasNaN ? 0 : census.infinities)
    }
    // NaN inputs make the sum NaN.
    let sum = row.sum(DoubleChunkPass(kind: .sumExp, shift: maximum), plus: 0)
    return SoftmaxNormalizer(shift: maximum, mantissa: sum, exponent: 0, infinityCount: 0)
  }

  /// y = e^((x − shift) − rest) or (x − shift) − rest, with log Σ = shift + rest.
  static func normalize(_ call: NormalizeCall<Double>) {
    let n = call.normalizer
    if n.mantissa.isNaN { return SpecialValues.writeNaN(call.y, count: call.count) }
    if n.infinityCount > 0 || n.mantissa == 0 {
      return SpecialValues.writeShares(
        call.x, call.y, count: call.count, infinities: n.infinityCount, output: call.output)
    }
    let pass = DoubleChunkPass(
      kind: call.output == .logProbabilities ? .logOutput : .expOutput, shift: n.shift,
      logSum: n.exponent * ln2 + log(n.mantissa))
    RowPlan(x: call.x, y: call.y, count: call.count, threads: call.threads).perform(pass)
  }
}

// Double rows: the Double kernels of the table (maximum; e^(x − max) stored while summing;
// scaling), run over chunks of the row by `RowPlan`. Sums are `CompensatedSum`s: each chunk's
// from the kernels' blocks, merged pair by pair in chunk order, so the summation error is
// bounded by the kernels' block length, not by the row or chunk length.

/// One pass over the chunks of a Double row.
struct DoubleChunkPass: ChunkPassing {
  enum Kind {
    case maximum  // one Double per chunk
    case sumAndStoreExp, sumExp  // one compensated sum per chunk
    case scale, logOutput, expOutput  // write the output
  }

  var kind: Kind
  var shift: Double = 0
  var scale: Double = 0
  var threshold: Double = 0
  var logSum: Double = 0
  var results: UnsafeMutableRawPointer? = nil

  func run(_ row: RowPlan<Double>, chunk: Int) {
    let range = row.chunks.range(chunk)
    let (x, y, n) = (row.x + range.lowerBound, row.y + range.lowerBound, range.count)
    let k = row.kernels.double
    switch kind {
    case .maximum: store(k.max(x, n), chunk)
    case .sumAndStoreExp: store(k.sumExp(x, y, n, shift), chunk)
    case .sumExp: store(k.sumExp(x, nil, n, shift), chunk)
    case .scale: k.scale(y, n, scale, threshold)
    case .logOutput: k.normalizedOutput(x, y, n, shift, logSum, .logProbabilities)
    case .expOutput: k.normalizedOutput(x, y, n, shift, logSum, .probabilities)
    }
  }
}

extension RowPlan where Element == Double {
  /// The largest element (NaN not reported).
  var maximum: Double {
    reduce(DoubleChunkPass(kind: .maximum), as: Double.self) { Swift.max($0, $1) }
  }

  /// The per-chunk compensated sums of `pass` (`.sumAndStoreExp` or `.sumExp`), merged pair by
  /// pair in chunk order, with `extra` (a sink's term) added last.
  func sum(_ pass: DoubleChunkPass, plus extra: Double) -> Double {
    var total = reduce(pass, as: CompensatedSum<Double>.self) {
      var total = $0
      total.add($1)
      return total
    }
    total.add(extra)
    return total.value
  }

  /// Softmax (or log-softmax) of the row with an optional sink logit, which only adds
  /// e^sink to the denominator: Three-Pass reload in Double (log-softmax: the maximum, Σ e^(x −
  /// max), then (x − max) − log Σ). Special values as for Float rows; a sink of +inf counts as
  /// one more +inf entry, a NaN sink makes the row NaN.
  func softmax(sink: Double?, output: RowOutput) {
    if let sink, sink.isNaN { return y.update(repeating: .nan, count: count) }
    // The kernel's maximum never reports NaN; a NaN input shows in the sum instead.
    var maximum = self.maximum
    if let sink { maximum = Swift.max(maximum, sink) }
    guard maximum.isFinite else {
      return SpecialValues.apply(
        x, y, count: count, extraInfinities: sink == .infinity ? 1 : 0, output: output)
    }
    // e^(sink − max) ≤ 1; libm's exp is correctly rounded or nearly so.
    let sinkTerm = sink.map { exp($0 - maximum) } ?? 0
    let logarithm = output == .logProbabilities
    let sum = self.sum(
      DoubleChunkPass(kind: logarithm ? .sumExp : .sumAndStoreExp, shift: maximum),
      plus: sinkTerm)
    guard !sum.isNaN else { return y.update(repeating: .nan, count: count) }
    if logarithm {
      return perform(DoubleChunkPass(kind: .logOutput, shift: maximum, logSum: log(sum)))
    }
    // sum ≥ 1 (the largest entry, or the sink, contributes e^0), so the scale is at most 1.
    perform(DoubleChunkPass(kind: .scale, scale: 1 / sum, threshold: 0x1p-1020 / (1 / sum)))
  }
}
