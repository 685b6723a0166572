internal import SoftmaxKernels

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
/// Every output is within a relative error of 1e-5 of the exact softmax of the Float inputs
/// (measured maximum: see the README), the outputs sum to 1 within about 1e-6, and the result
/// does not depend on the magnitude of the inputs: no input overflows, however large.
/// Probabilities below 2^-124 (about 4.7e-38) may be returned as 0; no output is ever a
/// subnormal number, so the speed does not depend on the floating-point mode.
///
/// ## Special values
/// The same for every ``SoftmaxAlgorithm``:
/// - Finite inputs of any magnitude, up to ±Float.greatestFiniteMagnitude: a finite result.
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
public func softmax(
  _ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
  algorithm: SoftmaxAlgorithm = .auto, threads: Int? = nil
) {
  checkBuffers("softmax", input, output)
  let threadCount = validatedThreads(threads, count: input.count)
  guard let x = input.baseAddress, let y = output.baseAddress, input.count > 0 else { return }
  RowAlgorithms.run(algorithm, x, y, count: input.count, threads: threadCount)
}

/// Traps, naming `function`, unless the buffers have the same count and are identical or
/// disjoint.
func checkBuffers<Element>(
  _ function: String, _ input: UnsafeBufferPointer<Element>,
  _ output: UnsafeMutableBufferPointer<Element>
) {
  guard input.count == output.count else {
    fatalError(
      "\(function): the input has \(input.count) elements but the output has \(output.count); "
        + "they must have the same count")
  }
  guard let x = input.baseAddress, let y = output.baseAddress else { return }
  let xs = UnsafeRawPointer(x)
  let ys = UnsafeRawPointer(y)
  let bytes = input.count * MemoryLayout<Element>.stride
  if xs != ys && xs < ys + bytes && ys < xs + bytes {
    fatalError(
      "\(function): the input and the output overlap without being the same buffer; "
        + "pass the same buffer for in-place use or disjoint buffers")
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
/// ``softmax(_:into:algorithm:threads:)-(UnsafeBufferPointer<Float>,_,_,_)``. No allocation.
///
/// - Precondition: `input.count == output.count`; a mismatch traps with a message naming both.
public func softmax(
  _ input: [Float], into output: inout [Float], algorithm: SoftmaxAlgorithm = .auto,
  threads: Int? = nil
) {
  guard input.count == output.count else {
    fatalError(
      "softmax: the input has \(input.count) elements but the output has \(output.count); "
        + "they must have the same count")
  }
  input.withUnsafeBufferPointer { x in
    output.withUnsafeMutableBufferPointer { y in
      softmax(x, into: y, algorithm: algorithm, threads: threads)
    }
  }
}

/// The softmax of `input` as a new array: e^(input[i]) / Σ_k e^(input[k]).
///
/// ```swift
/// let probabilities = softmax([2, 1, 0.1] as [Float])  // ≈ [0.659, 0.242, 0.099]
/// ```
///
/// Numerics and special values as for
/// ``softmax(_:into:algorithm:threads:)-(UnsafeBufferPointer<Float>,_,_,_)``. Allocates the result.
public func softmax(
  _ input: [Float], algorithm: SoftmaxAlgorithm = .auto, threads: Int? = nil
) -> [Float] {
  [Float](unsafeUninitializedCapacity: input.count) { output, initialized in
    input.withUnsafeBufferPointer { x in
      softmax(x, into: output, algorithm: algorithm, threads: threads)
    }
    initialized = input.count
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
/// ``softmax(_:into:algorithm:threads:)-(UnsafeBufferPointer<Float>,_,_,_)``. No allocation.
public func softmaxInPlace(
  _ values: inout [Float], algorithm: SoftmaxAlgorithm = .auto, threads: Int? = nil
) {
  values.withUnsafeMutableBufferPointer { y in
    softmax(UnsafeBufferPointer(y), into: y, algorithm: algorithm, threads: threads)
  }
}
