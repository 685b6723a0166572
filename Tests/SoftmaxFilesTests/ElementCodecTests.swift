import Testing

import SoftmaxFiles

/// The bit-level Float16 conversions against Swift's `Float16` (correctly rounded by the
/// standard library), and the byte-order handling against hand-built bytes.
@Suite struct ElementCodecTests {
  #if !(os(macOS) && arch(x86_64))
    @Test func halfToFloatIsExactForEveryPattern() {
      for bits in 0...UInt16.max {
        let expected = Float(Float16(bitPattern: bits))
        let actual = ElementCodec.floatFromHalfBits(bits)
        if expected.isNaN {
          #expect(actual.isNaN)
        } else {
          #expect(actual.bitPattern == expected.bitPattern, "bits \(bits)")
        }
      }
    }

    @Test func floatToHalfRoundsLikeTheStandardLibrary() {
      // Every 8191st Float pattern plus the neighbourhood of every half-precision boundary
      // (ties, the subnormal range, the overflow threshold).
      var patterns = Array(stride(from: UInt32(0), to: UInt32.max - 8191, by: 8191))
      for bits in 0...UInt16(0x7C00) {
        let center = Float(Float16(bitPattern: bits)).bitPattern
        for delta: Int64 in [-4097, -4096, -4095, -1, 0, 1, 4095, 4096, 4097] {
          let pattern = Int64(center) + delta
          if pattern >= 0 && pattern <= Int64(UInt32.max) { patterns.append(UInt32(pattern)) }
        }
      }
      for bits in patterns {
        for value in [Float(bitPattern: bits), -Float(bitPattern: bits)] {
          let expected = Float16(value)
          let actual = ElementCodec.halfBits(value)
          if expected.isNaN {
            #expect(Float16(bitPattern: actual).isNaN)
          } else if actual != expected.bitPattern {
            Issue.record("\(value) (bits \(bits)): \(actual) instead of \(expected.bitPattern)")
            return
          }
        }
      }
    }
  #endif

  @Test func decodesBothByteOrders() {
    let values: [Double] = [1.5, -2.25, .infinity, 0]
    let big32: [UInt8] = [0x3F, 0xC0, 0, 0, 0xC0, 0x10, 0, 0, 0x7F, 0x80, 0, 0, 0, 0, 0, 0]
    let little32 = stride(from: 0, to: 16, by: 4).flatMap { big32[$0..<$0 + 4].reversed() }
    let big16: [UInt8] = [0x3E, 0x00, 0xC0, 0x80, 0x7C, 0x00, 0, 0]
    for (bytes, type, order) in [
      (big32, ElementType.float32, ByteOrder.bigEndian),
      (little32, .float32, .littleEndian), (big16, .float16, .bigEndian),
    ] {
      var output = [Double](repeating: .nan, count: 4)
      bytes.withUnsafeBytes { raw in
        output.withUnsafeMutableBufferPointer { ElementCodec.decode(raw, type, order, into: $0) }
      }
      #expect(output == values)
      var encoded = [UInt8](repeating: 0, count: bytes.count)
      output.withUnsafeBufferPointer { values in
        encoded.withUnsafeMutableBytes { ElementCodec.encode(values, type, order, into: $0) }
      }
      #expect(encoded == bytes)
    }
  }

  @Test func float64RoundTripsExactly() {
    let values: [Double] = [.pi, -1e300, .leastNonzeroMagnitude, .infinity, -0.0]
    for order in [ByteOrder.littleEndian, .bigEndian] {
      var raw = [UInt8](repeating: 0, count: 40)
      values.withUnsafeBufferPointer { v in
        raw.withUnsafeMutableBytes { ElementCodec.encode(v, .float64, order, into: $0) }
      }
      var back = [Double](repeating: 0, count: 5)
      raw.withUnsafeBytes { r in
        back.withUnsafeMutableBufferPointer { ElementCodec.decode(r, .float64, order, into: $0) }
      }
      #expect(back.map(\.bitPattern) == values.map(\.bitPattern))
    }
  }
}
