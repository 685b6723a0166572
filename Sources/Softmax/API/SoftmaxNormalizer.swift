internal import SoftmaxKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The denominator of a softmax, Σ e^(x_i), kept so that it never overflows or underflows,
/// and mergeable: the value that pass 1 of the Two-Pass algorithm produces, as a public type.
///
/// With it a softmax can be computed over values that never sit in one buffer: chunks of a
/// stream, shards on different machines, or a vocabulary split across devices. Accumulate a
/// normalizer per chunk, merge them (in any order), then normalize each chunk:
///
/// ```swift
/// let chunks: [[Float]] = [[2, 1], [0.1, -1, 3.5]]
/// var total = SoftmaxNormalizer()
/// for chunk in chunks {
///   total.merge(SoftmaxNormalizer(accumulating: chunk))
/// }
/// let probabilities = chunks.map { total.normalize($0) }
/// // the same as softmax([2, 1, 0.1, -1, 3.5]), chunk by chunk
/// let logProbabilities = chunks.map { total.logNormalize($0) }
/// print(total.logSum)  // log Σ e^x ≈ 3.7999, finite for any finite input
/// ```
///
/// ## Representation
/// Σ e^x = e^`shift` · `mantissa` · 2^`exponent`. Rows whose values lie within ±2800 (the
/// Two-Pass range) keep `shift` = 0 and the exact (mantissa, exponent) pair of pass 1;
/// others keep their maximum as `shift` and Σ e^(x − max) as `mantissa`, so that values of
/// any finite magnitude are represented without loss. Double values always take the second
/// form (a compensated Double sum, logits up to ±1.8e308); Float16 values are widened to
/// Float. Normalizers of any element types merge. Merging rescales the
/// smaller sum to the larger, by an exact power of two when both are pairs, so merging is
/// associative and commutative up to the rounding of one Double addition per merge.
///
/// ## Special values
/// A NaN value makes the normalizer NaN (`logSum` and every normalized output NaN). +inf
/// values are counted: normalizing gives each +inf entry 1/count and every other entry 0.
/// Only −inf values, or none, give an empty sum: `logSum` is −inf and normalizing gives zeros
/// (log-softmax: −inf), the policy of ``softmax(_:into:algorithm:threads:)-(UnsafeBufferPointer<Element>,_,_,_)``.
///
/// Codable: a normalizer with a NaN or infinite field needs an encoder that allows
/// non-conforming floats (for example `JSONEncoder.nonConformingFloatEncodingStrategy`).
public struct SoftmaxNormalizer: Sendable, Hashable, Codable {
  /// e^shift is a factor of the sum: 0 for sums in pair form, the largest value otherwise.
  public internal(set) var shift: Double
  /// The sum's mantissa (NaN when a value was NaN).
  public internal(set) var mantissa: Double
  /// The sum's power of two, an integer-valued Double.
  public internal(set) var exponent: Double
  /// How many +inf values were accumulated.
  public internal(set) var infinityCount: Int

  /// The empty sum: `logSum` is −inf.
  public init() {
    self.init(shift: 0, mantissa: 0, exponent: 0, infinityCount: 0)
  }

  init(shift: Double, mantissa: Double, exponent: Double, infinityCount: Int) {
    self.shift = shift
    self.mantissa = mantissa
    self.exponent = exponent
    self.infinityCount = infinityCount
  }

  /// Σ e^(values[i]). `threads` as for `softmax`: nil decides by the length. No allocation.
  ///
  /// Float values: pass 1 of Two-Pass, or the maximum and Σ e^(x − max) for values outside
  /// ±2800. Double values: the maximum and Σ e^(x − max) in compensated Double blocks, for
  /// values of any finite Double magnitude. Float16 values: widened block by block to Float.
  @inlinable
  public init<Element: SoftmaxElement>(
    accumulating values: UnsafeBufferPointer<Element>, threads: Int? = nil
  ) {
    self = Element._accumulate(values, threads: threads)
  }

  /// Σ e^(values[i]) of a span (arrays, slices and other contiguous storage without a copy).
  @inlinable
  public init<Element: SoftmaxElement>(accumulating values: Span<Element>, threads: Int? = nil) {
    self = values.withUnsafeBufferPointer { Element._accumulate($0, threads: threads) }
  }

  /// Σ e^(values[i]); see ``init(accumulating:threads:)-(UnsafeBufferPointer<Element>,_)``.
  @inlinable
  public init<Element: SoftmaxElement>(accumulating values: [Element], threads: Int? = nil) {
    self = values.withUnsafeBufferPointer { Element._accumulate($0, threads: threads) }
  }

  /// Whether nothing but −inf (or nothing at all) was accumulated.
  public var isEmpty: Bool { infinityCount == 0 && mantissa == 0 }

  /// log Σ e^x as a Double: finite for any finite, non-empty input; −inf when empty, +inf
  /// with +inf values, NaN with NaN values.
  public var logSum: Double {
    if mantissa.isNaN { return .nan }
    if infinityCount > 0 { return .infinity }
    if mantissa == 0 { return -.infinity }
    return (shift + exponent * ln2) + log(mantissa)
  }

  /// Adds the values that `other` accumulated. Associative and commutative up to rounding.
  public mutating func merge(_ other: SoftmaxNormalizer) {
    self = merging(other)
  }

  /// The normalizer of the values of both.
  public func merging(_ other: SoftmaxNormalizer) -> SoftmaxNormalizer {
    if mantissa.isNaN || other.mantissa.isNaN {
      return SoftmaxNormalizer(shift: 0, mantissa: .nan, exponent: 0, infinityCount: 0)
    }
    if infinityCount > 0 || other.infinityCount > 0 {
      return SoftmaxNormalizer(
        shift: 0, mantissa: 0, exponent: 0, infinityCount: infinityCount + other.infinityCount)
    }
    if other.mantissa == 0 { return self }
    if mantissa == 0 { return other }
    if shift == 0 && other.shift == 0 {
      // Both pairs: rescale by an exact power of two, as pass 1 does.
      let e = Swift.max(exponent, other.exponent)
      let m = scaled(mantissa, by: exponent - e) + scaled(other.mantissa, by: other.exponent - e)
      return SoftmaxNormalizer(shift: 0, mantissa: m, exponent: e, infinityCount: 0)
    }
    // log(other) − log(self), from the parts, so that huge shifts cancel exactly.
    let difference =
      (other.shift - shift) + (other.exponent - exponent) * ln2
      + log(other.mantissa / mantissa)
    var larger = difference > 0 ? other : self
    larger.mantissa += larger.mantissa * exp(-Swift.abs(difference))
    return larger
  }

  /// Writes e^(values[i]) / Σ into `output`: the softmax of `values` within everything this
  /// normalizer accumulated. `values` must be (a part of) what was accumulated; `output` may
  /// be the same buffer. Numerics and special values as for `softmax`. No allocation.
  ///
  /// - Precondition: `values.count == output.count`, and the buffers are identical or
  ///   disjoint.
  @inlinable
  public func normalize<Element: SoftmaxElement>(
    _ values: UnsafeBufferPointer<Element>, into output: UnsafeMutableBufferPointer<Element>,
    threads: Int? = nil
  ) {
    Element._normalize(values, into: output, by: self, logarithm: false, threads: threads)
  }

  /// The softmax of a span within everything this normalizer accumulated, into a span.
  @inlinable
  public func normalize<Element: SoftmaxElement>(
    _ values: Span<Element>, into output: inout MutableSpan<Element>, threads: Int? = nil
  ) {
    withBuffers(values, &output) { x, y in
      Element._normalize(x, into: y, by: self, logarithm: false, threads: threads)
    }
  }

  /// The softmax of `values` within everything this normalizer accumulated.
  @inlinable
  public func normalize<Element: SoftmaxElement>(_ values: [Element], threads: Int? = nil)
    -> [Element]
  {
    map(values, logarithm: false, threads: threads)
  }

  /// Writes log(e^(values[i]) / Σ) = values[i] − `logSum` into `output`, without an
  /// exponential: the log-softmax of `values` within everything this normalizer accumulated.
  /// The subtraction keeps an absolute error within a few ulp of max(1, |result|) for inputs
  /// of any magnitude. Entries equal to −inf give −inf; an empty sum gives −inf everywhere;
  /// with +inf values, their entries get −log(count) and the others −inf; NaN gives NaN.
  ///
  /// - Precondition: `values.count == output.count`, and the buffers are identical or
  ///   disjoint.
  @inlinable
  public func logNormalize<Element: SoftmaxElement>(
    _ values: UnsafeBufferPointer<Element>, into output: UnsafeMutableBufferPointer<Element>,
    threads: Int? = nil
  ) {
    Element._normalize(values, into: output, by: self, logarithm: true, threads: threads)
  }

  /// The log-softmax of a span within everything this normalizer accumulated, into a span.
  @inlinable
  public func logNormalize<Element: SoftmaxElement>(
    _ values: Span<Element>, into output: inout MutableSpan<Element>, threads: Int? = nil
  ) {
    withBuffers(values, &output) { x, y in
      Element._normalize(x, into: y, by: self, logarithm: true, threads: threads)
    }
  }

  /// The log-softmax of `values` within everything this normalizer accumulated.
  @inlinable
  public func logNormalize<Element: SoftmaxElement>(_ values: [Element], threads: Int? = nil)
    -> [Element]
  {
    map(values, logarithm: true, threads: threads)
  }

  @inlinable
  func map<Element: SoftmaxElement>(_ values: [Element], logarithm: Bool, threads: Int?)
    -> [Element]
  {
    makeArray(count: values.count) { y in
      values.withUnsafeBufferPointer { x in
        Element._normalize(x, into: y, by: self, logarithm: logarithm, threads: threads)
      }
    }
  }

  /// The normalizer of `values` by `body`, the element type's pass 1 over `count` ≥ 1 values
  /// with a resolved thread count.
  static func accumulate<Element>(
    _ values: UnsafeBufferPointer<Element>, threads: Int?,
    _ body: (UnsafePointer<Element>, Int, Int) -> SoftmaxNormalizer
  ) -> SoftmaxNormalizer {
    let threads = validatedThreads(threads, count: values.count)
    guard let x = values.baseAddress, values.count > 0 else { return SoftmaxNormalizer() }
    return body(x, values.count, threads)
  }

  /// Checks the buffers and runs `body`, the element type's output pass, on a non-empty call.
  func normalize<Element>(
    _ values: UnsafeBufferPointer<Element>, _ output: UnsafeMutableBufferPointer<Element>,
    logarithm: Bool, threads: Int?, _ body: (NormalizeCall<Element>) -> Void
  ) {
    checkBuffers("SoftmaxNormalizer", values, output)
    let threads = validatedThreads(threads, count: values.count)
    guard let x = values.baseAddress, let y = output.baseAddress, values.count > 0 else {
      return
    }
    body(
      NormalizeCall(
        normalizer: self, x: x, y: y, count: values.count,
        output: logarithm ? .logProbabilities : .probabilities, threads: threads))
  }
}

/// A checked normalization of one non-empty buffer.
struct NormalizeCall<Element> {
  let normalizer: SoftmaxNormalizer
  let x: UnsafePointer<Element>
  let y: UnsafeMutablePointer<Element>
  let count: Int
  let output: RowOutput
  let threads: Int
}

let ln2 = 0.693_147_180_559_945_309_417_232_121_458

/// m · 2^d in Double for integer-valued d ≤ 0.
private func scaled(_ m: Double, by d: Double) -> Double {
  d < -1100 ? 0 : m * Double(sign: .plus, exponent: Int(d), significand: 1)
}
