// The public softmax of one row, in every form: buffers, spans, arrays. Each is a line that
// reaches `compute`; the numerics live in the operations (`Operations/`).

/// Writes the softmax of `input` into `output`: output[i] = e^(input[i]) / Σ_k e^(input[k]).
///
/// ```swift
/// let logits: [Float] = [2, 1, 0.1]
/// var probabilities = [Float](repeating: 0, count: logits.count)
/// logits.withUnsafeBufferPointer { x in
///   probabilities.withUnsafeMutableBufferPointer { y in
///     softmax(x, into: y, algorithm: .twoPass)
///   }
/// }
/// // probabilities ≈ [0.659, 0.242, 0.099]
/// ```
///
/// ## Numerics
/// For `Float`, every output is within a relative error of 1e-5 of the exact softmax of the
/// inputs (measured maximum: see BENCHMARKS.md), the outputs sum to 1 within about 1e-6, and
/// the result does not depend on the magnitude of the inputs: no input overflows, however
/// large. Probabilities below 2^-124 (about 4.7e-38) may be returned as 0; no output is ever
/// a subnormal number, so the speed does not depend on the floating-point mode. `Double` and
/// `Float16`: see ``SoftmaxElement``.
///
/// ## Special values
/// The same for every ``SoftmaxAlgorithm`` and element type:
/// - Finite inputs of any magnitude, up to the type's greatest finite magnitude: a finite
///   result.
/// - −inf entries get exactly 0; the other entries are normalized among themselves.
/// - A row of only −inf entries (a fully masked attention row) gives all zeros, not NaN:
///   such a row attends to nothing, and zeros keep NaN out of everything computed after it.
/// - +inf entries share the mass equally (the mathematical limit) and the rest get 0.
/// - Any NaN entry makes every output NaN.
/// - An empty input gives an empty output.
///
/// - Parameters:
///   - input: The logits.
///   - output: Receives the probabilities; it must have as many elements as `input`. It may be
///     the same memory as `input` (in place), but must not partly overlap it.
///   - algorithm: How to compute it; all algorithms give the same results up to rounding.
///   - threads: The most threads to use for this row, or nil (the default) to decide by its
///     length: rows of 2^18 elements and more use every CPU, shorter ones one thread. The row
///     is cut into chunks by its length alone and partial sums merge in a fixed order, so
///     the result is bitwise the same for every thread count.
/// - Precondition: `input.count == output.count`, the buffers are identical or disjoint, and
///   `threads` is nil or at least 1. A violation traps with a message that names it.
@inlinable
public func softmax<Element: SoftmaxElement>(
  _ input: UnsafeBufferPointer<Element>, into output: UnsafeMutableBufferPointer<Element>,
  algorithm: SoftmaxAlgorithm = .auto, threads: Int? = nil
) {
  Element._row(
    input, output, logarithm: false, algorithm: algorithm, threads: threads, function: "softmax")
}

/// Writes the softmax of `input` into `output`, which must have the same count.
///
/// ```swift
/// func probabilities(of logits: ArraySlice<Float>, into output: inout [Float]) {
///   var y = output.mutableSpan
///   softmax(logits.span, into: &y)
/// }
/// ```
///
/// Spans take arrays, `ContiguousArray`s, `ArraySlice`s and other contiguous storage without
/// a copy. Numerics and special values as for
/// ``softmax(_:into:algorithm:threads:)-(UnsafeBufferPointer<Element>,_,_,_)``. No allocation.
///
/// - Precondition: `input.count == output.count`; a mismatch traps with a message naming both.
@inlinable
public func softmax<Element: SoftmaxElement>(
  _ input: Span<Element>, into output: inout MutableSpan<Element>,
  algorithm: SoftmaxAlgorithm = .auto, threads: Int? = nil
) {
  withBuffers(input, &output) { x, y in
    softmax(x, into: y, algorithm: algorithm, threads: threads)
  }
}

/// Writes the softmax of `input` into `output`, which must have the same count.
///
/// ```swift
/// let logits: [Float] = [2, 1, 0.1]
/// var probabilities = [Float](repeating: 0, count: 3)
/// softmax(logits, into: &probabilities, algorithm: .threePassReload)
/// ```
///
/// Numerics and special values as for
/// ``softmax(_:into:algorithm:threads:)-(UnsafeBufferPointer<Element>,_,_,_)``. No allocation.
///
/// - Precondition: `input.count == output.count`; a mismatch traps with a message naming both.
@inlinable
public func softmax<Element: SoftmaxElement>(
  _ input: [Element], into output: inout [Element], algorithm: SoftmaxAlgorithm = .auto,
  threads: Int? = nil
) {
  var y = output.mutableSpan
  softmax(input.span, into: &y, algorithm: algorithm, threads: threads)
}

/// The softmax of `input` as a new array: e^(input[i]) / Σ_k e^(input[k]).
///
/// ```swift
/// let probabilities = softmax([2, 1, 0.1] as [Float])  // ≈ [0.659, 0.242, 0.099]
/// let precise = softmax([1e39, 1e39, 0] as [Double])  // [0.5, 0.5, 0]
/// ```
///
/// Numerics and special values as for
/// ``softmax(_:into:algorithm:threads:)-(UnsafeBufferPointer<Element>,_,_,_)``. Allocates the
/// result.
@inlinable
public func softmax<Element: SoftmaxElement>(
  _ input: [Element], algorithm: SoftmaxAlgorithm = .auto, threads: Int? = nil
) -> [Element] {
  makeArray(count: input.count) { y in
    input.withUnsafeBufferPointer { x in
      softmax(x, into: y, algorithm: algorithm, threads: threads)
    }
  }
}

/// Replaces every element of `values` by its softmax, in place.
///
/// ```swift
/// var scores: [Float] = [2, 1, 0.1]
/// softmaxInPlace(&scores)  // scores ≈ [0.659, 0.242, 0.099]
/// ```
///
/// Numerics and special values as for
/// ``softmax(_:into:algorithm:threads:)-(UnsafeBufferPointer<Element>,_,_,_)``. No allocation.
@inlinable
public func softmaxInPlace<Element: SoftmaxElement>(
  _ values: inout [Element], algorithm: SoftmaxAlgorithm = .auto, threads: Int? = nil
) {
  values.withUnsafeMutableBufferPointer { y in
    softmax(UnsafeBufferPointer(y), into: y, algorithm: algorithm, threads: threads)
  }
}
