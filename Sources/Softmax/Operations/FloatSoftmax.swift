package import SoftmaxKernels
internal import _SoftmaxCKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// Float rows: the algorithms of `RowAlgorithms` on a kernel table, with masks and
// temperatures fused into pass 1 (`FirstPass.swift`); inner axes run the table's strided
// kernel, 16 columns at a time.

extension Float: RowElement {
  static let columnWidth = 16

  static func strided(
    _ kernels: PassKernels, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    length: Int, stride: Int, width: Int, output: RowOutput
  ) {
    kernels.strided(x, y, length, stride, width, output)
  }

  static func shortRow(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
    algorithm: SoftmaxAlgorithm
  ) -> Bool {
    let short = ShortReload.selected
    let limit =
      switch algorithm {
      case .auto: short.autoLimit
      case .threePassReload: RowChunks.minimumLength
      default: 0
      }
    guard count <= limit, let reloadRow = short.kernel else { return false }
    return reloadRow(x, y, count, count >= short.streamFrom ? 1 : 0) != 0
  }

  static func plainRow(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
    algorithm: SoftmaxAlgorithm, output: RowOutput, threads: Int, kernels: PassKernels
  ) {
    guard count > 0 else { return }
    if count == 1 && output == .probabilities {
      // A lone element's probability is exactly 1 (Two-Pass's m · (1/m) in Float is 1 ± 1
      // ulp); alone, −inf gives 0 by the contract, and NaN stays NaN.
      y[0] = x[0].isNaN ? .nan : (x[0] == -.infinity ? 0 : 1)
      return
    }
    guard output == .logProbabilities else {
      return RowAlgorithms.run(algorithm, x, y, count: count, threads: threads, kernels: kernels)
    }
    let row = RowPlan(x: x, y: y, count: count, threads: threads, kernels: kernels)
    if count <= RowChunks.minimumLength {
      let stream = row.streamComputedOutput
      let done = row.table._withUnsafeGuaranteedRef {
        directLogRow(x, y, count: count, kernels: $0, stream: stream)
      }
      if done {
        if stream { kernels.storeFence() }
        return
      }
    }
    logRow(row)
  }

  /// A log-softmax row of one chunk whose maximum is finite and whose sum is not NaN, its
  /// kernels called directly: the calls, log Σ and output pass that `logRow` makes for such a
  /// row, so the same bits, without its per-pass bookkeeping (the results slots, the
  /// normalizer's merge, two passes through `ChunkPass`). Not fenced; `next` as for `logRow`.
  /// False, having written nothing, for the other rows.
  @inline(__always)
  static func directLogRow(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int,
    kernels k: PassKernels, stream: Bool, next: UnsafePointer<Float>? = nil
  ) -> Bool {
    let m = k.max(x, n)
    guard m.isFinite else { return false }
    let sum = k.sumExp(x, n, m)
    guard !sum.isNaN else { return false }
    // `plan`'s rest for one chunk: (shift − Float(shift)) + 0 · ln 2 + log Σ, with shift = m.
    let rest = log(sum)
    let high = Float(rest)
    if let next { softmax_prefetch(next, n * MemoryLayout<Float>.stride) }
    k.logSoftmaxOutput(x, y, n, m, high, Float(rest - Double(high)), stream)
    return true
  }

  /// Log-softmax: each chunk's maximum and Σ e^(x − maximum) (the chunk read once, the sum
  /// from L2), then x − log Σ, with no exponential of the outputs. The maximum's own term is
  /// exactly 1, so log Σ is at least the maximum: no log-probability is positive, and a
  /// one-element row gives exactly 0 (a Two-Pass sum gave ±1e-7 there). `fence`: false where
  /// the caller fences once after many streamed rows; `next`: the input of the row computed
  /// after this one, asked for before the output pass, as the softmax's staged rows do.
  static func logRow(
    _ row: RowPlan<Float>, fence: Bool = true, next: UnsafePointer<Float>? = nil
  ) {
    withUnsafeTemporaryAllocation(of: OnlineSum.self, capacity: row.chunks.count) { parts in
      var first = ChunkPass(.maximumAndSumExp)
      first.results = UnsafeMutableRawPointer(parts.baseAddress!)
      row.perform(first)
      if let pass = SoftmaxNormalizer(reloadParts: parts, of: row).plan(
        row, output: .logProbabilities)
      {
        if let next { softmax_prefetch(next, row.count * MemoryLayout<Float>.stride) }
        row.perform(pass, fence: fence)
      }
    }
  }

  /// Reload rows whose output streams: staged through a stack scratch where they fit (the
  /// same bits as in place, each output written once), else, for `.auto` on kernels with
  /// FMA, Two-Pass with streamed outputs, as the cross-entropy's gradient does: reload in
  /// place cannot stream, and for a cold output the read for ownership costs more than the
  /// second exponential (512×32000, alternating with the code before: 1.04 and 1.28
  /// ns/element against 1.59 and 1.74; BENCHMARKS.md).
  ///
  /// Log-softmax rows write each output once from their input, in L1 after pass 1: in an array
  /// beyond `AutoPolicy.arrayStreamingThreshold` they stream, fenced once for the task, as the
  /// backward passes' rows do (4096×1024: see BENCHMARKS.md "Log-softmax rows that stream").
  static func streamedRows(
    _ rows: SoftmaxRows<Float>, _ items: Range<Int>, x: UnsafePointer<Float>,
    y: UnsafeMutablePointer<Float>, length n: Int, arrayStreams: Bool
  ) -> Bool {
    if rows.settings.output == .logProbabilities {
      guard arrayStreams, n >= AutoPolicy.stagedRowMinimum, rows.kernels.hasStreamingStores
      else { return false }
      Unmanaged.passUnretained(rows.kernels)._withUnsafeGuaranteedRef { k in
        for item in items {
          let (xr, yr) = (x + item * n, y + item * n)
          let next = item + 1 < items.upperBound ? xr + n : nil
          if n <= RowChunks.minimumLength
            && directLogRow(xr, yr, count: n, kernels: k, stream: true, next: next)
          {
            continue
          }
          var row = RowPlan(x: xr, y: yr, count: n, threads: 1, kernels: k)
          row.streamAlways = true
          logRow(row, fence: false, next: next)
        }
        k.storeFence()
      }
      return true
    }
    guard rows.settings.algorithm.resolved(forCount: n) == .threePassReload else { return false }
    guard AutoPolicy.stagesExponentials(count: n, arrayStreams: arrayStreams) else {
      if case .portable = rows.kernels.isa { return false }
      guard rows.settings.algorithm == .auto,
        AutoPolicy.streamsComputedRows(count: n, arrayStreams: arrayStreams)
      else { return false }
      for item in items {
        var row = RowPlan(
          x: x + item * n, y: y + item * n, count: n, threads: 1, kernels: rows.kernels)
        row.streamAlways = true
        RowAlgorithms.twoPass(row)
      }
      return true
    }
    RowScratch<Float>.with(count: n) { scratch in
      for item in items {
        let (xr, yr) = (x + item * n, y + item * n)
        var row = RowPlan(x: xr, y: yr, count: n, threads: 1, kernels: rows.kernels)
        row.streamAlways = true
        RowAlgorithms.threePassReload(
          row, exponentials: scratch.aligned(like: yr),
          next: item + 1 < items.upperBound ? xr + n : nil)
      }
    }
    // The staged rows' streaming stores, before the pool reports the task done.
    rows.kernels.storeFence()
    return true
  }

  /// The effective logits of the row's masks and temperature, fused into pass 1.
  static func row(
    _ rows: SoftmaxRows<Float>, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    kept: Int, length: Int, index: Int, threads: Int
  ) {
    let settings = rows.settings
    let start = index * settings.maskStride
    switch settings.mask {
    case .keep(let keep):
      keep.withUnsafeBufferPointer { k in
        let transform = LogitTransform(
          divisor: Float(settings.temperature), keep: k.baseAddress.map { $0 + start })
        rows.fusedRow(x, y, kept: kept, length: length, transform: transform, threads: threads)
      }
    case .additive(let bias):
      bias.withUnsafeBufferPointer { a in
        let transform = LogitTransform(
          divisor: Float(settings.temperature), bias: a.baseAddress.map { $0 + start })
        rows.fusedRow(x, y, kept: kept, length: length, transform: transform, threads: threads)
      }
    case .none, .causal:
      let transform = LogitTransform(divisor: Float(settings.temperature))
      rows.fusedRow(x, y, kept: kept, length: length, transform: transform, threads: threads)
    }
  }
}

extension SoftmaxRows where Element == Float {
  /// The first `kept` elements (the rest are masked and written): pass 1 on the effective
  /// logits that `transform` writes to `y` block by block, then the other passes in place there.
  fileprivate func fusedRow(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, kept: Int, length: Int,
    transform: LogitTransform, threads: Int
  ) {
    let nanIfEmpty = settings.nanIfEmpty
    guard kept > 0 else {
      if nanIfEmpty { y.update(repeating: .nan, count: length) }
      return
    }
    let normalizer = settings.output == .logProbabilities || settings.sink != nil
    let resolved = normalizer ? .twoPass : settings.algorithm.resolved(forCount: kept)
    var transform = transform
    if transform.divisor != 1 || settings.output == .logProbabilities {
      // Effective logits after the row's largest (ShiftedRows.swift). Rows of up to 2^17
      // elements (L2) take one shift, read before pass 1 reads the row again from L1 or L2,
      // then the passes below, so `algorithm` applies (Two-Pass's two exponentials per element
      // instead of reload's one cost 20–45% on rows of 1024 and 128256 at T = 0.7); longer
      // rows shift chunk by chunk and run Two-Pass sums, since a second read of them comes
      // from L3 or memory (one shift was 13–30% slower on 2^22, alternating runs).
      let chunked = RowChunks(rowLength: kept).count > 1
      if kept > 1 << 17 {
        if shiftedRow(x, y, kept: kept, length: length, transform: transform, threads: threads) {
          return
        }
      } else {
        let source = RowPlan(x: x, y: y, count: kept, threads: threads, kernels: kernels)
        transform = transform.shifted(over: source, 0..<kept)
        // That read waits for memory with nothing to compute: the row after this one (rows of
        // a shaped array follow each other) is asked for now, to arrive while this one is
        // computed. Measured: 4096 × 1024 at T = 0.7 went from 1.2–1.5× to 0.94–1.06× the
        // time before the shift (alternating runs of `softmax bench`).
        if !chunked { softmax_prefetch(x + length, length * MemoryLayout<Float>.stride) }
      }
    }
    // (s / T) − the shift, rounded to Float once.
    let shiftLogit = transform.logitShift
    let sink = settings.temperedSink.map { Float($0 - shiftLogit) }
    if transform.isIdentity && !nanIfEmpty && !normalizer {
      return RowAlgorithms.run(resolved, x, y, count: kept, threads: threads, kernels: kernels)
    }
    let source = RowPlan(x: x, y: y, count: kept, threads: threads, kernels: kernels)
    var parts = FirstPassParts(resolved)
    if nanIfEmpty && parts == .twoPassSum { parts.insert(.maximum) }
    let first = RowAlgorithms.firstPass(source, transform: transform, parts: parts)
    if nanIfEmpty && first.largest(parts) == -.infinity {
      return y.update(repeating: .nan, count: length)
    }
    // The effective logits: the input itself, or what pass 1 wrote to the output.
    let row =
      transform.isIdentity
      ? source : RowPlan(x: y, y: y, count: kept, threads: threads, kernels: kernels)
    guard normalizer else { return RowAlgorithms.finish(resolved, row, after: first) }
    var total = SoftmaxNormalizer(pass1: first.sum, of: row)
    if var sink {
      withUnsafeMutablePointer(to: &sink) { s in
        let one = RowPlan(x: s, y: s, count: 1, threads: 1, kernels: kernels)
        total.merge(SoftmaxNormalizer(pass1: kernels.twoPassSum(s, 1), of: one))
      }
    }
    if let pass = total.plan(row, output: settings.output) { row.perform(pass) }
  }
}

/// The shaped softmax (or log-softmax) along the last axis on the kernel table `kernels`:
/// what the public entry points run on `.selected`, for tests that cover every table.
package func shapedSoftmax(
  _ input: UnsafeBufferPointer<Float>, shape: [Int], into output: UnsafeMutableBufferPointer<Float>,
  algorithm: SoftmaxAlgorithm = .auto, logarithm: Bool = false, threads: Int? = nil,
  mask: SoftmaxMask = .none, sink: Float? = nil, fullyMaskedRows: FullyMaskedRows = .zeros,
  temperature: Float = 1, kernels: PassKernels
) {
  let request = _SoftmaxRequest(
    "shapedSoftmax", logarithm: logarithm, shape: shape, algorithm: algorithm, threads: threads,
    mask: mask, sink: sink, fullyMaskedRows: fullyMaskedRows, temperature: temperature)
  request.run(input, output) { SoftmaxRows(settings: $0, kernels: kernels) }
}

extension Float {
  public static func _accumulate(_ values: UnsafeBufferPointer<Float>, threads: Int?)
    -> SoftmaxNormalizer
  {
    SoftmaxNormalizer.accumulate(values, threads: threads, accumulate)
  }

  public static func _normalize(
    _ values: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
    by normalizer: SoftmaxNormalizer, logarithm: Bool, threads: Int?
  ) {
    normalizer.normalize(values, output, logarithm: logarithm, threads: threads, normalize)
  }

  static func accumulate(_ x: UnsafePointer<Float>, count: Int, threads: Int)
    -> SoftmaxNormalizer
  {
    SoftmaxNormalizer(
      accumulating: RowPlan(
        x: x, y: UnsafeMutablePointer(mutating: x), count: count, threads: threads))
  }

  static func normalize(_ call: NormalizeCall<Float>) {
    let row = RowPlan(
      x: call.x, y: call.y, count: call.count, threads: call.threads, kernels: .selected)
    if let pass = call.normalizer.plan(row, output: call.output) { row.perform(pass) }
  }
}

extension SoftmaxNormalizer {
  /// The sum of `row.x` (count ≥ 1): Two-Pass pass 1 over the row's chunks, merged in order.
  init(accumulating row: RowPlan<Float>) {
    let pair = row.reduce(ChunkPass(.twoPassSum), as: ScaledExpSum.self) { $0.merged(with: $1) }
    self.init(pass1: pair, of: row)
  }

  /// The sum of `row.x` (count ≥ 1) from its Two-Pass pass-1 sum `pair`: the pair itself when
  /// it is exact, else from the row's maximum (which reads the row once or twice more).
  init(pass1 pair: ScaledExpSum, of row: RowPlan<Float>) {
    self.init()
    if pair.mantissa.isNaN {
      mantissa = .nan
    } else if pair.isExact {
      (mantissa, exponent) = (pair.mantissa, Double(pair.exponent))
    } else {
      let max = row.reduce(ChunkPass(.maximum), as: Float.self) { Swift.max($0, $1) }
      if max == .infinity {
        for i in 0..<row.count where row.x[i] == .infinity { infinityCount += 1 }
      } else if max > -.infinity {
        shift = Double(max)
        mantissa = row.reduce(ChunkPass(.sumExp, shift: max), as: Double.self, merge: +)
      }
    }
  }

  /// The output pass for `row` (count ≥ 1), or nil when the special-value contract has
  /// already written the output.
  func plan(_ row: RowPlan<Float>, output: RowOutput) -> ChunkPass? {
    if mantissa.isNaN {
      SpecialValues.writeNaN(row.y, count: row.count)
      return nil
    }
    if infinityCount > 0 || mantissa == 0 {
      SpecialValues.writeShares(
        row.x, row.y, count: row.count, infinities: infinityCount, output: output)
      return nil
    }
    // A shift from Double values may not be a Float: its rounding error joins the rest.
    let floatShift = Float(shift)
    if output == .logProbabilities {
      var pass = ChunkPass(.logSoftmaxOutput, shift: floatShift)
      let rest = (shift - Double(floatShift)) + exponent * ln2 + log(mantissa)
      pass.logHigh = Float(rest)
      pass.logLow = Float(rest - Double(pass.logHigh))
      return pass
    }
    if shift == 0 {
      var pass = ChunkPass(.twoPassOutput)
      (pass.inverseMantissa, pass.exponentBias) =
        ScaledExpSum(mantissa: mantissa, exponent: Float(exponent)).outputParameters
      return pass
    }
    var pass = ChunkPass(.expScaledOutput, shift: floatShift)
    pass.scale = Float(1 / mantissa)
    pass.threshold = flushThreshold(inverseSum: pass.scale)
    return pass
  }
}

/// What `Float.shortRow` needs of the selected kernel set and of the policy, worked out once
/// into one global: one lazy-initialization check per call, and no reference to the kernel
/// table. A retain of the table is an atomic instruction, and on the Zen 5 of 2026-12-02 it
/// kept each call from overlapping the previous one's stores: a row of 16 floats took 50 ns
/// through the table and 23 ns this way (BENCHMARKS.md, "Short rows in one C call").
private struct ShortReload {
  /// The selected set's `reloadRow` (a C function pointer: not reference counted).
  let kernel: ReloadRowKernel?
  /// The longest row that `.auto` runs as Three-Pass reload in one chunk.
  let autoLimit: Int
  /// Rows from this length stream their output (`AutoPolicy.streamingThreshold`).
  let streamFrom: Int

  static let selected = ShortReload(
    kernel: PassKernels.selected.reloadRow,
    autoLimit: Swift.min(RowChunks.minimumLength, AutoPolicy.twoPassFromCount - 1),
    streamFrom: AutoPolicy.streamingThreshold)
}
