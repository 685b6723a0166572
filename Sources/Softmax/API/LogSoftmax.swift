// The public log-softmax, of one row and along one axis of a shaped array, in every form.

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
/// For `Float`, absolute error at most 1e-5 · max(1, |output[i]|) against the exact
/// log-softmax of the inputs, including logits of magnitude 10^8 and beyond, and gaps of 100
/// or more between the largest and the rest (tested). log Σ is split into a Float pair, so
/// entries near the top of a row with huge logits keep full precision. `Double`: within
/// 1e-12 · max(1, |result|); `Float16`: within 1e-5 · max(1, |result|) plus the final
/// rounding, results below −65520 are −inf.
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
@inlinable
public func logSoftmax<Element: SoftmaxElement>(
  _ input: UnsafeBufferPointer<Element>, into output: UnsafeMutableBufferPointer<Element>,
  threads: Int? = nil
) {
  Element._row(
    input, output, logarithm: true, algorithm: .auto, threads: threads, function: "logSoftmax")
}

/// Writes the log-softmax of a span into a span of the same count. See
/// ``logSoftmax(_:into:threads:)-(UnsafeBufferPointer<Element>,_,_)``. No allocation.
@inlinable
public func logSoftmax<Element: SoftmaxElement>(
  _ input: Span<Element>, into output: inout MutableSpan<Element>, threads: Int? = nil
) {
  withBuffers(input, &output) { x, y in
    logSoftmax(x, into: y, threads: threads)
  }
}

/// Writes the log-softmax of `input` into `output`, which must have the same count. See
/// ``logSoftmax(_:into:threads:)-(UnsafeBufferPointer<Element>,_,_)``. No allocation.
@inlinable
public func logSoftmax<Element: SoftmaxElement>(
  _ input: [Element], into output: inout [Element], threads: Int? = nil
) {
  var y = output.mutableSpan
  logSoftmax(input.span, into: &y, threads: threads)
}

/// The log-softmax of `input` as a new array. See
/// ``logSoftmax(_:into:threads:)-(UnsafeBufferPointer<Element>,_,_)``.
@inlinable
public func logSoftmax<Element: SoftmaxElement>(_ input: [Element], threads: Int? = nil)
  -> [Element]
{
  makeArray(count: input.count) { y in
    input.withUnsafeBufferPointer { x in logSoftmax(x, into: y, threads: threads) }
  }
}

/// Log-softmax along one axis of a row-major array of any rank: x − log Σ e^x over the axis.
///
/// ```swift
/// // Token log-probabilities for 4 sequences × 32000-word vocabulary.
/// let logits = [Float](repeating: 0, count: 4 * 32_000)
/// var logProbabilities = [Float](repeating: 0, count: logits.count)
/// logSoftmax(logits, shape: [4, 32_000], axis: 1, into: &logProbabilities)
/// ```
///
/// Layout, threads, masks, sinks and checks as for the shaped `softmax`; numerics and special
/// values as for ``logSoftmax(_:into:threads:)-(UnsafeBufferPointer<Element>,_,_)``.
@inlinable
public func logSoftmax<Element: SoftmaxElement>(
  _ input: UnsafeBufferPointer<Element>, shape: [Int], axis: Int = -1,
  into output: UnsafeMutableBufferPointer<Element>, threads: Int? = nil,
  mask: SoftmaxMask = .none, sink: Element? = nil, fullyMaskedRows: FullyMaskedRows = .zeros,
  temperature: Element = 1
) {
  let request = _SoftmaxRequest(
    "logSoftmax", logarithm: true, shape: shape, axis: axis, threads: threads, mask: mask,
    sink: sink, fullyMaskedRows: fullyMaskedRows, temperature: temperature)
  Element._compute(input, output, request)
}

/// Log-softmax along one axis of a row-major array, from a span into a span of the same
/// count.
@inlinable
public func logSoftmax<Element: SoftmaxElement>(
  _ input: Span<Element>, shape: [Int], axis: Int = -1, into output: inout MutableSpan<Element>,
  threads: Int? = nil, mask: SoftmaxMask = .none, sink: Element? = nil,
  fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Element = 1
) {
  withBuffers(input, &output) { x, y in
    logSoftmax(
      x, shape: shape, axis: axis, into: y, threads: threads, mask: mask, sink: sink,
      fullyMaskedRows: fullyMaskedRows, temperature: temperature)
  }
}

/// Log-softmax along one axis of a row-major array, into an array of the same count.
@inlinable
public func logSoftmax<Element: SoftmaxElement>(
  _ input: [Element], shape: [Int], axis: Int = -1, into output: inout [Element],
  threads: Int? = nil, mask: SoftmaxMask = .none, sink: Element? = nil,
  fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Element = 1
) {
  var y = output.mutableSpan
  logSoftmax(
    input.span, shape: shape, axis: axis, into: &y, threads: threads, mask: mask, sink: sink,
    fullyMaskedRows: fullyMaskedRows, temperature: temperature)
}

/// Log-softmax along one axis of a row-major array, as a new array.
@inlinable
public func logSoftmax<Element: SoftmaxElement>(
  _ input: [Element], shape: [Int], axis: Int = -1, threads: Int? = nil,
  mask: SoftmaxMask = .none, sink: Element? = nil, fullyMaskedRows: FullyMaskedRows = .zeros,
  temperature: Element = 1
) -> [Element] {
  makeArray(count: input.count) { y in
    input.withUnsafeBufferPointer { x in
      logSoftmax(
        x, shape: shape, axis: axis, into: y, threads: threads, mask: mask, sink: sink,
        fullyMaskedRows: fullyMaskedRows, temperature: temperature)
    }
  }
}
