// The effective logits of a shaped row with a temperature or a boolean or additive mask: the
// values that the softmax normalizes. The shaped entry points write them block by block into
// the output and run pass 1 on each block while it is in L1 (see `ChunkPass` in Softmax).

/// y_i = x_i / divisor + bias_i, or −inf where keep_i is false; divisor 1 skips the division
/// and nil masks skip their step. The quotient is a true division, so each one is correctly
/// rounded (equal to the scalar x_i / divisor); a quotient beyond ±Float.greatestFiniteMagnitude
/// is ±inf. `y` may be `x`.
package func effectiveLogits_simd16(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, divisor: Float,
  keep: UnsafePointer<Bool>?, bias: UnsafePointer<Float>?
) {
  let divide = divisor != 1
  var i = 0
  while i + 16 <= count {
    var v = x.loadVector(at: i)
    if divide { v = v / divisor }
    if let bias { v = v + bias.loadVector(at: i) }
    if let keep {
      // Bool is one byte, 0 or 1.
      let bytes = UnsafeRawPointer(keep + i).loadUnaligned(as: SIMD16<UInt8>.self)
      v.replace(with: -.infinity, where: SIMD16<Int32>(truncatingIfNeeded: bytes) .== 0)
    }
    y.storeVector(v, at: i)
    i += 16
  }
  while i < count {
    var v = x[i]
    if divide { v = v / divisor }
    if let bias { v = v + bias[i] }
    if let keep, !keep[i] { v = -.infinity }
    y[i] = v
    i += 1
  }
}
