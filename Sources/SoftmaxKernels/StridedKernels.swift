#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#elseif canImport(ucrt)
  import ucrt
#endif

// Softmax along a strided axis: the data is `length` rows of `stride` floats (row-major), and
// each of the `width` columns starting at `x` is one softmax. Instead of gathering a column,
// 16 adjacent columns are processed at once: every load is 16 contiguous floats of one row.

/// Softmax (or log-softmax) of 16 (or `width` < 16) adjacent columns of `length` rows,
/// `stride` floats apart. Three passes over the block (maximum, Σ e^(x − max), output), which
/// stays in L1/L2 for the row lengths of real models. The numerics are the rows': the sum in
/// Float blocks of `columnSumBlockLength` rows added in Double (its error does not grow with
/// the column length), and log-softmax as ((x − max) − high) − low with log Σ = high + low, a
/// Float pair (exact near the top of a column however large its logits). Columns whose maximum
/// is not finite, or whose sum is NaN, are finished by the special-value contract. `y` may be
/// `x`.
package func stridedSoftmax_simd16(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, length: Int, stride: Int,
  width: Int, output: RowOutput
) {
  @_transparent
  func load(_ row: Int, padding: Float) -> FloatVector {
    width == 16
      ? x.loadVector(at: row * stride)
      : x.loadPartialVector(at: row * stride, count: width, padding: padding)
  }
  var maximum = FloatVector(repeating: -.infinity)
  for row in 0..<length { maximum = laneMax(maximum, load(row, padding: -.infinity)) }
  // Lanes with a non-finite maximum are fixed up below; give them a harmless shift here.
  let finite = (maximum .> -.infinity) .& (maximum .< .infinity)
  let shift = maximum.replacing(with: 0, where: .!finite)
  @_transparent
  func blockSum(_ rows: Range<Int>) -> FloatVector {
    var block = FloatVector(repeating: 0)
    for row in rows { block += expOfNonPositive(load(row, padding: -.infinity) - shift) }
    return block
  }
  // Each lane sums `columnSumBlockLength` rows in Float and adds the block sum in Double, so
  // the sum's error is bounded by the block length, not the column length (as in the row
  // kernels' blocks): one Float running sum over 65536 rows was off by 6e-5. A column of one
  // block keeps the single loop (the blocked one cost short columns a few percent).
  let sum: FloatVector
  let total: SIMD16<Double>
  if length <= columnSumBlockLength {
    sum = blockSum(0..<length)
    total = SIMD16(lowHalf: DoubleVector(sum.lowHalf), highHalf: DoubleVector(sum.highHalf))
  } else {
    var (lowTotal, highTotal) = (DoubleVector(), DoubleVector())
    var start = 0
    while start < length {
      let end = Swift.min(length, start + columnSumBlockLength)
      let block = blockSum(start..<end)
      lowTotal += DoubleVector(block.lowHalf)
      highTotal += DoubleVector(block.highHalf)
      start = end
    }
    total = SIMD16(lowHalf: lowTotal, highHalf: highTotal)
    sum = FloatVector(lowHalf: SIMD8(lowTotal), highHalf: SIMD8(highTotal))
  }
  // Lanes that the contract finishes keep their input through the output pass, so that it
  // still reads the input when `y` is `x`.
  let special = .!finite .| (sum .!= sum)
  let keepsInput = any(special)
  switch output {
  case .logProbabilities:
    // As the rows' output pass: ((x − max) − high) − low, where high + low is log Σ as a Float
    // pair. x − max is exact near the top of the column, so the top entries keep their
    // precision however large the logits (max + log Σ in Float rounds at the scale of max).
    let (high, low) = logPairOfPositive(total)
    for row in 0..<length {
      let v = load(row, padding: 0)
      let out = ((v - shift) - high) - low
      store(
        keepsInput ? out.replacing(with: v, where: special) : out, y + row * stride, width: width)
    }
  case .probabilities:
    let scale = 1 / sum
    let threshold = 0x1p-125 / scale
    for row in 0..<length {
      let v = load(row, padding: -.infinity)
      let e = expOfNonPositive(v - shift)
      let out = e.replacing(with: 0, where: e .< threshold) * scale
      store(
        keepsInput ? out.replacing(with: v, where: special) : out, y + row * stride, width: width)
    }
  }
  for lane in 0..<width where special[lane] {
    SpecialValues.apply(x + lane, y + lane, count: length, stride: stride, output: output)
  }
}

@_transparent
func store(_ v: FloatVector, _ p: UnsafeMutablePointer<Float>, width: Int) {
  if width == 16 { p.storeVector(v, at: 0) } else { p.storePartialVector(v, at: 0, count: width) }
}

/// The natural log of every lane (all positive and normal: sums of exponentials that include
/// e^0 = 1) as a Float pair high + low, log computed in Double, lane by lane: it runs once per
/// 16 columns, not per element.
@inline(__always)
func logPairOfPositive(_ v: SIMD16<Double>) -> (high: FloatVector, low: FloatVector) {
  var high = FloatVector()
  var low = FloatVector()
  for lane in 0..<16 {
    let logarithm = log(v[lane])
    high[lane] = Float(logarithm)
    low[lane] = Float(logarithm - Double(high[lane]))
  }
  return (high, low)
}
