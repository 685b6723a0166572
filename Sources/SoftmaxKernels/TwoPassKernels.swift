// The two passes of the Two-Pass algorithm (Dukhan & Ablavatski, 2020), portable Swift SIMD.
//
// Pass 1 sums e^x as (mantissa, exponent) pairs: each accumulator lane keeps the largest
// exponent it has seen and rescales by an exact power of two whenever it grows. Pass 2 writes
// y = m · (1/M) · 2^(n − N) from the total (M, N). Neither pass needs the row's maximum.

/// Elements per block of pass 1. Blocks are summed in Float vectors and then added in Double,
/// which bounds the rounding error by about (blockSize/32 + count/blockSize) ulp instead of
/// count/32 ulp for one long Float accumulation.
package var sumBlockSize: Int { 4096 }

/// `block(start, length)` for every block of `sumBlockSize` elements of a row of `count`,
/// merged in order: the blocking rule that every pass-1 sum shares.
@inline(__always)
func mergeBlocks<Partial>(
  count: Int, from empty: Partial, _ block: (Int, Int) -> Partial,
  merge: (Partial, Partial) -> Partial
) -> Partial {
  var total = empty
  var start = 0
  while start < count {
    let length = Swift.min(sumBlockSize, count - start)
    total = merge(total, block(start, length))
    start += length
  }
  return total
}

/// One vector accumulator: per lane, Σ m · 2^(n − exponent).
struct PairAccumulator {
  var mantissa = FloatVector(repeating: 0)
  var exponent = FloatVector(repeating: -.greatestFiniteMagnitude)

  @_transparent
  mutating func add(mantissa m: FloatVector, exponent n: FloatVector) {
    let e = exponent.replacing(with: n, where: n .> exponent)
    mantissa =
      mantissa * exp2OfNonPositiveInteger(exponent - e) + m * exp2OfNonPositiveInteger(n - e)
    exponent = e
  }

  @_transparent
  mutating func add(_ other: PairAccumulator) {
    add(mantissa: other.mantissa, exponent: other.exponent)
  }

  /// The lanes reduced to one scalar pair.
  @_transparent
  func total() -> ScaledExpSum {
    let e = exponent.max()
    let m = (mantissa * exp2OfNonPositiveInteger(exponent - e)).sum()
    return ScaledExpSum(mantissa: Double(m), exponent: e)
  }
}

/// Pass 1 over one block (count ≤ sumBlockSize), two accumulators of 16 lanes.
@inline(never)
func twoPassSumBlock_simd16_acc2(_ x: UnsafePointer<Float>, count: Int) -> ScaledExpSum {
  var acc0 = PairAccumulator()
  var acc1 = PairAccumulator()
  var i = 0
  while i + 32 <= count {
    let (m0, n0) = extendedExp(x.loadVector(at: i))
    let (m1, n1) = extendedExp(x.loadVector(at: i + 16))
    acc0.add(mantissa: m0, exponent: n0)
    acc1.add(mantissa: m1, exponent: n1)
    i += 32
  }
  while i < count {
    let rest = count - i
    let v =
      rest >= 16
      ? x.loadVector(at: i) : x.loadPartialVector(at: i, count: rest, padding: 0)
    var (m, n) = extendedExp(v)
    if rest < 16 {
      let padded = lanes(from: rest)
      m.replace(with: 0, where: padded)
      n.replace(with: -.greatestFiniteMagnitude, where: padded)
    }
    acc0.add(mantissa: m, exponent: n)
    i += 16
  }
  acc0.add(acc1)
  return acc0.total()
}

/// Pass 1 of Two-Pass: Σ e^(x_i) over the row as a scaled sum. Inputs are clamped to
/// ±`ExpConstants.extendedDomain`; a NaN input makes the mantissa NaN.
package func twoPassSum_simd16_acc2(_ x: UnsafePointer<Float>, count: Int) -> ScaledExpSum {
  mergeBlocks(count: count, from: .zero, { twoPassSumBlock_simd16_acc2(x + $0, count: $1) }) {
    $0.merged(with: $1)
  }
}

/// Pass 2 of Two-Pass: y_i = (m_i · inverseMantissa) · 2^(n_i − exponentBias), with
/// `ScaledExpSum.outputParameters` giving the two constants. Results below about 2^-124 are
/// written as 0, so no subnormal is ever produced. `y` may be `x` (in place).
package func twoPassOutput_simd16(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
  inverseMantissa: Float, exponentBias: Float
) {
  var i = 0
  while i < count {
    let rest = count - i
    let v = rest >= 16 ? x.loadVector(at: i) : x.loadPartialVector(at: i, count: rest, padding: 0)
    let (m, n) = extendedExp(v)
    let out = (m * inverseMantissa) * exp2OfNonPositiveInteger(n - exponentBias)
    if rest >= 16 {
      y.storeVector(out, at: i)
    } else {
      y.storePartialVector(out, at: i, count: rest)
    }
    i += 16
  }
}
