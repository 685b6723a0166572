// Double-precision softmax kernels, portable Swift SIMD8<Double>: the exp and the three passes
// of Three-Pass reload (maximum; e^(x − max) stored while summing; scaling).

/// The vector type of the Double kernels: 8 lanes, one zmm register with AVX-512, four xmm
/// registers on baseline x86-64.
typealias DoubleVector = SIMD8<Double>

/// e^x for x ≤ 0 in Double, within about 2 ulp: n = round(x · log2 e), a two-part Cody–Waite
/// reduction (the first part has 32 significant bits, so n · ln2Hi is exact for |n| < 2^21) and
/// the Taylor polynomial of degree 13 (truncation below 5e-18 on [−ln2/2, ln2/2]). Results
/// below e^-707 (about 1e-307) are 0, never subnormal; −inf gives 0; NaN stays NaN.
@_transparent
func expOfNonPositiveDouble(_ x: DoubleVector) -> DoubleVector {
  let xc = x.replacing(with: -708.0, where: x .< -708.0)
  let magic = 0x1.8p52
  let biased = xc * 0x1.71547652B82FEp0 + magic
  let n = biased - magic
  var t = xc - n * 0x1.62E42FEFA0000p-1
  t = t - n * 0x1.CF79ABC9E3B3Ap-40
  var p = DoubleVector(repeating: 1.0 / 6_227_020_800)
  p = p * t + 1.0 / 479_001_600
  p = p * t + 1.0 / 39_916_800
  p = p * t + 1.0 / 3_628_800
  p = p * t + 1.0 / 362_880
  p = p * t + 1.0 / 40_320
  p = p * t + 1.0 / 5_040
  p = p * t + 1.0 / 720
  p = p * t + 1.0 / 120
  p = p * t + 1.0 / 24
  p = p * t + 1.0 / 6
  p = p * t + 0.5
  p = p * t + 1
  p = p * t + 1
  let m = p.replacing(with: 0, where: x .< -707.0)
  // 2^n through the exponent field: n ∈ [−1022, 0].
  // The low bits of `biased` hold n (two's complement, below the 1.5 · 2^52 of the magic).
  let bits =
    (unsafeBitCast(biased, to: SIMD8<Int64>.self)
      &- unsafeBitCast(
        DoubleVector(repeating: magic), to: SIMD8<Int64>.self) &+ 1023) &<< 52
  return m * unsafeBitCast(bits, to: DoubleVector.self)
}

extension UnsafePointer where Pointee == Double {
  @_transparent
  func loadDoubles(at offset: Int, count: Int, padding: Double) -> DoubleVector {
    if count >= 8 { return UnsafeRawPointer(self + offset).loadUnaligned(as: DoubleVector.self) }
    var v = DoubleVector(repeating: padding)
    for lane in 0..<count { v[lane] = self[offset + lane] }
    return v
  }
}

@_transparent
func storeDoubles(_ v: DoubleVector, _ p: UnsafeMutablePointer<Double>, count: Int) {
  if count >= 8 {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: DoubleVector.self)
  } else {
    for lane in 0..<count { p[lane] = v[lane] }
  }
}

/// The largest element (−inf for none); a NaN may or may not be reported.
package func maxDouble_simd8(_ x: UnsafePointer<Double>, count: Int) -> Double {
  var a = DoubleVector(repeating: -.infinity)
  var i = 0
  while i < count {
    let v = x.loadDoubles(at: i, count: count - i, padding: -.infinity)
    a = a.replacing(with: v, where: v .> a)
    i += 8
  }
  return a.max()
}

/// Elements per summation block of the Double row kernels. Within a block, two `SIMD8<Double>`
/// accumulators take alternate vectors, so each lane adds about 64 terms (65 at most, with a
/// partial tail) and then 4 more in the reduction to one Double: the block sum is within a
/// relative 69 · 2^-53 ≈ 7.7e-15 of its nonnegative terms' exact sum however long the row. Block sums go into a
/// `CompensatedSum`, whose own error stays near one ulp, so the row's sum error is bounded by
/// the block length rather than the row length. The reduction and the compensated addition
/// cost about 15 operations per 1024 exponentials.
package let doubleSumBlockLength = 1024

/// Σ e^(x_i − shift), storing each term into y (which may be x): blocks of
/// `doubleSumBlockLength` summed in the vector lanes, block sums added into a compensated
/// total. NaN inputs make it NaN.
package func sumAndStoreExpDouble_simd8(
  _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int, shift: Double
) -> CompensatedSum<Double> {
  blockedExpSum(x, y, count: count, shift: shift)
}

/// Σ e^(x_i − shift) without storing the terms, summed as `sumAndStoreExpDouble_simd8` sums
/// them (the same blocks and lanes, so bitwise the same total). NaN inputs make it NaN.
package func sumExpDouble_simd8(_ x: UnsafePointer<Double>, count: Int, shift: Double)
  -> CompensatedSum<Double>
{
  blockedExpSum(x, nil, count: count, shift: shift)
}

/// The blocks of both sums above, each block's sum added into a compensated total.
@_transparent
package func blockedExpSum(
  _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>?, count: Int, shift: Double
) -> CompensatedSum<Double> {
  var total = CompensatedSum<Double>.zero
  var start = 0
  while start < count {
    let end = Swift.min(count, start + doubleSumBlockLength)
    total.add(expBlockSum(x, y, from: start, to: end, shift: shift))
    start = end
  }
  return total
}

/// Σ e^(x_i − shift) over x[start..<end] (at most one block) in two vector accumulators,
/// storing the terms into y when it is not nil. Even vectors go to the first accumulator,
/// odd ones to the second, the partial tail vector to the first.
@_transparent
func expBlockSum(
  _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>?, from start: Int, to end: Int,
  shift: Double
) -> Double {
  var s0 = DoubleVector(repeating: 0)
  var s1 = s0
  var i = start
  while i + 16 <= end {
    let e0 = expOfNonPositiveDouble(
      UnsafeRawPointer(x + i).loadUnaligned(as: DoubleVector.self) - shift)
    let e1 = expOfNonPositiveDouble(
      UnsafeRawPointer(x + i + 8).loadUnaligned(as: DoubleVector.self) - shift)
    if let y {
      UnsafeMutableRawPointer(y + i).storeBytes(of: e0, as: DoubleVector.self)
      UnsafeMutableRawPointer(y + i + 8).storeBytes(of: e1, as: DoubleVector.self)
    }
    s0 += e0
    s1 += e1
    i += 16
  }
  while i < end {
    let e = expOfNonPositiveDouble(
      x.loadDoubles(at: i, count: end - i, padding: -.infinity) - shift)
    if let y { storeDoubles(e, y + i, count: end - i) }
    s0 += e
    i += 8
  }
  return (s0 + s1).sum()
}

/// y_i *= scale, with y_i below `threshold` written as 0 (no subnormal result).
package func scaleDouble_simd8(
  _ y: UnsafeMutablePointer<Double>, count: Int, scale: Double, threshold: Double
) {
  var i = 0
  while i < count {
    let e = UnsafePointer(y).loadDoubles(at: i, count: count - i, padding: 0)
    storeDoubles(e.replacing(with: 0, where: e .< threshold) * scale, y + i, count: count - i)
    i += 8
  }
}

/// The output pass of a normalized Double row whose log Σ is shift + logSum: y_i =
/// (x_i − shift) − logSum for log-probabilities, or e^((x_i − shift) − logSum) for
/// probabilities (each exponent at most about 0, as x_i ≤ log Σ; results below e^-707 are 0,
/// never subnormal). The first subtraction is exact near the maximum (Sterbenz), so entries
/// near the top keep full precision for logits of any magnitude. `y` may be `x`.
package func normalizedOutputDouble_simd8(
  _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int, shift: Double,
  logSum: Double, output: RowOutput
) {
  var i = 0
  while i < count {
    let v = x.loadDoubles(at: i, count: count - i, padding: 0)
    let t = (v - shift) - logSum
    storeDoubles(
      output == .logProbabilities ? t : expOfNonPositiveDouble(t), y + i, count: count - i)
    i += 8
  }
}

/// The Double exp on one vector, for tests.
package func vectorExpOfNonPositiveDouble(_ x: SIMD8<Double>) -> SIMD8<Double> {
  expOfNonPositiveDouble(x)
}
