#if arch(x86_64)
  internal import _SoftmaxCKernels
#endif

/// The kernels of token selection (sampling), in every kernel table: the mass and count of a
/// row above eight cut points, and the compaction of the entries inside a band of values.
/// NaN entries fail every comparison: they are never counted or gathered. Rows have fewer
/// than 2^31 entries (indices are 32-bit).
package struct SelectionKernels: Sendable {
  /// For each of eight cuts c_j: Σ e_i and the count over the entries with x_i ≥ c_j:
  /// (x, e, count, cuts, masses out, counts out).
  package let bandMasses:
    @Sendable (
      UnsafePointer<Float>, UnsafePointer<Float>, Int, UnsafePointer<Float>,
      UnsafeMutablePointer<Double>, UnsafeMutablePointer<Int64>
    ) -> Void
  /// Writes, in order, the entries with lo ≤ x_i < hi: values to outX, indices (index[i], or
  /// i without an index) to outIndex, and e_i to outE when e and outE are given; returns how
  /// many. Each output needs room for 16 more than that: (x, e, index, count, lo, hi, outX,
  /// outE, outIndex).
  package let gatherBand:
    @Sendable (
      UnsafePointer<Float>, UnsafePointer<Float>?, UnsafePointer<Int32>?, Int, Float, Float,
      UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Int32>
    ) -> Int

  /// Σ e_i and the count over the entries with x_i ≥ cut: (x, e, count, cut).
  package let massAbove:
    @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, Int, Float) -> (mass: Double, count: Int)

  /// One read of a row for a first bracket: gathers lo ≤ x < hi like `gatherBand` (row
  /// indices, values and e) and returns the count with Σ e and the count over x ≥ hi and Σ e
  /// over the band: (x, e, count, lo, hi, outX, outE, outIndex) → (count, above mass, above
  /// count, band mass).
  package let bracketBand:
    @Sendable (
      UnsafePointer<Float>, UnsafePointer<Float>, Int, Float, Float, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>
    ) -> (count: Int, aboveMass: Double, aboveCount: Int, bandMass: Double)

  /// Σ e^((x − shift)/T), storing each term into y (which may be x): (x, y, count, shift, T)
  /// with 2^-126 ≤ T (1/T finite). The AVX-512 kernel carries the quotient to about 2^-45 in
  /// one read; the portable one rounds it to Float once (the effective-logits kernel), then
  /// takes the exponentials, in two.
  package let temperedExps:
    @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float) -> Double

  /// `temperedExps` and `bracketBand` in one read, for a bracket guessed before the total is
  /// known: Σ e^((x − shift)/T) stored into y (not x), and the entries with lo ≤ x < hi
  /// gathered with the masses above and inside: (x, y, count, shift, T, lo, hi, outX, outE,
  /// outIndex) → (total, count, above mass, above count, band mass). Nil in sets without a
  /// fused kernel: the sampler then runs the two.
  package var exponentialsAndBracket:
    (
      @Sendable (
        UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Float, Float,
        UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>
      ) -> (total: Double, count: Int, aboveMass: Double, aboveCount: Int, bandMass: Double)
    )? =
      nil

  /// The portable Swift `SIMD16<Float>` kernels.
  package static let portable = SelectionKernels(
    bandMasses: { bandMasses_simd16($0, $1, count: $2, cuts: $3, masses: $4, counts: $5) },
    gatherBand: {
      gatherBand_scalar(
        $0, $1, $2, count: $3, low: $4, high: $5, outX: $6, outE: $7, outIndex: $8)
    },
    massAbove: { massAbove_simd16($0, $1, count: $2, cut: $3) },
    bracketBand: { x, e, n, low, high, outX, outE, outIndex in
      let kept = gatherBand_scalar(
        x, e, nil, count: n, low: low, high: high, outX: outX, outE: outE, outIndex: outIndex)
      var bandMass = 0.0
      for i in 0..<kept { bandMass += Double(outE[i]) }
      let above = massAbove_simd16(x, e, count: n, cut: high)
      return (kept, above.mass, above.count, bandMass)
    },
    temperedExps: { x, y, n, shift, temperature in
      // The quotient in Double, rounded once, then the exponentials: two passes.
      effectiveLogits_simd16(
        x, y, count: n, divisor: temperature, shift: shift, offset: 0, keep: nil, bias: nil)
      return sumAndStoreExp_simd16_acc2(UnsafePointer(y), y, count: n, shift: 0)
    })

  #if arch(x86_64)
    /// The AVX-512 C kernels (`avx512_selection_kernels.c`).
    package static let avx512 = SelectionKernels(
      bandMasses: { softmax_band_masses_avx512_u16($0, $1, $2, $3, $4, $5) },
      gatherBand: { softmax_gather_band_avx512_u16($0, $1, $2, $3, $4, $5, $6, $7, $8) },
      massAbove: { x, e, n, cut in
        var count: Int64 = 0
        let mass = softmax_mass_above_avx512_u32(x, e, n, cut, &count)
        return (mass, Int(count))
      },
      bracketBand: { x, e, n, low, high, outX, outE, outIndex in
        var aboveMass = 0.0
        var aboveCount: Int64 = 0
        var bandMass = 0.0
        let kept = softmax_bracket_band_avx512_u16(
          x, e, n, low, high, outX, outE, outIndex, &aboveMass, &aboveCount, &bandMass)
        return (kept, aboveMass, Int(aboveCount), bandMass)
      },
      temperedExps: { x, y, n, shift, temperature in
        let inverse = 1 / Double(temperature)
        let hi = Float(inverse)
        let lo = Float(inverse - Double(hi))
        return softmax_tempered_sumexp_store_avx512_u16(x, y, n, shift, hi, lo)
      },
      exponentialsAndBracket: { x, y, n, shift, temperature, low, high, outX, outE, outIndex in
        let inverse = 1 / Double(temperature)
        let hi = Float(inverse)
        let lo = Float(inverse - Double(hi))
        var kept = 0
        var aboveMass = 0.0
        var aboveCount: Int64 = 0
        var bandMass = 0.0
        let total = softmax_tempered_exps_bracket_avx512_u16(
          x, y, n, shift, hi, lo, low, high, outX, outE, outIndex, &kept, &aboveMass,
          &aboveCount, &bandMass)
        return (total, kept, aboveMass, Int(aboveCount), bandMass)
      })
  #endif
}

/// Eight cuts' masses and counts, 16 lanes at a time; Float lane sums over blocks of 1024
/// entries (each term at most 1 for a sampler's e^(x − max)), added in Double.
package func bandMasses_simd16(
  _ x: UnsafePointer<Float>, _ e: UnsafePointer<Float>, count n: Int,
  cuts: UnsafePointer<Float>, masses: UnsafeMutablePointer<Double>,
  counts: UnsafeMutablePointer<Int64>
) {
  var total = SIMD8<Double>(repeating: 0)
  var tally = SIMD8<Int64>(repeating: 0)
  var start = 0
  while start < n {
    let end = Swift.min(n, start + 1024)
    // One cut at a time over the block: it stays in L1, and no lane array is allocated.
    for j in 0..<8 {
      let cut = SIMD16<Float>(repeating: cuts[j])
      var sum = SIMD16<Float>(repeating: 0)
      var number = SIMD16<Int32>(repeating: 0)
      var i = start
      while i + 16 <= end {
        let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
        let ev = UnsafeRawPointer(e + i).loadUnaligned(as: SIMD16<Float>.self)
        let mask = xv .>= cut
        sum += SIMD16(repeating: 0).replacing(with: ev, where: mask)
        number &+= SIMD16(repeating: 0).replacing(with: 1, where: mask)
        i += 16
      }
      var mass = Double(sum.sum())
      var count = Int64(number.wrappedSum())
      for k in i..<end where x[k] >= cuts[j] {
        mass += Double(e[k])
        count += 1
      }
      total[j] += mass
      tally[j] += count
    }
    start = end
  }
  for j in 0..<8 {
    masses[j] = total[j]
    counts[j] = tally[j]
  }
}

/// Σ e and the count over x ≥ cut, 16 lanes at a time, Float lane sums per 1024 entries
/// added in Double.
package func massAbove_simd16(
  _ x: UnsafePointer<Float>, _ e: UnsafePointer<Float>, count n: Int, cut: Float
) -> (mass: Double, count: Int) {
  let c = SIMD16<Float>(repeating: cut)
  var total = 0.0
  var number = 0
  var start = 0
  while start < n {
    let end = Swift.min(n, start + 1024)
    var sum = SIMD16<Float>(repeating: 0)
    var counts = SIMD16<Int32>(repeating: 0)
    var i = start
    while i + 16 <= end {
      let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
      let ev = UnsafeRawPointer(e + i).loadUnaligned(as: SIMD16<Float>.self)
      let mask = xv .>= c
      sum += SIMD16(repeating: 0).replacing(with: ev, where: mask)
      counts &+= SIMD16(repeating: 0).replacing(with: 1, where: mask)
      i += 16
    }
    var mass = Double(sum.sum())
    number += Int(counts.wrappedSum())
    for k in i..<end where x[k] >= cut {
      mass += Double(e[k])
      number += 1
    }
    total += mass
    start = end
  }
  return (total, number)
}

/// The band's entries one at a time, in order.
package func gatherBand_scalar(
  _ x: UnsafePointer<Float>, _ e: UnsafePointer<Float>?, _ index: UnsafePointer<Int32>?,
  count n: Int, low: Float, high: Float, outX: UnsafeMutablePointer<Float>,
  outE: UnsafeMutablePointer<Float>?, outIndex: UnsafeMutablePointer<Int32>
) -> Int {
  var kept = 0
  for i in 0..<n where x[i] >= low && x[i] < high {
    outX[kept] = x[i]
    outIndex[kept] = index?[i] ?? Int32(truncatingIfNeeded: i)
    if let e, let outE { outE[kept] = e[i] }
    kept += 1
  }
  return kept
}
