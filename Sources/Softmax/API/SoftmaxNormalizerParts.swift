// A normalizer rebuilt from its public fields: for normalizers that travel as plain numbers.

extension SoftmaxNormalizer {
  /// The normalizer whose fields are `shift`, `mantissa`, `exponent` and `infinityCount`:
  /// the inverse of reading those four properties, for normalizers that cross a process or
  /// machine boundary as plain numbers (an MPI reduction buffer, shared memory, a tensor)
  /// rather than through `Codable`.
  ///
  /// Any values a normalizer can hold are accepted, and give back that normalizer field for
  /// field, bitwise, so the round trip through the four fields is lossless and merging rebuilt
  /// normalizers gives bitwise what merging the originals gives. Returns nil for fields no
  /// normalizer holds: a negative `infinityCount`, a non-finite `shift`, an `exponent` that is
  /// not a finite integer of magnitude at most 2^31, or a `mantissa` that is negative or
  /// infinite (a NaN `mantissa`, the NaN normalizer, is accepted, whatever the other fields).
  ///
  /// ```swift
  /// let sent = SoftmaxNormalizer(accumulating: [Float(1), 2, 3])
  /// let fields = (sent.shift, sent.mantissa, sent.exponent, sent.infinityCount)
  /// let received = SoftmaxNormalizer(
  ///   reassemblingShift: fields.0, mantissa: fields.1, exponent: fields.2,
  ///   infinityCount: fields.3)
  /// // received == sent
  /// ```
  public init?(
    reassemblingShift shift: Double, mantissa: Double, exponent: Double, infinityCount: Int
  ) {
    if mantissa.isNaN {
      self.init(shift: 0, mantissa: .nan, exponent: 0, infinityCount: 0)
      return
    }
    guard infinityCount >= 0, shift.isFinite, mantissa >= 0, mantissa.isFinite,
      exponent.isFinite, exponent.rounded() == exponent, Swift.abs(exponent) <= 0x1p31
    else { return nil }
    self.init(
      shift: shift, mantissa: mantissa, exponent: exponent, infinityCount: infinityCount)
  }
}
