// The effective logits of a shaped row with a temperature or a boolean or additive mask: the
// values that the softmax normalizes. The shaped entry points write them block by block into
// the output and run pass 1 on each block while it is in L1 (see `ChunkPass` in Softmax).

/// y_i = (x_i − shift) / divisor + (bias_i − offset), or −inf where keep_i is false; nil masks
/// skip their step. With a divisor, a shift or an offset, the value is computed in Double,
/// (x_i − shift) · (1 / divisor) + (bias_i − offset), and rounded once: exact to the last
/// rounding for any magnitude of the quotient, which a Float quotient of a large logit is not;
/// beyond ±Float.greatestFiniteMagnitude it is ±inf. Divisor 1, shift and offset 0: x_i + bias_i
/// in Float.
/// Every kernel set computes the same operations, so their results are bitwise equal. `y` may
/// be `x`.
package func effectiveLogits_simd16(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, divisor: Float,
  shift: Float, offset: Float, keep: UnsafePointer<Bool>?, bias: UnsafePointer<Float>?
) {
  var source = x
  if divisor != 1 || shift != 0 || offset != 0 {
    tempered(x, y, count: count, divisor: divisor, shift: shift, offset: offset, bias: bias)
    source = UnsafePointer(y)
  } else if let bias {
    biased(x, y, count: count, bias: bias)
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

/// y = Float((Double(x) − shift) · (1 / divisor) + (bias − offset)) (nil bias: 0).
@inline(__always)
private func tempered(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, divisor: Float,
  shift: Float, offset: Float, bias: UnsafePointer<Float>?
) {
  let reciprocal = 1 / Double(divisor)
  let (shift, offset) = (Double(shift), Double(offset))
  for i in 0..<count {
    let quotient = (Double(x[i]) - shift) * reciprocal
    y[i] = Float(bias.map { quotient + (Double($0[i]) - offset) } ?? quotient - offset)
  }
}

/// y = x + bias, 16 lanes at a time.
@inline(__always)
private func biased(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
  bias: UnsafePointer<Float>
) {
  var i = 0
  while i + 16 <= count {
    y.storeVector(x.loadVector(at: i) + bias.loadVector(at: i), at: i)
    i += 16
  }
  while i < count {
    y[i] = x[i] + bias[i]
    i += 1
  }
}
