#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// The passes of the training operations (backward passes, cross-entropy), portable Swift
// SIMD: sums and dot products accumulated in Double lanes, and the element-wise output passes.
// Every kernel handles any length and alignment; outputs may be one of the inputs.

/// Σ a_i · b_i in Double: each product and sum in Double lanes, so the error is that of a
/// Double sum, about count · 2^-53 of Σ |a_i · b_i| at worst. NaN anywhere gives NaN; a
/// product 0 · ±inf gives NaN, as IEEE says (callers that define 0 · inf = 0 check for it).
package func dot_simd16(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int)
  -> Double
{
  var s0 = DoubleVector()
  var s1 = DoubleVector()
  var i = 0
  while i + 16 <= count {
    let x = a.loadVector(at: i)
    let y = b.loadVector(at: i)
    s0 += DoubleVector(x.lowHalf) * DoubleVector(y.lowHalf)
    s1 += DoubleVector(x.highHalf) * DoubleVector(y.highHalf)
    i += 16
  }
  var total = (s0 + s1).sum()
  while i < count {
    total += Double(a[i]) * Double(b[i])
    i += 1
  }
  return total
}

/// Σ a_i in Double lanes.
package func sum_simd16(_ a: UnsafePointer<Float>, count: Int) -> Double {
  var s0 = DoubleVector()
  var s1 = DoubleVector()
  var i = 0
  while i + 16 <= count {
    let x = a.loadVector(at: i)
    s0 += DoubleVector(x.lowHalf)
    s1 += DoubleVector(x.highHalf)
    i += 16
  }
  var total = (s0 + s1).sum()
  while i < count {
    total += Double(a[i])
    i += 1
  }
  return total
}

/// Σ a_i over a block of at most 4096 elements: Float lanes (at most 128 terms each), the
/// lanes added in Double. For sums whose error may be relative to themselves, such as the
/// non-label entries of a cross-entropy gradient; about 10 times cheaper than `sum_simd16`'s
/// Double lanes where both run from L1.
package func blockSum_simd16(_ a: UnsafePointer<Float>, count: Int) -> Double {
  var s0 = FloatVector()
  var s1 = FloatVector()
  var i = 0
  while i + 32 <= count {
    s0 += a.loadVector(at: i)
    s1 += a.loadVector(at: i + 16)
    i += 32
  }
  var total = 0.0
  for lane in 0..<16 { total += Double(s0[lane]) + Double(s1[lane]) }
  while i < count {
    total += Double(a[i])
    i += 1
  }
  return total
}

/// The fused output pass of a cross-entropy gradient after Three-Pass reload's first pass:
/// y = (e < threshold ? 0 : e · scale) − offset from the stored exponentials e (which may be
/// y), and Σ y over every entry but `excluded` (the label; count or more for none) in Float
/// lanes per 4096-element block, the blocks added in Double.
package func scaleGradient_simd16(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, scale: Float,
  threshold: Float, offset: Float, excluded: Int
) -> Double {
  let lane = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
  var total = 0.0
  var start = 0
  while start < count {
    let end = Swift.min(count, start + 4096)
    var accumulator = FloatVector()
    var i = start
    while i < end {
      let rest = end - i
      let e = rest >= 16 ? x.loadVector(at: i) : x.loadPartialVector(at: i, count: rest, padding: 0)
      var r = e.replacing(with: 0, where: e .< threshold) * scale - offset
      if rest >= 16 {
        y.storeVector(r, at: i)
      } else {
        y.storePartialVector(r, at: i, count: rest)
        r = r.replacing(with: 0, where: lanes(from: rest))
      }
      let d = excluded - i
      if d >= 0 && d < 16 { r = r.replacing(with: 0, where: lane .== Int32(d)) }
      accumulator += r
      i += 16
    }
    for l in 0..<16 { total += Double(accumulator[l]) }
    start = end
  }
  return total
}

/// The output pass of a labelled row of one chunk: y = (e < threshold ? 0 : e · scale) −
/// offset from the stored exponentials e (which may be y), and y[entry] = base, less Σ of the
/// other entries written when `lessOthers` (`scaleGradient_simd16`'s sum), rounded once. An
/// entry outside the row: none.
package func scaleGradientEntry_simd16(
  _ e: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, scale: Float,
  threshold: Float, offset: Float, entry: Int, base: Double, lessOthers: Bool
) {
  let others = scaleGradient_simd16(
    e, y, count: count, scale: scale, threshold: threshold, offset: offset, excluded: entry)
  if entry >= 0 && entry < count { y[entry] = Float(lessOthers ? base - others : base) }
}

/// The output pass of the softmax backward: dx_i = y_i · (dy_i − s), with s = Σ dy · y.
/// `dx` may be `y` or `dy`.
package func softmaxBackwardOutput_simd16(
  _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
  count: Int, dot s: Float
) {
  var i = 0
  while i + 16 <= count {
    dx.storeVector(y.loadVector(at: i) * (dy.loadVector(at: i) - s), at: i)
    i += 16
  }
  while i < count {
    dx[i] = y[i] * (dy[i] - s)
    i += 1
  }
}

/// The output pass of the log-softmax backward: dx_i = dy_i − e^(logY_i) · s, with s = Σ dy.
/// The exponential is `exp` (within 2 ulp; 0 below about −87.3, never subnormal). `dx` may be
/// `logY` or `dy`.
package func logSoftmaxBackwardOutput_simd16(
  _ logY: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
  count: Int, sum s: Float
) {
  var i = 0
  while i < count {
    let rest = count - i
    if rest >= 16 {
      dx.storeVector(dy.loadVector(at: i) - exp(logY.loadVector(at: i)) * s, at: i)
    } else {
      let e = exp(logY.loadPartialVector(at: i, count: rest, padding: 0))
      let d = dy.loadPartialVector(at: i, count: rest, padding: 0)
      dx.storePartialVector(d - e * s, at: i, count: rest)
    }
    i += 16
  }
}

/// y_i −= offset + weight · t_i (t nil: y_i −= offset): the targets' part of a cross-entropy
/// gradient, after the scaled probabilities are in y.
package func subtractTargets_simd16(
  _ y: UnsafeMutablePointer<Float>, _ t: UnsafePointer<Float>?, count: Int, weight: Float,
  offset: Float
) {
  let x = UnsafePointer(y)
  var i = 0
  if let t {
    while i + 16 <= count {
      y.storeVector(x.loadVector(at: i) - (offset + weight * t.loadVector(at: i)), at: i)
      i += 16
    }
    while i < count {
      y[i] -= offset + weight * t[i]
      i += 1
    }
    return
  }
  while i + 16 <= count {
    y.storeVector(x.loadVector(at: i) - offset, at: i)
    i += 16
  }
  while i < count {
    y[i] -= offset
    i += 1
  }
}

// Double rows: the same passes on SIMD8<Double>.

/// Σ a_i · b_i, as `dot_simd16` in Double.
package func dotDouble_simd8(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, count: Int)
  -> Double
{
  var s0 = DoubleVector()
  var i = 0
  while i < count {
    let rest = count - i
    s0 +=
      a.loadDoubles(at: i, count: rest, padding: 0) * b.loadDoubles(at: i, count: rest, padding: 0)
    i += 8
  }
  return s0.sum()
}

/// Σ a_i.
package func sumDouble_simd8(_ a: UnsafePointer<Double>, count: Int) -> Double {
  var s0 = DoubleVector()
  var i = 0
  while i < count {
    s0 += a.loadDoubles(at: i, count: count - i, padding: 0)
    i += 8
  }
  return s0.sum()
}

/// dx_i = y_i · (dy_i − s).
package func softmaxBackwardOutputDouble_simd8(
  _ y: UnsafePointer<Double>, _ dy: UnsafePointer<Double>, _ dx: UnsafeMutablePointer<Double>,
  count: Int, dot s: Double
) {
  var i = 0
  while i < count {
    let rest = count - i
    let v = y.loadDoubles(at: i, count: rest, padding: 0)
    storeDoubles(v * (dy.loadDoubles(at: i, count: rest, padding: 0) - s), dx + i, count: rest)
    i += 8
  }
}

/// dx_i = dy_i − e^(logY_i) · s. Log-probabilities are ≤ 0 (up to rounding): vectors of them
/// take the vector exp; a vector with a positive entry takes libm's exp per entry.
package func logSoftmaxBackwardOutputDouble_simd8(
  _ logY: UnsafePointer<Double>, _ dy: UnsafePointer<Double>, _ dx: UnsafeMutablePointer<Double>,
  count: Int, sum s: Double
) {
  var i = 0
  while i < count {
    let rest = count - i
    let v = logY.loadDoubles(at: i, count: rest, padding: 0)
    var e: DoubleVector
    if any(v .> 0) {
      e = DoubleVector()
      for lane in 0..<8 { e[lane] = scalarExp(v[lane]) }
    } else {
      e = expOfNonPositiveDouble(v)
    }
    storeDoubles(dy.loadDoubles(at: i, count: rest, padding: 0) - e * s, dx + i, count: rest)
    i += 8
  }
}

/// libm's e^x, for the rare lanes the vector exp does not cover.
@inline(never)
func scalarExp(_ x: Double) -> Double {
  exp(x)
}
