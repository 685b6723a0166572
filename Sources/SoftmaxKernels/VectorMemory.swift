// Loads and stores of FloatVector at any alignment, and the partial forms for row tails.

extension UnsafePointer where Pointee == Float {
  @inline(__always)
  func loadVector(at offset: Int) -> FloatVector {
    UnsafeRawPointer(self + offset).loadUnaligned(as: FloatVector.self)
  }

  /// The first `count` (< 16) elements, the other lanes set to `padding`.
  @inline(__always)
  func loadPartialVector(at offset: Int, count: Int, padding: Float) -> FloatVector {
    var v = FloatVector(repeating: padding)
    for lane in 0..<count { v[lane] = self[offset + lane] }
    return v
  }
}

extension UnsafeMutablePointer where Pointee == Float {
  @inline(__always)
  func storeVector(_ v: FloatVector, at offset: Int) {
    UnsafeMutableRawPointer(self + offset).storeBytes(of: v, as: FloatVector.self)
  }

  @inline(__always)
  func storePartialVector(_ v: FloatVector, at offset: Int, count: Int) {
    for lane in 0..<count { self[offset + lane] = v[lane] }
  }
}

/// Lanes at index `count` and above, for masking the padded lanes of a tail vector.
@inline(__always)
func lanes(from count: Int) -> SIMDMask<SIMD16<Int32>> {
  SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) .>= Int32(count)
}
