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

  /// The portable Swift `SIMD16<Float>` kernels.
  package static let portable = SelectionKernels(
    bandMasses: { bandMasses_simd16($0, $1, count: $2, cuts: $3, masses: $4, counts: $5) },
    gatherBand: {
      gatherBand_scalar(
        $0, $1, $2, count: $3, low: $4, high: $5, outX: $6, outE: $7, outIndex: $8)
    })

  #if arch(x86_64)
    /// The AVX-512 C kernels (`avx512_selection_kernels.c`).
    package static let avx512 = SelectionKernels(
      bandMasses: { softmax_band_masses_avx512_u16($0, $1, $2, $3, $4, $5) },
      gatherBand: { softmax_gather_band_avx512_u16($0, $1, $2, $3, $4, $5, $6, $7, $8) })
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
