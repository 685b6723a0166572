/// Writes the log-softmax of `input` into `output`: output[i] = input[i] − log Σ_k e^(input[k]).
///
/// ```swift
/// let logits: [Float] = [1e8, 1e8 - 128, 0]
/// var logProbabilities = [Float](repeating: 0, count: 3)
/// logSoftmax(logits, into: &logProbabilities)
/// // [0 (−2.6e-56 rounded), -128, -1e8], where log(softmax(x)) would give -inf twice
/// ```
///
/// Computed from the Two-Pass representation: pass 1 accumulates a ``SoftmaxNormalizer``,
/// pass 2 subtracts its `logSum` from every input, so no probability is exponentiated and
/// then logged: no log of an underflowed 0, no overflow for logits of any magnitude.
///
/// ## Numerics
/// Absolute error at most 1e-5 · max(1, |output[i]|) against the exact log-softmax of the
/// Float inputs, including logits of magnitude 10^8 and beyond, and gaps of 100 or more
/// between the largest and the rest (tested). log Σ is split into a Float pair, so entries near
/// the top of a row with huge logits keep full precision.
///
/// ## Special values
/// −inf entries give −inf (probability 0); a row of only −inf entries gives −inf everywhere;
/// with +inf entries, those give −log(count of +inf) and the rest −inf; any NaN gives NaN
/// everywhere; empty input gives empty output.
///
/// - Parameters:
///   - input: The logits.
///   - output: Receives log-probabilities; the same count as `input`. It may be the same
///     memory as `input` (in place), but must not partly overlap it.
///   - threads: The most threads to use, or nil to decide by the length (as for `softmax`).
/// - Precondition: `input.count == output.count`, the buffers are identical or disjoint, and
///   `threads` is nil or at least 1. A violation traps with a message that names it.
public func logSoftmax(
  _ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
  threads: Int? = nil
) {
  checkBuffers("logSoftmax", input, output)
  SoftmaxNormalizer(accumulating: input, threads: threads)
    .logNormalize(input, into: output, threads: threads)
}

/// Writes the log-softmax of `input` into `output`, which must have the same count. See
/// ``logSoftmax(_:into:threads:)-(UnsafeBufferPointer<Float>,_,_)``. No allocation.
public func logSoftmax(_ input: [Float], into output: inout [Float], threads: Int? = nil) {
  guard input.count == output.count else {
    fatalError(
      "logSoftmax: the input has \(input.count) elements but the output has \(output.count); "
        + "they must have the same count")
  }
  input.withUnsafeBufferPointer { x in
    output.withUnsafeMutableBufferPointer { y in logSoftmax(x, into: y, threads: threads) }
  }
}

/// The log-softmax of `input` as a new array. See
/// ``logSoftmax(_:into:threads:)-(UnsafeBufferPointer<Float>,_,_)``.
public func logSoftmax(_ input: [Float], threads: Int? = nil) -> [Float] {
  [Float](unsafeUninitializedCapacity: input.count) { output, initialized in
    input.withUnsafeBufferPointer { logSoftmax($0, into: output, threads: threads) }
    initialized = input.count
  }
}
