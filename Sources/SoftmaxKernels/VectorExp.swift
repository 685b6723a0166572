// The vector exponential that every softmax kernel is built on.
//
// e^x = 2^n · e^t with n = round(x · log2 e) and t = x − n · ln 2, |t| ≤ ln2/2 (+ rounding).
// The reduction is a three-part Cody–Waite split of ln 2 whose first two parts have 12
// significant bits: for |n| < 2^12 the products n · ln2Hi and n · ln2Mid are exact and
// x − n · ln2Hi is exact by Sterbenz' lemma, so t is accurate to about one ulp without FMA
// (the baseline x86-64 build has none). e^t is a degree-6 polynomial fitted for minimum
// relative error on [−ln2/2, ln2/2]; in Float arithmetic the result stays within 1 ulp of the
// correctly rounded value (2 ulp is the documented and tested bound).

/// The vector type of the portable kernels: 16 lanes, one zmm register with AVX-512, four xmm
/// registers on baseline x86-64 (SSE2), four q registers with NEON.
typealias FloatVector = SIMD16<Float>
typealias BitsVector = SIMD16<UInt32>

/// Constants of the range reduction and of the polynomial.
enum ExpConstants {
  static let log2e: Float = 0x1.715476p+0
  /// Adding 1.5 · 2^23 rounds a Float of magnitude below 2^22 to an integer (ties to even).
  static let roundingMagic: Float = 0x1.8p+23
  /// roundingMagic + 127: the low bits of (n + scaleMagic) hold the biased exponent of 2^n.
  static let scaleMagic: Float = 0x1.8000FEp+23
  static let ln2Hi: Float = 0x1.62Ep-1
  static let ln2Mid: Float = 0x1.0Cp-15
  static let ln2Lo: Float = -0x1.05C61p-29
  /// A two-part split for |n| ≤ 2^9 only: 15 significant bits, so n · ln2HiShort is exact,
  /// and ln2LoShort = ln 2 − ln2HiShort rounded (its error times n stays below 2^-36).
  static let ln2HiShort: Float = 0x1.62E4p-1
  static let ln2LoShort: Float = 0x1.7F7D1Cp-20
  static let c2: Float = 0x1.FFFFFEp-2
  static let c3: Float = 0x1.55548Ap-3
  static let c4: Float = 0x1.5559CAp-5
  static let c5: Float = 0x1.123FA4p-7
  static let c6: Float = 0x1.68405Ap-10

  /// Inputs of `extendedExp` are clamped to ±extendedDomain; within it |n| ≤ 4040 < 2^12, so
  /// the reduction stays exact. Softmax kernels detect rows that reach the clamp.
  static let extendedDomain: Float = 2800
  /// Below this, e^x < 2^-126 · (1 + 2^-10): `exp` returns 0 instead of a subnormal.
  static let expUnderflow: Float = -87.33
  /// At and above this e^x overflows Float (ln(Float.greatestFiniteMagnitude) ≈ 88.72284).
  static let expOverflowClamp: Float = 88.75
}

/// Replaces lanes below `low` or above `high` by the bound; NaN lanes stay NaN, because both
/// comparisons are false for them.
@_transparent
func clamped(_ x: FloatVector, _ low: Float, _ high: Float) -> FloatVector {
  x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
}

/// n = round(x · log2 e) and t = x − n · ln 2 for |x| ≤ 2838 (so that |n| < 2^12).
@_transparent
func reduceForExp(_ x: FloatVector) -> (n: FloatVector, t: FloatVector) {
  let n = (x * ExpConstants.log2e + ExpConstants.roundingMagic) - ExpConstants.roundingMagic
  var t = x - n * ExpConstants.ln2Hi
  t = t - n * ExpConstants.ln2Mid
  t = t - n * ExpConstants.ln2Lo
  return (n, t)
}

/// e^t for |t| ≤ ln2/2 + ε; the result lies in [√½, √2].
@_transparent
func expOfReduced(_ t: FloatVector) -> FloatVector {
  var p = t * ExpConstants.c6 + ExpConstants.c5
  p = p * t + ExpConstants.c4
  p = p * t + ExpConstants.c3
  p = p * t + ExpConstants.c2
  p = p * t
  // 1 + (t + t·p) rounds the small terms first and the leading 1 once, at the end.
  return 1 + (t + t * p)
}

/// 2^d for integer-valued d ≤ 0, with every d < −125 giving exactly 0.
///
/// The cut at −125 rather than −126 keeps products m · 2^d with m ≥ √½ normal, so no kernel
/// ever creates a subnormal number (each one would cost a microcode assist on x86 when the
/// caller has not enabled flush-to-zero). d may be any value, even −inf or huge; NaN lanes
/// give an unspecified finite scale, so NaN must be carried by the mantissa instead.
@_transparent
func exp2OfNonPositiveInteger(_ d: FloatVector) -> FloatVector {
  let dd = d.replacing(with: -127, where: .!(d .>= -125))
  let bits = unsafeBitCast(dd + ExpConstants.scaleMagic, to: BitsVector.self) &<< 23
  return unsafeBitCast(bits, to: FloatVector.self)
}

/// e^x for every lane, within 2 ulp of the correctly rounded result wherever that result is a
/// normal Float.
///
/// - Results below about 1.19e-38 (x < −87.33) are 0, never subnormal.
/// - x ≥ 88.7229 gives +inf, −inf gives 0, NaN gives NaN.
@_transparent
func exp(_ x: FloatVector) -> FloatVector {
  let xc = clamped(x, -87.5, ExpConstants.expOverflowClamp)
  let (n, t) = reduceForExp(xc)
  // Zero the mantissa (not the product) of underflowing lanes, so no subnormal is computed.
  let m = expOfReduced(t).replacing(with: 0, where: x .< ExpConstants.expUnderflow)
  // n ∈ [−126, 128]; 2^128 is not a Float, so scale by 2^127 and double those lanes.
  let nc = n.replacing(with: 127, where: n .> 127)
  let bits = unsafeBitCast(nc + ExpConstants.scaleMagic, to: BitsVector.self) &<< 23
  let r = m * unsafeBitCast(bits, to: FloatVector.self)
  return r.replacing(with: r + r, where: n .> 127)
}

/// e^x as a pair (mantissa m, exponent n) with e^x = m · 2^n, m ∈ [√½, √2] and n an
/// integer-valued Float, so the result neither overflows nor underflows.
///
/// Accurate (m within 2 ulp of e^x / 2^n correctly rounded) for |x| ≤ 2800. Arguments beyond
/// are clamped to ±2800, and ±inf with them; NaN gives a NaN mantissa. The softmax kernels
/// recognise rows that reach the clamp from the largest exponent and take the exact
/// max-subtracting path for them.
@_transparent
func extendedExp(_ x: FloatVector) -> (mantissa: FloatVector, exponent: FloatVector) {
  let xc = clamped(x, -ExpConstants.extendedDomain, ExpConstants.extendedDomain)
  let (n, t) = reduceForExp(xc)
  return (expOfReduced(t), n)
}

/// The vector exponentials as entry points for tests and benchmarks. The kernels call the
/// internal functions, which are inlined; these wrappers run exactly the same code.
package enum VectorMath {
  package static let lanes = FloatVector.scalarCount
  package static let extendedDomain = ExpConstants.extendedDomain

  /// `exp` on one vector.
  package static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    SoftmaxKernels.exp(x)
  }

  /// `expOfNonPositive` on one vector (arguments ≤ 0 only).
  package static func expOfNonPositive(_ x: SIMD16<Float>) -> SIMD16<Float> {
    SoftmaxKernels.expOfNonPositive(x)
  }

  /// `extendedExp` on one vector.
  package static func extendedExp(
    _ x: SIMD16<Float>
  ) -> (mantissa: SIMD16<Float>, exponent: SIMD16<Float>) {
    SoftmaxKernels.extendedExp(x)
  }
}
