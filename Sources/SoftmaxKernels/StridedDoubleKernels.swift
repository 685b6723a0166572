#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Softmax (or log-softmax) of `width` ≤ 8 adjacent columns of `length` rows, `stride` Doubles
/// apart, one column per `SIMD8<Double>` lane: every load is up to 8 contiguous Doubles of one
/// row, nothing is gathered. Three passes over the block (maximum, Σ e^(x − max) in Double,
/// output) with the Double exp of the row kernels (within about 2 ulp); outputs below 2^-1020
/// are 0. Each lane sums blocks of `columnSumBlockLength` rows, whose sums go into a
/// `CompensatedSum` per lane, so the sum's error is bounded by the block length, not the
/// column length. Columns whose maximum is not finite, or whose sum is NaN, are finished by
/// the special-value contract. `y` may be `x`.
package func stridedSoftmaxDouble_simd8(
  _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, length: Int, stride: Int,
  width: Int, output: RowOutput
) {
  @_transparent
  func load(_ row: Int, padding: Double) -> SIMD8<Double> {
    let p = x + row * stride
    if width == 8 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Double>.self) }
    var v = SIMD8<Double>(repeating: padding)
    for lane in 0..<width { v[lane] = p[lane] }
    return v
  }
  @_transparent
  func store(_ v: SIMD8<Double>, _ row: Int) {
    let p = y + row * stride
    if width == 8 {
      UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Double>.self)
    } else {
      for lane in 0..<width { p[lane] = v[lane] }
    }
  }
  var maximum = SIMD8<Double>(repeating: -.infinity)
  for row in 0..<length {
    let v = load(row, padding: -.infinity)
    maximum.replace(with: v, where: v .> maximum)
  }
  // Lanes with a non-finite maximum are finished below; give them a harmless shift here.
  let finite = (maximum .> -.infinity) .& (maximum .< .infinity)
  let shift = maximum.replacing(with: 0, where: .!finite)
  var total = CompensatedSum<SIMD8<Double>>.zero
  var start = 0
  while start < length {
    let end = Swift.min(length, start + columnSumBlockLength)
    var block = SIMD8<Double>(repeating: 0)
    for row in start..<end {
      block += expOfNonPositiveDouble(load(row, padding: -.infinity) - shift)
    }
    total.add(block)
    start = end
  }
  let sum = total.value
  // Special lanes keep their input through the output pass (which may write over it in
  // place) and are finished from it afterwards.
  let special = .!finite .| (sum .!= sum)
  if output == .logProbabilities {
    var logSum = SIMD8<Double>()
    for lane in 0..<8 where !special[lane] { logSum[lane] = log(sum[lane]) }
    for row in 0..<length {
      let v = load(row, padding: 0)
      store(((v - shift) - logSum).replacing(with: v, where: special), row)
    }
  } else {
    // sum ≥ 1 in the other lanes (their maximum contributes e^0).
    let scale = 1 / sum
    let threshold = 0x1p-1020 / scale
    for row in 0..<length {
      let v = load(row, padding: -.infinity)
      let e = expOfNonPositiveDouble(v - shift)
      store(
        (e.replacing(with: 0, where: e .< threshold) * scale).replacing(with: v, where: special),
        row)
    }
  }
  for lane in 0..<width where special[lane] {
    SpecialValues.apply(x + lane, y + lane, count: length, stride: stride, output: output)
  }
}

/// Rows per summation block of a column: each lane adds at most 64 terms before its block
/// sum goes into the compensated total, as in the row kernels' 1024-element blocks (two
/// accumulators of 8 lanes), so a block sum is within a relative 64 · 2^-53 ≈ 7e-15. Float
/// columns (`stridedSoftmax_simd16`) sum the same blocks in Float lanes, within a relative
/// 64 · 2^-24 ≈ 3.8e-6 at worst, and add them in Double.
let columnSumBlockLength = 64
