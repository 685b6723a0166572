internal import SoftmaxKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Softmax and log-softmax of Double rows, for the engine, with the semantics of the Float rows
/// in Double precision: masks and temperatures take one extra pass (the effective logits go
/// to the output, correctly rounded quotients, an additive mask's Float values added in
/// Double), then the row runs there in place; inner axes run the strided Double kernel, 8
/// columns at a time.
struct DoubleSoftmax: AxisOperation {
  var settings: RowSettings<Double>

  func columnGroupWidth(length: Int) -> Int { 8 }

  func columns(
    _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, length: Int, stride: Int,
    width: Int
  ) {
    settings.columns(x, y, length: length, stride: stride, width: width) { x, y in
      stridedSoftmaxDouble_simd8(
        x, y, length: length, stride: stride, width: width, output: settings.output)
    }
  }

  /// Softmax (or log-softmax) of row number `index`, `length` elements at `x`, into `y`.
  func row(
    _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, length: Int, index: Int,
    threads: Int
  ) {
    let kept = settings.keptPrefix(of: y, length: length, row: index)
    let temperature = settings.temperature
    if temperature == 0 {
      return settings.argmax(x, y, kept: kept, length: length, row: index)
    }
    var x = x
    let start = index * settings.maskStride
    switch settings.mask {
    case .keep(let keep):
      keep.withUnsafeBufferPointer { k in
        for i in 0..<kept { y[i] = k[start + i] ? x[i] / temperature : -.infinity }
      }
      x = UnsafePointer(y)
    case .additive(let bias):
      bias.withUnsafeBufferPointer { a in
        for i in 0..<kept { y[i] = x[i] / temperature + Double(a[start + i]) }
      }
      x = UnsafePointer(y)
    case .none, .causal:
      if temperature != 1 {
        // A division, not a multiplication by 1/T: every quotient is correctly rounded.
        for i in 0..<kept { y[i] = x[i] / temperature }
        x = UnsafePointer(y)
      }
    }
    let sink = settings.temperedSink
    if settings.nanIfEmpty
      && (kept == 0
        || DoubleRowPlan(x: x, y: y, count: kept, threads: threads).maximum == -.infinity)
    {
      return y.update(repeating: .nan, count: length)
    }
    guard kept > 0 else { return }
    DoubleRowPlan(x: x, y: y, count: kept, threads: threads)
      .softmax(sink: sink, output: settings.output)
  }
}

extension Double {
  public static func _accumulate(_ x: UnsafePointer<Double>, count: Int, threads: Int)
    -> SoftmaxNormalizer
  {
    let row = DoubleRowPlan(
      x: x, y: UnsafeMutablePointer(mutating: x), count: count, threads: threads)
    let maximum = row.maximum
    guard maximum.isFinite else {
      let census = SpecialValues.census(x, count: count)
      return SoftmaxNormalizer(
        shift: 0, mantissa: census.hasNaN ? .nan : 0, exponent: 0,
        infinityCount: census.hasNaN ? 0 : census.infinities)
    }
    // NaN inputs make the sum NaN.
    let sum = row.sum(DoubleChunkPass(.sumExp, shift: maximum), plus: 0)
    return SoftmaxNormalizer(shift: maximum, mantissa: sum, exponent: 0, infinityCount: 0)
  }

  /// y = e^((x − shift) − rest) or (x − shift) − rest, with log Σ = shift + rest.
  public static func _normalize(_ call: _NormalizeCall<Double>) {
    let n = call.normalizer
    if n.mantissa.isNaN { return SpecialValues.writeNaN(call.y, count: call.count) }
    if n.infinityCount > 0 || n.mantissa == 0 {
      return SpecialValues.writeShares(
        call.x, call.y, count: call.count, infinities: n.infinityCount, output: call.output)
    }
    var pass = DoubleChunkPass(
      call.output == .logProbabilities ? .logOutput : .expOutput, shift: n.shift)
    pass.logSum = n.exponent * ln2 + log(n.mantissa)
    DoubleRowPlan(x: call.x, y: call.y, count: call.count, threads: call.threads).perform(pass)
  }
}

// Double rows: the Double row kernels (maximum; e^(x − max) stored
// while summing; scaling) of the one-row Double softmax, run over chunks of the row on the
// worker pool. The chunks are cut by the row length alone (`RowChunks`) and their partial
// results merge in chunk order, so the result does not depend on the thread count; a row of
// fewer than 2^16 elements is one chunk, computed exactly as the one-row Double softmax does.
// Sums are `CompensatedSum`s: each chunk's from the kernels' blocks, merged pair by pair, so
// the summation error is bounded by the kernels' block length, not by the row or chunk length.

/// One pass over the chunks of a Double row, as plain data for the worker pool.
struct DoubleChunkPass {
  enum Kind {
    case maximum  // writes one Double per chunk to `results`
    case sumAndStoreExp, sumExp  // write one compensated sum per chunk to `sums`
    case scale, logOutput, expOutput  // write the output
  }

  var kind: Kind
  var shift: Double = 0
  var scale: Double = 0
  var threshold: Double = 0
  var logSum: Double = 0
  var results: UnsafeMutablePointer<Double>? = nil
  var sums: UnsafeMutablePointer<CompensatedSum<Double>>? = nil

  init(_ kind: Kind, shift: Double = 0) {
    self.kind = kind
    self.shift = shift
  }

  func run(_ row: DoubleRowPlan, chunk: Int) {
    let range = row.chunks.range(chunk)
    let x = row.x + range.lowerBound
    let y = row.y + range.lowerBound
    let n = range.count
    switch kind {
    case .maximum: results![chunk] = maxDouble_simd8(x, count: n)
    case .sumAndStoreExp: sums![chunk] = sumAndStoreExpDouble_simd8(x, y, count: n, shift: shift)
    case .sumExp: sums![chunk] = sumExpDouble_simd8(x, count: n, shift: shift)
    case .scale: scaleDouble_simd8(y, count: n, scale: scale, threshold: threshold)
    case .logOutput:
      for i in 0..<n { y[i] = (x[i] - shift) - logSum }
    case .expOutput: expOutputDouble_simd8(x, y, count: n, shift: shift, logSum: logSum)
    }
  }
}

/// One Double row's execution: its buffers, the chunk cut and the thread budget. `y` is `x` or
/// does not overlap it.
struct DoubleRowPlan {
  let x: UnsafePointer<Double>
  let y: UnsafeMutablePointer<Double>
  let count: Int
  let threads: Int
  let chunks: RowChunks

  init(x: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>, count: Int, threads: Int) {
    self.x = x
    self.y = y
    self.count = count
    self.threads = threads
    chunks = RowChunks(rowLength: count)
  }

  /// Runs `pass` on every chunk, in parallel when the thread budget allows.
  func perform(_ pass: DoubleChunkPass) {
    WorkerPool.shared.perform(
      DoubleChunkJob(row: self, pass: pass), tasks: chunks.count, threads: threads)
  }

  /// The largest element (NaN not reported).
  var maximum: Double {
    reduce(DoubleChunkPass(.maximum)) { Swift.max($0, $1) }
  }

  /// The per-chunk results of `pass`, merged in chunk order (on the stack: at most 64).
  func reduce(_ pass: DoubleChunkPass, merge: (Double, Double) -> Double) -> Double {
    withUnsafeTemporaryAllocation(of: Double.self, capacity: RowChunks.maximumCount) { results in
      var pass = pass
      pass.results = results.baseAddress!
      perform(pass)
      var total = results[0]
      for index in 1..<Swift.max(1, chunks.count) { total = merge(total, results[index]) }
      return total
    }
  }

  /// The per-chunk compensated sums of `pass` (`.sumAndStoreExp` or `.sumExp`), merged pair by
  /// pair in chunk order (on the stack: at most 64), with `extra` (a sink's term) added last.
  func sum(_ pass: DoubleChunkPass, plus extra: Double) -> Double {
    withUnsafeTemporaryAllocation(
      of: CompensatedSum<Double>.self, capacity: RowChunks.maximumCount
    ) {
      sums in
      var pass = pass
      pass.sums = sums.baseAddress!
      perform(pass)
      var total = sums[0]
      for index in 1..<Swift.max(1, chunks.count) { total.add(sums[index]) }
      total.add(extra)
      return total.value
    }
  }

  /// Softmax (or log-softmax) of the row with an optional sink logit, which only adds
  /// e^sink to the denominator: Three-Pass reload in Double (log-softmax: the maximum, Σ e^(x −
  /// max), then (x − max) − log Σ). Special values as for the one-row Double softmax; a sink
  /// of +inf counts as one more +inf entry, a NaN sink makes the row NaN.
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
    if output == .logProbabilities {
      let sum = self.sum(DoubleChunkPass(.sumExp, shift: maximum), plus: sinkTerm)
      guard !sum.isNaN else { return y.update(repeating: .nan, count: count) }
      var pass = DoubleChunkPass(.logOutput, shift: maximum)
      pass.logSum = log(sum)
      return perform(pass)
    }
    let sum = self.sum(DoubleChunkPass(.sumAndStoreExp, shift: maximum), plus: sinkTerm)
    guard !sum.isNaN else { return y.update(repeating: .nan, count: count) }
    // sum ≥ 1 (the largest entry, or the sink, contributes e^0), so the scale is at most 1.
    var pass = DoubleChunkPass(.scale)
    pass.scale = 1 / sum
    pass.threshold = 0x1p-1020 / pass.scale
    perform(pass)
  }
}

/// One pass of a Double row over its chunks, for the worker pool.
private struct DoubleChunkJob: PoolJob {
  let row: DoubleRowPlan
  let pass: DoubleChunkPass

  func run(task: Int) { pass.run(row, chunk: task) }
}
