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
  var source = x
  if divisor != 1 || bias != nil {
    dividedAndShifted(x, y, count: count, divisor: divisor, bias: bias)
    source = UnsafePointer(y)
  }
  if let keep {
    let flags = UnsafeRawPointer(keep).assumingMemoryBound(to: UInt8.self)
    if source == UnsafePointer(y) {
      dropInPlace(y, flags, count: count)
    } else {
      drop(source, y, flags, count: count)
    }
  } else if source != UnsafePointer(y) {
    y.update(from: source, count: count)
  }
}

// The keep step as plain loops of integer operations, which the compiler vectorizes (bytes
// widened to lanes): a SIMD16 comparison of widened bytes compiled to a scalar loop instead.
// A Bool is one byte, 0 or 1, so flag − 1 is 0 (keep: the value's bits) or all ones (−inf).

/// y = x where the flag is 1, −inf where it is 0; x and y do not overlap.
@inline(__always)
private func drop(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ flags: UnsafePointer<UInt8>,
  count: Int
) {
  var i = 0
  while i < count {
    y[i] = dropped(x[i], flags[i])
    i &+= 1
  }
}

/// y = −inf where the flag is 0, in place (a separate loop, so that the compiler's overlap
/// check between a source and y does not send the common in-place call down its scalar path).
@inline(__always)
private func dropInPlace(
  _ y: UnsafeMutablePointer<Float>, _ flags: UnsafePointer<UInt8>, count: Int
) {
  var i = 0
  while i < count {
    y[i] = dropped(y[i], flags[i])
    i &+= 1
  }
}

@_transparent
private func dropped(_ value: Float, _ flag: UInt8) -> Float {
  let drop = UInt32(truncatingIfNeeded: flag) &- 1
  return Float(bitPattern: (value.bitPattern & ~drop) | ((-Float.infinity).bitPattern & drop))
}

/// y = x / divisor (divisor 1: x) + bias (nil: 0), 16 lanes at a time.
@inline(__always)
private func dividedAndShifted(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, divisor: Float,
  bias: UnsafePointer<Float>?
) {
  let divide = divisor != 1
  var i = 0
  while i + 16 <= count {
    var v = x.loadVector(at: i)
    if divide { v = v / divisor }
    if let bias { v = v + bias.loadVector(at: i) }
    y.storeVector(v, at: i)
    i += 16
  }
  while i < count {
    var v = x[i]
    if divide { v = v / divisor }
    if let bias { v = v + bias[i] }
    y[i] = v
    i += 1
  }
}
