// The passes of the Three-Pass algorithms, portable Swift SIMD: the row maximum, the sum of
// e^(x − max) (optionally storing it, for the reload variant), and the scaled output.

/// e^x for x ≤ 0 (or −inf), as `exp` but without the overflow handling that x ≤ 0 never needs.
/// Results below about 1.19e-38 are 0; NaN stays NaN.
///
/// The exponential of Three-Pass and online, the portable path's hot loop, so it is three
/// operations shorter than `reduceForExp` allows: here n ∈ [−126, 0], so a two-part split of
/// ln 2 keeps the reduction exact (`ExpConstants.ln2HiShort`; one multiply and one subtract
/// fewer), and adding `scaleMagic` instead of `roundingMagic` rounds x · log2 e to an integer
/// while leaving the bits of 2^n in place, so the scale needs no second addition.
@inline(__always)
func expOfNonPositive(_ x: FloatVector) -> FloatVector {
  let xc = x.replacing(with: -87.5, where: x .< -87.5)
  let k = xc * ExpConstants.log2e + ExpConstants.scaleMagic
  let n = k - ExpConstants.scaleMagic
  let t = (xc - n * ExpConstants.ln2HiShort) - n * ExpConstants.ln2LoShort
  let m = expOfReduced(t).replacing(with: 0, where: x .< ExpConstants.expUnderflow)
  let bits = unsafeBitCast(k, to: BitsVector.self) &<< 23
  return m * unsafeBitCast(bits, to: FloatVector.self)
}

/// The lane-wise maximum as a compare and a blend. (The standard library's `pointwiseMax`
/// compiles to a scalar loop here, because of its NaN semantics.) A NaN in `b` is ignored.
@inline(__always)
func laneMax(_ a: FloatVector, _ b: FloatVector) -> FloatVector {
  a.replacing(with: b, where: b .> a)
}

/// The largest element; −inf for an empty row. A NaN element may or may not be reported:
/// callers detect NaN from the sum that follows.
package func max_simd16_acc4(_ x: UnsafePointer<Float>, count: Int) -> Float {
  var a0 = FloatVector(repeating: -.infinity)
  var a1 = a0
  var a2 = a0
  var a3 = a0
  var i = 0
  while i + 64 <= count {
    a0 = laneMax(a0, x.loadVector(at: i))
    a1 = laneMax(a1, x.loadVector(at: i + 16))
    a2 = laneMax(a2, x.loadVector(at: i + 32))
    a3 = laneMax(a3, x.loadVector(at: i + 48))
    i += 64
  }
  while i < count {
    let rest = count - i
    let v =
      rest >= 16
      ? x.loadVector(at: i) : x.loadPartialVector(at: i, count: rest, padding: -.infinity)
    a0 = laneMax(a0, v)
    i += 16
  }
  return laneMax(laneMax(a0, a1), laneMax(a2, a3)).max()
}

/// Σ e^(x_i − shift) over one block; when `store` is non-nil each e^(x_i − shift) is also
/// written there (the reload variant). `shift` is the row maximum, so every argument is ≤ 0.
@inline(__always)
func sumExpBlock_simd16_acc2(
  _ x: UnsafePointer<Float>, store: UnsafeMutablePointer<Float>?, count: Int, shift: Float
) -> Float {
  var s0 = FloatVector(repeating: 0)
  var s1 = s0
  var i = 0
  while i + 32 <= count {
    let e0 = expOfNonPositive(x.loadVector(at: i) - shift)
    let e1 = expOfNonPositive(x.loadVector(at: i + 16) - shift)
    if let store {
      store.storeVector(e0, at: i)
      store.storeVector(e1, at: i + 16)
    }
    s0 += e0
    s1 += e1
    i += 32
  }
  while i < count {
    let rest = count - i
    if rest >= 16 {
      let e = expOfNonPositive(x.loadVector(at: i) - shift)
      store?.storeVector(e, at: i)
      s0 += e
    } else {
      let e = expOfNonPositive(
        x.loadPartialVector(at: i, count: rest, padding: -.infinity) - shift)
      store?.storePartialVector(e, at: i, count: rest)
      s0 += e
    }
    i += 16
  }
  return (s0 + s1).sum()
}

/// Σ e^(x_i − shift), summed in blocks whose Float sums are added in Double. NaN inputs make
/// the sum NaN.
package func sumExp_simd16_acc2(_ x: UnsafePointer<Float>, count: Int, shift: Float) -> Double {
  sumExpBlocks(x, store: nil, count: count, shift: shift)
}

/// As `sumExp_simd16_acc2`, and stores every e^(x_i − shift) into `y` (which may be `x`).
package func sumAndStoreExp_simd16_acc2(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, shift: Float
) -> Double {
  sumExpBlocks(x, store: y, count: count, shift: shift)
}

@inline(__always)
func sumExpBlocks(
  _ x: UnsafePointer<Float>, store: UnsafeMutablePointer<Float>?, count: Int, shift: Float
) -> Double {
  mergeBlocks(
    count: count, from: 0.0,
    { start, length in
      Double(
        sumExpBlock_simd16_acc2(
          x + start, store: store.map { $0 + start }, count: length, shift: shift))
    }, merge: +)
}

/// Smallest e^(x − max) that the output passes keep: below it, e · (1/sum) would be smaller
/// than 2^-125 and is written as 0 instead of a subnormal.
@inlinable
package func flushThreshold(inverseSum: Float) -> Float {
  0x1p-125 / inverseSum
}

/// The flush threshold for exponentials e^(x − maximum) of a row whose minimum − maximum is
/// `spread`, or 0 when none of them can be below it: then the scale kernels need no compare
/// (the AVX-512 ones skip it for 0; the others compare with 0, keeping every lane), the same
/// bits. Every exponential the kernels store is at least e^spread · (1 − 4.1e-7) (x − maximum
/// rounds monotonically; the exps are within 4.1e-7 relative), and the threshold is below
/// 2^(its exponent + 1): spread ≥ (that exponent + 2) · ln 2 leaves a factor of 2 to spare.
package func flushThreshold(inverseSum: Float, spread: Float) -> Float {
  let threshold = flushThreshold(inverseSum: inverseSum)
  guard threshold.isNormal else { return threshold }
  return spread >= Float(threshold.exponent + 2) * 0x1.62E430p-1 ? 0 : threshold
}

/// Pass 3 of Three-Pass recompute: y_i = e^(x_i − shift) · scale, 0 where
/// e^(x_i − shift) < threshold. `y` may be `x`.
package func expScaledOutput_simd16(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, shift: Float,
  scale inverseSum: Float, threshold: Float
) {
  var i = 0
  while i < count {
    let rest = count - i
    let v =
      rest >= 16
      ? x.loadVector(at: i) : x.loadPartialVector(at: i, count: rest, padding: -.infinity)
    let e = expOfNonPositive(v - shift)
    let out = e.replacing(with: 0, where: e .< threshold) * inverseSum
    if rest >= 16 {
      y.storeVector(out, at: i)
    } else {
      y.storePartialVector(out, at: i, count: rest)
    }
    i += 16
  }
}

/// Pass 3 of Three-Pass reload: y_i = e_i · scale from the stored exponentials e (which may
/// be y), 0 where e_i < threshold.
package func scale_simd16(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
  scale inverseSum: Float, threshold: Float
) {
  var i = 0
  while i + 16 <= count {
    let e = x.loadVector(at: i)
    y.storeVector(e.replacing(with: 0, where: e .< threshold) * inverseSum, at: i)
    i += 16
  }
  while i < count {
    let e = x[i]
    y[i] = e < threshold ? 0 : e * inverseSum
    i += 1
  }
}
