// The backward passes of softmax and log-softmax along one axis of a shaped array.

/// The gradient of a loss with respect to the input of a softmax, from the softmax's output
/// y and the gradient dy of the loss with respect to it: dx = y ⊙ (dy − Σ dy ⊙ y), along the
/// same axis as the softmax.
///
/// Two passes over each row: Σ dy ⊙ y accumulated in Double, then the output. Within 1e-5
/// relative of the Double result wherever |dx| is not tiny against |y| · Σ|dy ⊙ y| (the
/// subtraction cancels there), for every finite dy up to the type's greatest finite
/// magnitude: Float rows whose Σ dy ⊙ y reaches 2^103 (Σ dy beyond Float's range for the
/// log-softmax) are written in Double, since the Float subtraction could overflow where dx
/// does not. Many rows spread across the threads, a few long ones are split into chunks; the
/// result does not depend on the thread count. NaN or infinite values propagate as IEEE
/// arithmetic gives them.
///
/// - Parameters:
///   - output: y, the softmax's output.
///   - outputGradient: dy, of the same count.
///   - shape: The dimensions, as for the softmax.
///   - axis: The axis of the softmax; negative counts from the end.
///   - inputGradient: Receives dx; may be the same memory as `outputGradient` or `output`.
///   - threads: The most threads to use, or nil to decide by the size.
/// - Precondition: the shape's element count equals every buffer's count, and
///   `inputGradient` is identical to or disjoint from each input.
@inlinable
public func softmaxBackward<Element: SoftmaxElement>(
  output: UnsafeBufferPointer<Element>, outputGradient: UnsafeBufferPointer<Element>,
  shape: [Int], axis: Int = -1, into inputGradient: UnsafeMutableBufferPointer<Element>,
  threads: Int? = nil
) {
  _ = Element._train(
    _TrainingCall(
      "softmaxBackward", .backward(logarithm: false), input: output, second: outputGradient,
      output: inputGradient, shape: shape, axis: axis, threads: threads))
}

/// The softmax backward from spans into a span. See
/// ``softmaxBackward(output:outputGradient:shape:axis:into:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_)``.
@inlinable
public func softmaxBackward<Element: SoftmaxElement>(
  output: Span<Element>, outputGradient: Span<Element>, shape: [Int], axis: Int = -1,
  into inputGradient: inout MutableSpan<Element>, threads: Int? = nil
) {
  output.withUnsafeBufferPointer { y in
    outputGradient.withUnsafeBufferPointer { dy in
      inputGradient.withUnsafeMutableBufferPointer { dx in
        softmaxBackward(
          output: y, outputGradient: dy, shape: shape, axis: axis, into: dx, threads: threads)
      }
    }
  }
}

/// The softmax backward as a new array. See
/// ``softmaxBackward(output:outputGradient:shape:axis:into:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_)``.
///
/// ```swift
/// let y = softmax([1, 2, 3] as [Float])
/// let dx = softmaxBackward(output: y, outputGradient: [0, 0, 1], shape: [3])
/// // ∂y₂/∂x = y₂ · (one-hot₂ − y) ≈ [-0.0600, -0.1632, 0.2232]
/// ```
@inlinable
public func softmaxBackward<Element: SoftmaxElement>(
  output: [Element], outputGradient: [Element], shape: [Int], axis: Int = -1,
  threads: Int? = nil
) -> [Element] {
  makeArray(count: output.count) { dx in
    output.withUnsafeBufferPointer { y in
      outputGradient.withUnsafeBufferPointer { dy in
        softmaxBackward(
          output: y, outputGradient: dy, shape: shape, axis: axis, into: dx, threads: threads)
      }
    }
  }
}

/// The gradient with respect to the input of a log-softmax, from its output logY and the
/// gradient dy with respect to it: dx = dy − e^logY ⊙ Σ dy, along the same axis.
///
/// Two passes over each row: Σ dy in Double, then the output with one exponential per element
/// (within 2 ulp). Accuracy, threads and special values as for
/// ``softmaxBackward(output:outputGradient:shape:axis:into:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_)``.
///
/// - Precondition: the shape's element count equals every buffer's count, and
///   `inputGradient` is identical to or disjoint from each input.
@inlinable
public func logSoftmaxBackward<Element: SoftmaxElement>(
  output: UnsafeBufferPointer<Element>, outputGradient: UnsafeBufferPointer<Element>,
  shape: [Int], axis: Int = -1, into inputGradient: UnsafeMutableBufferPointer<Element>,
  threads: Int? = nil
) {
  _ = Element._train(
    _TrainingCall(
      "logSoftmaxBackward", .backward(logarithm: true), input: output, second: outputGradient,
      output: inputGradient, shape: shape, axis: axis, threads: threads))
}

/// The log-softmax backward from spans into a span. See
/// ``logSoftmaxBackward(output:outputGradient:shape:axis:into:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_)``.
@inlinable
public func logSoftmaxBackward<Element: SoftmaxElement>(
  output: Span<Element>, outputGradient: Span<Element>, shape: [Int], axis: Int = -1,
  into inputGradient: inout MutableSpan<Element>, threads: Int? = nil
) {
  output.withUnsafeBufferPointer { y in
    outputGradient.withUnsafeBufferPointer { dy in
      inputGradient.withUnsafeMutableBufferPointer { dx in
        logSoftmaxBackward(
          output: y, outputGradient: dy, shape: shape, axis: axis, into: dx, threads: threads)
      }
    }
  }
}

/// The log-softmax backward as a new array. See
/// ``logSoftmaxBackward(output:outputGradient:shape:axis:into:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_)``.
@inlinable
public func logSoftmaxBackward<Element: SoftmaxElement>(
  output: [Element], outputGradient: [Element], shape: [Int], axis: Int = -1,
  threads: Int? = nil
) -> [Element] {
  makeArray(count: output.count) { dx in
    output.withUnsafeBufferPointer { y in
      outputGradient.withUnsafeBufferPointer { dy in
        logSoftmaxBackward(
          output: y, outputGradient: dy, shape: shape, axis: axis, into: dx, threads: threads)
      }
    }
  }
}
