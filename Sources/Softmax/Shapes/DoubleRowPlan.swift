internal import SoftmaxKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// Double rows for the shaped entry points: the Double row kernels (maximum; e^(x − max) stored
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
    case scale, logOutput  // write the output
  }

  var kind: Kind
  var shift: Double = 0
  var scale: Double = 0
  var threshold: Double = 0
  var logSum: Double = 0
  var results: UnsafeMutablePointer<Double>? = nil
  var sums: UnsafeMutablePointer<CompensatedSum>? = nil

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
    if chunks.count == 1 || threads == 1 {
      for chunk in 0..<chunks.count { pass.run(self, chunk: chunk) }
      return
    }
    var job = (row: self, pass: pass)
    withUnsafeMutablePointer(to: &job) { pointer in
      WorkerPool.shared.run(tasks: chunks.count, threads: threads, context: pointer) {
        context, chunk in
        let job = context.assumingMemoryBound(to: (row: DoubleRowPlan, pass: DoubleChunkPass).self)
        job.pointee.pass.run(job.pointee.row, chunk: chunk)
      }
    }
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
    withUnsafeTemporaryAllocation(of: CompensatedSum.self, capacity: RowChunks.maximumCount) {
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
  func softmax(sink: Double?, logarithm: Bool) {
    if let sink, sink.isNaN { return y.update(repeating: .nan, count: count) }
    // The kernel's maximum never reports NaN; a NaN input shows in the sum instead.
    var maximum = reduce(DoubleChunkPass(.maximum)) { Swift.max($0, $1) }
    if let sink { maximum = Swift.max(maximum, sink) }
    guard maximum.isFinite else {
      return nonFiniteDoubleRow(
        x, y, count: count, sinkIsInfinite: sink == .infinity,
        logarithm: logarithm)
    }
    // e^(sink − max) ≤ 1; libm's exp is correctly rounded or nearly so.
    let sinkTerm = sink.map { exp($0 - maximum) } ?? 0
    if logarithm {
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

/// A row whose maximum (with the sink) is ±inf, by the special-value contract: NaN anywhere
/// gives NaN; +inf entries (and a +inf sink) share the mass equally; a row of only −inf (and
/// no finite sink) gives zeros. Log-softmax: −log(count of +inf) and −inf.
func nonFiniteDoubleRow(
  _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int,
  sinkIsInfinite: Bool, logarithm: Bool
) {
  var infinities = sinkIsInfinite ? 1 : 0
  for i in 0..<count {
    if x[i].isNaN { return y.update(repeating: .nan, count: count) }
    if x[i] == .infinity { infinities += 1 }
  }
  let share = infinities > 0 ? 1 / Double(infinities) : 0
  let logShare = infinities > 0 ? -log(Double(infinities)) : -.infinity
  for i in 0..<count {
    let top = x[i] == .infinity
    y[i] = logarithm ? (top ? logShare : -.infinity) : (top ? share : 0)
  }
}
