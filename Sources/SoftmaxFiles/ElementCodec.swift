/// The types the tool computes in: Float (for float16 and float32 data) and Double.
package protocol ComputeScalar: BinaryFloatingPoint, Sendable {
  init(_ value: Float)
  init(_ value: Double)
  var floatValue: Float { get }
  var doubleValue: Double { get }
  /// The element type with this type's layout: copied, not converted, in host byte order.
  static var hostType: ElementType { get }
  /// ``ElementCodec/decode(_:_:_:into:)`` specialized for this type (each conformance's
  /// witness is compiled for it): generic callers in other modules pay one dynamic call per
  /// buffer instead of per element.
  static func decode(
    _ raw: UnsafeRawBufferPointer, _ type: ElementType, _ order: ByteOrder,
    into output: UnsafeMutableBufferPointer<Self>)
  /// ``ElementCodec/encode(_:_:_:into:)`` specialized for this type.
  static func encode(
    _ values: UnsafeBufferPointer<Self>, _ type: ElementType, _ order: ByteOrder,
    into raw: UnsafeMutableRawBufferPointer)
}

extension ComputeScalar {
  package static func decode(
    _ raw: UnsafeRawBufferPointer, _ type: ElementType, _ order: ByteOrder,
    into output: UnsafeMutableBufferPointer<Self>
  ) {
    if type == hostType && order == .host {
      UnsafeMutableRawBufferPointer(output).copyMemory(
        from: UnsafeRawBufferPointer(rebasing: raw[0..<output.count * type.size]))
    } else {
      ElementCodec.decode(raw, type, order, into: output)
    }
  }

  package static func encode(
    _ values: UnsafeBufferPointer<Self>, _ type: ElementType, _ order: ByteOrder,
    into raw: UnsafeMutableRawBufferPointer
  ) {
    if type == hostType && order == .host {
      raw.copyMemory(from: UnsafeRawBufferPointer(values))
    } else {
      ElementCodec.encode(values, type, order, into: raw)
    }
  }
}

extension Float: ComputeScalar {
  package static let hostType = ElementType.float32
  package var floatValue: Float { self }
  package var doubleValue: Double { Double(self) }
}

extension Double: ComputeScalar {
  package static let hostType = ElementType.float64
  package var floatValue: Float { Float(self) }
  package var doubleValue: Double { self }
}

/// Converts file bytes (any supported element type, either byte order) to and from the
/// compute type. Float16 is converted bit by bit here, not through Swift's `Float16`, so that
/// the tool builds where Swift lacks that type (macOS on Intel); the conversions are exact
/// (widening) and correctly rounded to nearest-even (narrowing), as `Float16(Float)` is.
package enum ElementCodec {
  /// Decodes `count` elements of `type` from `raw` into `output`. Inlinable so that callers in
  /// other modules get it specialized for their compute type (a generic call per element is
  /// ten times slower).
  package static func decode<T: ComputeScalar>(
    _ raw: UnsafeRawBufferPointer, _ type: ElementType, _ order: ByteOrder,
    into output: UnsafeMutableBufferPointer<T>
  ) {
    precondition(raw.count >= output.count * type.size, "decode: too few bytes")
    let swap = order != .host
    switch type {
    case .float16:
      for i in output.indices {
        var bits = raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
        if swap { bits = bits.byteSwapped }
        output[i] = T(floatFromHalfBits(bits))
      }
    case .float32:
      for i in output.indices {
        var bits = raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
        if swap { bits = bits.byteSwapped }
        output[i] = T(Float(bitPattern: bits))
      }
    case .float64:
      for i in output.indices {
        var bits = raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
        if swap { bits = bits.byteSwapped }
        output[i] = T(Double(bitPattern: bits))
      }
    }
  }

  /// Encodes `values` as `type` into `raw`, rounding to nearest-even when narrowing.
  package static func encode<T: ComputeScalar>(
    _ values: UnsafeBufferPointer<T>, _ type: ElementType, _ order: ByteOrder,
    into raw: UnsafeMutableRawBufferPointer
  ) {
    precondition(raw.count >= values.count * type.size, "encode: too little room")
    let swap = order != .host
    switch type {
    case .float16:
      for i in values.indices {
        var bits = halfBits(values[i].floatValue)
        if swap { bits = bits.byteSwapped }
        raw.storeBytes(of: bits, toByteOffset: 2 * i, as: UInt16.self)
      }
    case .float32:
      for i in values.indices {
        var bits = values[i].floatValue.bitPattern
        if swap { bits = bits.byteSwapped }
        raw.storeBytes(of: bits, toByteOffset: 4 * i, as: UInt32.self)
      }
    case .float64:
      for i in values.indices {
        var bits = values[i].doubleValue.bitPattern
        if swap { bits = bits.byteSwapped }
        raw.storeBytes(of: bits, toByteOffset: 8 * i, as: UInt64.self)
      }
    }
  }

  /// The Float with the value of an IEEE binary16 bit pattern (exact).
  package static func floatFromHalfBits(_ bits: UInt16) -> Float {
    let sign: Float = bits & 0x8000 != 0 ? -1 : 1
    let exponent = Int(bits >> 10 & 0x1F)
    let fraction = UInt32(bits & 0x3FF)
    switch exponent {
    case 0:
      // Zero or subnormal: fraction · 2^-24, exact in Float.
      return sign * Float(fraction) * 0x1p-24
    case 31:
      let special: Float = fraction == 0 ? .infinity : .nan
      return sign * special
    default:
      let sign32 = UInt32(bits & 0x8000) << 16
      return Float(bitPattern: sign32 | UInt32(exponent + 112) << 23 | fraction << 13)
    }
  }

  /// The binary16 bit pattern nearest to `value` (ties to even; beyond 65520 in magnitude,
  /// infinity; NaN stays NaN).
  package static func halfBits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    let sign = UInt16(truncatingIfNeeded: bits >> 16) & 0x8000
    let magnitude = bits & 0x7FFF_FFFF
    if magnitude > 0x7F80_0000 { return sign | 0x7E00 }  // NaN (quiet)
    if magnitude >= 0x477F_F000 { return sign | 0x7C00 }  // ≥ 65520 rounds to infinity
    if magnitude < 0x3880_0000 {
      // Below 2^-14: a multiple of 2^-24. Adding 0.5 (whose ulp is 2^-24) rounds it to one,
      // ties to even, in hardware.
      let sum = Float(bitPattern: magnitude) + 0.5
      return sign | UInt16(truncatingIfNeeded: sum.bitPattern - (0.5 as Float).bitPattern)
    }
    // Normal: rebias the exponent, keep 10 fraction bits, round the 13 dropped ones; a carry
    // out of the fraction correctly bumps the exponent.
    let dropped = magnitude & 0x1FFF
    var half = (magnitude >> 13) - (112 << 10)
    if dropped > 0x1000 || (dropped == 0x1000 && half & 1 == 1) { half += 1 }
    return sign | UInt16(truncatingIfNeeded: half)
  }
}
