internal import SoftmaxKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes the softmax of Double values into `output`, in Double precision.
///
/// ```swift
/// let p = softmax([2, 1, 0.1] as [Double])  // ≈ [0.659001, 0.242433, 0.098566]
/// ```
///
/// Three-Pass reload on `SIMD8<Double>` with a Double exponential (within about 2 ulp): every
/// probability of at least 1e-300 is within a relative error of 1e-13 of the exact softmax of
/// the inputs at any length (tested up to 2^22 elements), probabilities below about 1e-307 are
/// 0 (never subnormal). The sum Σ e^(x − max) is taken in blocks of 1024 elements in the
/// vector lanes, and the block sums are added with compensation (TwoSum), so its rounding
/// error does not grow with the row's length. One thread,
/// no allocation. Special values as for the Float `softmax`: −inf entries get 0, only −inf gives
/// zeros, +inf entries share the mass, any NaN gives NaN, inputs of any finite magnitude work.
///
/// - Precondition: `input.count == output.count` and the buffers are identical or disjoint.
public func softmax(
  _ input: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>
) {
  doubleRow(input, output, logarithm: false, function: "softmax")
}

/// The softmax of Double values as a new array, in Double precision. See
/// ``softmax(_:into:)-(UnsafeBufferPointer<Double>,_)``.
public func softmax(_ input: [Double]) -> [Double] {
  [Double](unsafeUninitializedCapacity: input.count) { output, initialized in
    input.withUnsafeBufferPointer { softmax($0, into: output) }
    initialized = input.count
  }
}

/// Writes the log-softmax of Double values into `output`: x − max − log Σ e^(x − max), in
/// Double precision, with the special values of the Float `logSoftmax`.
///
/// - Precondition: `input.count == output.count` and the buffers are identical or disjoint.
public func logSoftmax(
  _ input: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>
) {
  doubleRow(input, output, logarithm: true, function: "logSoftmax")
}

/// The log-softmax of Double values as a new array, in Double precision.
public func logSoftmax(_ input: [Double]) -> [Double] {
  [Double](unsafeUninitializedCapacity: input.count) { output, initialized in
    input.withUnsafeBufferPointer { logSoftmax($0, into: output) }
    initialized = input.count
  }
}

private func doubleRow(
  _ input: UnsafeBufferPointer<Double>, _ output: UnsafeMutableBufferPointer<Double>,
  logarithm: Bool, function: String
) {
  checkBuffers(function, input, output)
  guard let x = input.baseAddress, let y = output.baseAddress, input.count > 0 else { return }
  let count = input.count
  let maximum = maxDouble_simd8(x, count: count)
  guard maximum.isFinite else {
    // ±inf maxima and NaN: the contract, element by element.
    var infinities = 0
    for i in 0..<count {
      if x[i].isNaN { return y.update(repeating: .nan, count: count) }
      if x[i] == .infinity { infinities += 1 }
    }
    for i in 0..<count {
      let top = infinities > 0 && x[i] == .infinity
      if logarithm {
        y[i] = top ? -log(Double(infinities)) : -.infinity
      } else {
        y[i] = top ? 1 / Double(infinities) : 0
      }
    }
    return
  }
  if logarithm {
    // Σ e^(x − max) without storing (the output is written once, as x − max − log Σ).
    var sum = 0.0
    var compensation = 0.0
    for i in 0..<count {
      let term = exp(x[i] - maximum)
      let t = sum + term
      compensation += sum >= term ? (sum - t) + term : (term - t) + sum
      sum = t
    }
    let logSum = log(sum + compensation)
    if logSum.isNaN { return y.update(repeating: .nan, count: count) }
    for i in 0..<count { y[i] = (x[i] - maximum) - logSum }
    return
  }
  let sum = sumAndStoreExpDouble_simd8(x, y, count: count, shift: maximum).value
  guard !sum.isNaN else { return y.update(repeating: .nan, count: count) }
  let scale = 1 / sum
  scaleDouble_simd8(y, count: count, scale: scale, threshold: 0x1p-1020 / scale)
}
