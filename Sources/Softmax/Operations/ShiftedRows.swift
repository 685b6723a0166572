internal import SoftmaxKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// Float rows with a temperature T ≠ 1, and log-softmax rows with options, computed after a
// shift. The softmax of x / T equals that of (x − s) / T for any s, and the second is what a
// Float can hold exactly: a quotient x / T of 1500 rounded to Float is off by up to 6e-5, which
// moves every probability by that much relatively (logits of 15 at T = 0.01), and a quotient
// beyond 3.4e38 is ±inf, where the softmax of tiny temperatures must tend to the argmax. So
// each chunk takes s = its largest kept logit, read once before its blocks, and writes
// (x − s) / T + bias computed in Double and rounded once: 0 at the chunk's maximum, exact to
// the last rounding near it, −inf only where the probability is 0. For log-softmax the
// maximum's own term is then exactly 1, so log Σ is at least the maximum: no log-probability
// is positive, and a row with one element kept gives exactly 0.
//
// Rows of up to 2^17 elements take one shift for the whole row and then the usual fused
// passes (`FloatSoftmax.fusedRow`), so `algorithm` applies. Longer rows come here, whatever
// the algorithm: each chunk's sum is a pair relative to its own shift; they merge
// as `SoftmaxNormalizer`s whose shifts are s / T in Double, and the output pass gives each
// chunk the total relative to its shift. No pass is added: a chunk's maximum reads it (at most
// 2^16 elements, or 1/64 of the row) before its blocks read it again from L2.

extension SoftmaxRows where Element == Float {
  /// The row `x` (`kept` elements) after its shifts into `y`: true when done, false when the
  /// row needs the general path (a +inf or NaN sink: checked before anything is written).
  func shiftedRow(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, kept: Int, length: Int,
    transform: LogitTransform, threads: Int
  ) -> Bool {
    if let sink = settings.sink, !(sink < .infinity) { return false }
    let row = RowPlan(x: x, y: y, count: kept, threads: threads, kernels: kernels)
    let chunks = row.chunks.count
    // Per chunk: its Two-Pass sum (a `ChunkFirstPass`) and its shift as a logit, in Double;
    // after them, the total's shift and the rest of its logarithm, for the output pass.
    return withUnsafeTemporaryAllocation(of: ChunkFirstPass.self, capacity: chunks) { sums in
      withUnsafeTemporaryAllocation(of: Double.self, capacity: chunks + 2) { shifts in
        var first = ChunkPass(.shiftedFirstPass)
        first.transform = transform
        first.results = UnsafeMutableRawPointer(sums.baseAddress!)
        first.shifts = shifts.baseAddress!
        row.perform(first)
        finish(y, kept: kept, length: length, sums: sums, shifts: shifts, threads: threads)
        return true
      }
    }
  }

  /// The output of a row whose chunks have run `.shiftedFirstPass`.
  private func finish(
    _ y: UnsafeMutablePointer<Float>, kept: Int, length: Int,
    sums: UnsafeMutableBufferPointer<ChunkFirstPass>, shifts: UnsafeMutableBufferPointer<Double>,
    threads: Int
  ) {
    let effective = RowPlan(x: y, y: y, count: kept, threads: threads, kernels: kernels)
    var total = SoftmaxNormalizer()
    for (part, shift) in zip(sums, shifts.prefix(sums.count)) {
      if part.sum.mantissa.isNaN {
        return SpecialValues.writeNaN(y, count: kept)
      }
      // Nothing but −inf (which pass 1 clamps to −2800): after the shift, a kept finite value
      // is at least the chunk's largest, 0.
      let lowest = ScaledExpSum.exactExponentRange.lowerBound
      guard part.sum.mantissa > 0 && part.sum.exponent >= lowest else { continue }
      guard part.sum.isExact else {
        // After the shifts only +inf effective logits leave the pair range: they share the mass.
        var infinities = 0
        for i in 0..<kept where y[i] == .infinity { infinities += 1 }
        return SpecialValues.writeShares(
          y, y, count: kept, infinities: infinities, output: settings.output)
      }
      total.merge(
        SoftmaxNormalizer(
          shift: shift, mantissa: part.sum.mantissa, exponent: Double(part.sum.exponent),
          infinityCount: 0))
    }
    if let sink = settings.sink, sink > -.infinity {
      total.merge(
        SoftmaxNormalizer(
          shift: sink / settings.temperature, mantissa: 1, exponent: 0, infinityCount: 0))
    }
    guard total.mantissa > 0 else {
      // Nothing but −inf: the policy's NaN, or the contract's zeros (−inf for logarithms).
      if settings.nanIfEmpty { return y.update(repeating: .nan, count: length) }
      _ = total.plan(effective, output: settings.output)
      return
    }
    // Kept out of the ChunkPass, which grew past what Swift copies without memmove.
    shifts[sums.count] = total.shift
    shifts[sums.count + 1] = total.exponent * ln2 + log(total.mantissa)
    var output = ChunkPass(
      settings.output == .logProbabilities ? .shiftedLogOutput : .shiftedOutput)
    output.results = UnsafeMutableRawPointer(sums.baseAddress!)
    output.shifts = shifts.baseAddress!
    effective.perform(output)
  }
}

extension ChunkPass {
  /// `.shiftedFirstPass` over one chunk: its largest kept logit s (and with an additive mask,
  /// the largest (x − s) / T + bias, the offset o), then block by block (x − s) / T + (bias − o)
  /// into y and its Two-Pass sum. Stores the sum, and the shift s / T + o.
  func shiftedFirstPass(_ row: RowPlan<Float>, _ range: Range<Int>, chunk: Int) {
    let k = row.kernels
    let shifted = transform.shifted(over: row, range)
    var sum = ScaledExpSum.zero
    forEachBlock(range) { start, n in
      k.effectiveLogits(
        row.x + start, row.y + start, n, shifted.divisor, shifted.shift, shifted.offset,
        shifted.keep.map { $0 + start }, shifted.bias.map { $0 + start })
      sum = sum.merged(with: k.twoPassSum(row.y + start, n))
    }
    store(ChunkFirstPass(sum: sum, maximum: shifted.shift), chunk)
    shifts![chunk] = shifted.logitShift
  }

  /// `body(start, count)` for the summation blocks of `range`, in order.
  private func forEachBlock(_ range: Range<Int>, _ body: (Int, Int) -> Void) {
    var start = range.lowerBound
    while start < range.upperBound {
      let n = Swift.min(sumBlockSize, range.upperBound - start)
      body(start, n)
      start += n
    }
  }

  /// `.shiftedOutput` over one chunk of the effective logits (`row.x`): the softmax or
  /// log-softmax within the row's total (after the chunks' shifts), relative to the chunk's.
  func shiftedOutput(_ row: RowPlan<Float>, _ range: Range<Int>, chunk: Int) {
    let part = results!.assumingMemoryBound(to: ChunkFirstPass.self)[chunk]
    let x = row.x + range.lowerBound
    let y = row.y + range.lowerBound
    let n = range.count
    // log Σ over the row − the chunk's shift, shifts first, so that huge ones cancel exactly.
    let chunks = row.chunks.count
    let relative = (shifts![chunks] - shifts![chunk]) + shifts![chunks + 1]
    if kind == .shiftedLogOutput {
      let high = Float(relative)
      // In place, as below: streaming stores from the same cut.
      row.kernels.logSoftmaxOutput(x, y, n, 0, high, Float(relative - Double(high)), row.stream)
      return
    }
    guard part.sum.mantissa > 0 else { return y.update(repeating: 0, count: n) }
    // The total as a pair on the chunk's own exponent (its largest term's), with a mantissa at
    // least the chunk's: the output kernel's exponents then stay ≤ 0, as after pass 1.
    let own = Double(part.sum.exponent) * ln2 + log(part.sum.mantissa)
    let ratio = Swift.max(0, relative - own)
    // Every output below the smallest subnormal.
    guard ratio < 110 else { return y.update(repeating: 0, count: n) }
    let pair = ScaledExpSum(mantissa: part.sum.mantissa * exp(ratio), exponent: part.sum.exponent)
    let (inverseMantissa, exponentBias) = pair.outputParameters
    // In place over what pass 1 wrote, still in the caches for all but huge rows: streaming
    // stores only from the cut of reload's in-place rescaling (`RowPlan.stream`). With them
    // from 2^15, 8 × 128256 at T = 0.7 took 1.6–2.1 ms against 1.0–1.2 before this path.
    row.kernels.twoPassOutput(x, y, n, inverseMantissa, exponentBias, row.stream)
  }
}

extension LogitTransform {
  /// The transform with the shift of `range` of `row.x`: its largest kept finite logit s
  /// (T > 0 keeps the order; 0 when the largest is NaN or nothing finite is kept), and with an
  /// additive mask the largest (x − s) / T + bias as the offset. Reads the range (through a
  /// stack block of 256 where a mask must be applied, since the output may be the input).
  ///
  /// Beside a kept +inf the shift is the largest finite logit, not 0: +inf entries share the
  /// mass whatever the temperature, and every finite logit gets 0, but an unshifted huge one
  /// at a tiny T (2.5e17 / 1e-30) rounds to +inf and would take a share (the kernel fuzzer's
  /// input of 2026-12-01).
  func shifted(over row: RowPlan<Float>, _ range: Range<Int>) -> LogitTransform {
    var shifted = self
    let largest = largestEffective(row, range, divisor: 1, shift: 0, bias: nil)
    shifted.shift =
      largest.isFinite ? largest : (largest == .infinity ? largestFinite(row, range) : 0)
    if let bias {
      let lifted = largestEffective(row, range, divisor: divisor, shift: shifted.shift, bias: bias)
      if lifted.isFinite { shifted.offset = lifted }
    }
    return shifted
  }

  /// The largest finite logit of `range` that the keep mask keeps, or 0 when there is none: a
  /// plain loop, for the rare rows that hold +inf.
  private func largestFinite(_ row: RowPlan<Float>, _ range: Range<Int>) -> Float {
    var largest = -Float.infinity
    for i in range where row.x[i].isFinite && row.x[i] > largest && keep.map({ $0[i] }) ?? true {
      largest = row.x[i]
    }
    return largest.isFinite ? largest : 0
  }

  /// The logit that the shift and offset subtract: shift / T + offset, in Double.
  var logitShift: Double { Double(shift) / Double(divisor) + Double(offset) }

  /// The largest (x − shift) / divisor + bias of `range` that the keep mask keeps: the maximum
  /// kernel's value (NaN, or skipping it), −inf when nothing is kept.
  private func largestEffective(
    _ row: RowPlan<Float>, _ range: Range<Int>, divisor: Float, shift: Float,
    bias: UnsafePointer<Float>?
  ) -> Float {
    let k = row.kernels
    if keep == nil && bias == nil && divisor == 1 && shift == 0 {
      return k.max(row.x + range.lowerBound, range.count)
    }
    return withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { scratch in
      let block = scratch.baseAddress!
      var largest = -Float.infinity
      var start = range.lowerBound
      while start < range.upperBound {
        let n = Swift.min(256, range.upperBound - start)
        k.effectiveLogits(
          row.x + start, block, n, divisor, shift, 0, keep.map { $0 + start },
          bias.map { $0 + start })
        largest = maximumKeepingNaN(largest, k.max(block, n))
        start += n
      }
      return largest
    }
  }
}
