package import SoftmaxKernels
internal import _SoftmaxCKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// Each algorithm as a sequence of passes over one contiguous row of count ≥ 1 elements, each
// pass run chunk by chunk on the worker pool. `y` is either `x` or does not overlap it.

package enum RowAlgorithms {
  /// Runs `algorithm` on the row; `.auto` is resolved here. `threads` ≥ 1 is an upper bound.
  package static func run(
    _ algorithm: SoftmaxAlgorithm, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    count: Int, threads: Int = 1, kernels: PassKernels = .selected
  ) {
    let row = RowPlan(x: x, y: y, count: count, threads: threads, kernels: kernels)
    switch algorithm.resolved(forCount: count) {
    case .auto, .twoPass: twoPass(row)
    case .threePassRecompute: threePassRecompute(row)
    case .threePassReload: threePassReload(row)
    case .online: online(row)
    }
  }

  static func twoPass(_ row: RowPlan<Float>) {
    twoPass(
      row, sum: row.reduce(ChunkPass(.twoPassSum), as: ScaledExpSum.self) { $0.merged(with: $1) })
  }

  /// Two-Pass after pass 1 gave `sum`.
  static func twoPass(_ row: RowPlan<Float>, sum: ScaledExpSum) {
    // A NaN input, or one the pair representation clamped: subtract the maximum instead.
    guard sum.isExact else {
      return threePassRecompute(row)
    }
    var output = ChunkPass(.twoPassOutput)
    (output.inverseMantissa, output.exponentBias) = sum.outputParameters
    row.perform(output)
  }

  static func threePassRecompute(_ row: RowPlan<Float>) {
    threePassRecompute(row, maximum: maximum(row))
  }

  /// Three-Pass recompute after pass 1 gave the row's `maximum`.
  static func threePassRecompute(_ row: RowPlan<Float>, maximum max: Float) {
    guard finite(max, row) else { return }
    let sum = row.reduce(ChunkPass(.sumExp, shift: max), as: Double.self, merge: +)
    guard !sum.isNaN else { return row.y.update(repeating: .nan, count: row.count) }
    var output = ChunkPass(.expScaledOutput, shift: max)
    output.scale = Float(1 / sum)
    output.threshold = flushThreshold(inverseSum: output.scale)
    row.perform(output)
  }

  /// Three-Pass reload, chunk by chunk: each chunk's maximum m_c, then its e^(x − m_c) stored
  /// into y and summed while the chunk is still in L2 (a chunk is at most 256 KiB of input), so
  /// the input is read from memory once, not twice as when the row's maximum comes first; then
  /// y_c · e^(m_c − M) / S with M the row maximum and S = Σ_c s_c · e^(m_c − M) (Double, in
  /// chunk order). A row of one chunk is the classic method. Chunks whose maximum is not finite
  /// are skipped by the first pass, so their input is intact (even in place) for the
  /// non-finite contract. Measured against the row-maximum-first order (`softmax bench`, one
  /// thread, cold outputs, 2026-11-29): 6% and 5% faster at 2^19 and 2^20 in one A/B of 5 runs
  /// each, 1% and 3% in another of 4; within 3% at 2^16–2^18 and 2^21 in both.
  ///
  /// `exponentials` (the row's length, not overlapping x or y) takes them instead of y: the
  /// output is then written once, from it, streamed when `row.stream`, and the same bits. A
  /// row of one chunk then leaves its streaming stores unfenced: the caller runs many such
  /// rows and fences once (a fence per row of 1024 waits for each row's stores to drain
  /// before the next row can start). `next` (the row's length, or nil) is the input of the
  /// row computed after this one, asked for before the output pass of a row of one chunk.
  static func threePassReload(
    _ row: RowPlan<Float>, exponentials: UnsafeMutablePointer<Float>? = nil,
    next: UnsafePointer<Float>? = nil
  ) {
    let stored = exponentials ?? row.y
    if row.chunks.count == 1 && singleChunkReload(row, stored, next: next) { return }
    withUnsafeTemporaryAllocation(of: OnlineSum.self, capacity: row.chunks.count) { parts in
      var first = ChunkPass(.maximumAndStoreExp)
      first.results = UnsafeMutableRawPointer(parts.baseAddress!)
      RowPlan(x: row.x, y: stored, count: row.count, threads: row.threads, kernels: row.kernels)
        .perform(first)
      var maximum = -Float.infinity
      var finiteParts = true
      for (chunk, part) in parts.enumerated() {
        if part.maximum.isFinite && !part.sum.isNaN {
          maximum = Swift.max(maximum, part.maximum)
        } else if part.maximum != -.infinity || part.sum.isNaN {
          finiteParts = false
        } else {
          // −inf: nothing but −inf, or NaN that the maximum kernel skipped (a chunk of NaN
          // alone otherwise became zeros beside finite chunks).
          let range = row.chunks.range(chunk)
          if SpecialValues.census(row.x + range.lowerBound, count: range.count).hasNaN {
            finiteParts = false
          }
        }
      }
      guard finiteParts, maximum > -.infinity else {
        return nonFiniteChunks(row, parts)
      }
      var sum = 0.0
      for part in parts where part.maximum.isFinite {
        sum += rescaledSum(part.sum, from: part.maximum, to: maximum)
      }
      var output = ChunkPass(.scaleChunks, shift: maximum)
      output.inverseSum = 1 / sum
      output.results = UnsafeMutableRawPointer(parts.baseAddress!)
      row.reading(stored).perform(output)
    }
  }

  /// Three-Pass reload of a row of one chunk with a finite maximum, the kernels called
  /// directly: the same three calls and the same scale, Float(1 / Σ), as the chunked path
  /// makes for one chunk, so the same bits, without its per-call bookkeeping (about a third of
  /// a 1024-element call: BENCHMARKS.md, "Against XNNPACK"). The exponentials go to `stored`
  /// (y or a scratch). The kernel set's `reloadRow` makes the three calls itself when the
  /// exponentials go to y and no next row is to be prefetched. False, having written nothing,
  /// when the maximum is not finite: the chunked path then applies the contract.
  private static func singleChunkReload(
    _ row: RowPlan<Float>, _ stored: UnsafeMutablePointer<Float>, next: UnsafePointer<Float>?
  ) -> Bool {
    // Once per row of a batch: no retain of the table (see `RowPlan.table`).
    row.table._withUnsafeGuaranteedRef { singleChunkReload(row, $0, stored, next: next) }
  }

  private static func singleChunkReload(
    _ row: RowPlan<Float>, _ kernels: PassKernels, _ stored: UnsafeMutablePointer<Float>,
    next: UnsafePointer<Float>?
  ) -> Bool {
    let (x, y, n) = (row.x, row.y, row.count)
    if let reloadRow = kernels.reloadRow, stored == y, next == nil {
      return reloadRow(x, y, n, row.stream ? 1 : 0) != 0
    }
    var maximum: Float = 0
    var spread = -Float.infinity
    let sum: Double
    if let reloadSum = kernels.reloadSum {
      sum = reloadSum(x, stored, n, &maximum, &spread)
      guard maximum.isFinite else { return false }
    } else {
      maximum = kernels.max(x, n)
      guard maximum.isFinite else { return false }
      sum = kernels.sumAndStoreExp(x, stored, n, maximum)
    }
    // NaN (the maximum kernel skips it) reaches the sum; y may hold exponentials by now.
    guard !sum.isNaN else {
      SpecialValues.writeNaN(y, count: n)
      return true
    }
    let scale = Float(1 / sum)
    // Streamed outputs fill the store buffer, and the bookkeeping of the next row waits for it
    // to drain: its input is asked for first, so that reading overlaps that wait.
    if let next { softmax_prefetch(next, n * MemoryLayout<Float>.stride) }
    kernels.scale(
      stored, y, n, scale, flushThreshold(inverseSum: scale, spread: spread), row.stream)
    if row.stream && stored == y { kernels.storeFence() }
    return true
  }

  /// The non-finite contract after the chunked first pass of Three-Pass reload: finite chunks
  /// hold exponentials in y (their input may be gone), the others are untouched.
  private static func nonFiniteChunks(
    _ row: RowPlan<Float>, _ parts: UnsafeMutableBufferPointer<OnlineSum>
  ) {
    var infinities = 0
    for (chunk, part) in parts.enumerated() {
      if part.sum.isNaN || part.maximum.isNaN {
        return SpecialValues.writeNaN(row.y, count: row.count)
      }
      guard !part.maximum.isFinite else { continue }
      let range = row.chunks.range(chunk)
      let census = SpecialValues.census(row.x + range.lowerBound, count: range.count)
      if census.hasNaN { return SpecialValues.writeNaN(row.y, count: row.count) }
      infinities += census.infinities
    }
    for (chunk, part) in parts.enumerated() {
      let range = row.chunks.range(chunk)
      if part.maximum.isFinite {
        // Finite chunks hold exponentials now; none of their entries is +inf.
        (row.y + range.lowerBound).update(repeating: 0, count: range.count)
      } else {
        SpecialValues.writeShares(
          row.x + range.lowerBound, row.y + range.lowerBound, count: range.count,
          infinities: infinities, output: .probabilities)
      }
    }
  }

  /// Three-Pass reload after pass 1 gave the row's `maximum`.
  static func threePassReload(_ row: RowPlan<Float>, maximum max: Float) {
    guard finite(max, row) else { return }
    let sum = row.reduce(ChunkPass(.sumAndStoreExp, shift: max), as: Double.self, merge: +)
    guard !sum.isNaN else { return row.y.update(repeating: .nan, count: row.count) }
    var output = ChunkPass(.scale)
    output.scale = Float(1 / sum)
    output.threshold = flushThreshold(inverseSum: output.scale)
    row.reading(row.y).perform(output)
  }

  /// Online softmax: pass 1 gives each chunk's maximum and Σ e^(x − maximum) in one read, merged
  /// in chunk order by rescaling to the larger maximum in Double; pass 2 is Three-Pass
  /// recompute's output pass.
  static func online(_ row: RowPlan<Float>) {
    online(
      row, total: row.reduce(ChunkPass(.onlineSum), as: OnlineSum.self) { $0.merged(with: $1) })
  }

  /// The online softmax after pass 1 gave `total`.
  static func online(_ row: RowPlan<Float>, total: OnlineSum) {
    // +inf, or only −inf: the non-finite contract (it also handles NaN in such rows).
    guard total.maximum.isFinite else {
      return SpecialValues.apply(row.x, row.y, count: row.count, output: .probabilities)
    }
    guard !total.sum.isNaN else { return row.y.update(repeating: .nan, count: row.count) }
    var output = ChunkPass(.expScaledOutput, shift: total.maximum)
    output.scale = Float(1 / total.sum)
    output.threshold = flushThreshold(inverseSum: output.scale)
    row.perform(output)
  }

  /// The row maximum, merged so that a NaN chunk maximum reaches the caller's finiteness check.
  private static func maximum(_ row: RowPlan<Float>) -> Float {
    row.reduce(ChunkPass(.maximum), as: Float.self, merge: maximumKeepingNaN)
  }

  /// Whether `max` is finite; otherwise writes the non-finite contract's result.
  private static func finite(_ max: Float, _ row: RowPlan<Float>) -> Bool {
    guard max.isFinite else {
      SpecialValues.apply(row.x, row.y, count: row.count, output: .probabilities)
      return false
    }
    return true
  }
}

/// The larger of two maximums, NaN when either is NaN.
func maximumKeepingNaN(_ a: Float, _ b: Float) -> Float {
  a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
}
