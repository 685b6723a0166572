// What FuzzKernels.swift makes of libFuzzer's bytes: a few rows of logits, each value from
// the bytes under one of four encodings, because raw Float bit patterns alone are mostly
// one-hot rows of huge magnitudes (every 256th is NaN or inf) and would leave the kernels'
// ordinary arithmetic, Two-Pass's exact range and near ties almost untested.
//
// byte 0: bits 0-1 the encoding (below), bits 2-3 rows - 1, bits 4-5 both set: one long row
//         (the values repeated past 2^16 elements, so the row is cut into chunks and run on
//         two threads), bits 6-7 the temperature (1, 0.5, 3, 1e-30).
// byte 1: the encoding's parameter.
// then the values:
//   0: Float bit patterns, 4 bytes each (and Double bit patterns, 8 bytes each, for Double)
//   1: Float16 bit patterns, 2 bytes each: |x| ≤ 65504, where softmax is rarely one-hot
//   2: signed bytes times 2^(byte 1 % 40 − 12): small integers from 2^-12 to 2^27 apart
//   3: a Float base (4 bytes) plus signed bytes times 2^(byte 1 % 16 − 8): near ties at any
//      magnitude, like logits of 10^8 that Float resolves to multiples of 8
struct KernelFuzzInput {
  /// rows × length values, row-major.
  var floats: [Float]
  /// The Double rows: the raw bytes as Double bit patterns under encoding 0, else `floats`.
  var doubles: [Double]
  var rows: Int
  /// Whether the single row is longer than a chunk and runs on two threads.
  var isLong: Bool
  var temperature: Float

  static let longLength = (1 << 16) + 1

  init?(_ bytes: UnsafeBufferPointer<UInt8>) {
    guard bytes.count >= 2 else { return nil }
    let mode = bytes[0]
    let parameter = Int(bytes[1])
    let payload = UnsafeBufferPointer(rebasing: bytes[2...])
    var values: [Float]
    doubles = []
    switch mode & 3 {
    case 0:
      values = Self.words(payload, as: UInt32.self).map(Float.init(bitPattern:))
      doubles = Self.words(payload, as: UInt64.self).map(Double.init(bitPattern:))
    case 1:
      values = Self.words(payload, as: UInt16.self).map { Float(Float16(bitPattern: $0)) }
    case 2:
      let scale = Float(sign: .plus, exponent: parameter % 40 - 12, significand: 1)
      values = payload.map { Float(Int8(bitPattern: $0)) * scale }
    default:
      guard let base = Self.words(payload, as: UInt32.self).first else { return nil }
      let scale = Float(sign: .plus, exponent: parameter % 16 - 8, significand: 1)
      values = payload.dropFirst(4).map {
        Float(bitPattern: base) + Float(Int8(bitPattern: $0)) * scale
      }
    }
    temperature = [1, 0.5, 3, 1e-30][Int(mode >> 6)]
    isLong = mode & 0x30 == 0x30 && !values.isEmpty
    if isLong {
      rows = 1
      values = (0..<Self.longLength).map { values[$0 % values.count] }
      doubles = []
    } else {
      rows = Int(mode >> 2 & 3) + 1
      values.removeLast(values.count % rows)
      doubles.removeLast(doubles.count % rows)
    }
    floats = values
    if doubles.isEmpty { doubles = values.map(Double.init) }
  }

  /// The bytes as little-endian words of `T`, a partial word at the end dropped.
  private static func words<T: FixedWidthInteger>(
    _ bytes: UnsafeBufferPointer<UInt8>, as _: T.Type
  ) -> [T] {
    let size = MemoryLayout<T>.size
    return (0..<bytes.count / size).map { i in
      (0..<size).reduce(T.zero) { word, k in word | T(bytes[i * size + k]) << (8 * k) }
    }
  }
}
