// The multiclass hinge loss: the SVM heads' alternative to softmax cross-entropy.

/// The multiclass hinge loss with labels (PyTorch's `MultiMarginLoss`), and optionally its
/// gradient with respect to the logits: per row, Σ_{i ≠ label} max(0, margin − x_label +
/// x_i)^p / C with p = 1, or p = 2 when `squared` (the squared hinge of the SVM-head papers),
/// C the number of classes; gradient p · h_i^(p−1) / C on each class inside the margin and
/// minus their sum on the label, times 1 / rows kept for `.mean`. Sums in Double. A NaN in
/// the row gives NaN; infinities give the IEEE limits.
///
/// ```swift
/// let logits: [Float] = [2, 1.5, -1]
/// let loss = multiclassHingeLoss(logits: logits, shape: [3], labels: [0])  // (0.5 + 0) / 3
/// ```
///
/// - Precondition: as for the cross-entropy with labels; `margin` is finite.
@inlinable
public func multiclassHingeLoss<Element: SoftmaxElement>(
  logits: UnsafeBufferPointer<Element>, shape: [Int], axis: Int = -1,
  labels: UnsafeBufferPointer<Int32>, margin: Double = 1, squared: Bool = false,
  reduction: LossReduction = .mean, ignoreIndex: Int32? = nil,
  gradient: UnsafeMutableBufferPointer<Element>? = nil,
  losses: UnsafeMutableBufferPointer<Element>? = nil, threads: Int? = nil
) -> Element {
  precondition(margin.isFinite, "multiclassHingeLoss: margin must be finite, not \(margin)")
  return Element(
    Element._train(
      _TrainingCall(
        "multiclassHingeLoss", .hinge(margin: margin, squared: squared), input: logits,
        output: gradient, shape: shape, axis: axis, threads: threads, labels: labels,
        reduction: reduction, options: CrossEntropyOptions(ignoreIndex: ignoreIndex),
        losses: losses)))
}

/// The multiclass hinge loss of an array of logits. See
/// ``multiclassHingeLoss(logits:shape:axis:labels:margin:squared:reduction:ignoreIndex:gradient:losses:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_,_,_,_,_,_)``.
@inlinable
public func multiclassHingeLoss<Element: SoftmaxElement>(
  logits: [Element], shape: [Int], axis: Int = -1, labels: [Int32], margin: Double = 1,
  squared: Bool = false, reduction: LossReduction = .mean, ignoreIndex: Int32? = nil,
  threads: Int? = nil
) -> Element {
  logits.withUnsafeBufferPointer { x in
    labels.withUnsafeBufferPointer { l in
      multiclassHingeLoss(
        logits: x, shape: shape, axis: axis, labels: l, margin: margin, squared: squared,
        reduction: reduction, ignoreIndex: ignoreIndex, threads: threads)
    }
  }
}

/// The multiclass hinge loss of an array of logits and its gradient into `gradient` (which
/// takes the logits' count). See
/// ``multiclassHingeLoss(logits:shape:axis:labels:margin:squared:reduction:ignoreIndex:gradient:losses:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_,_,_,_,_,_)``.
@inlinable
public func multiclassHingeLoss<Element: SoftmaxElement>(
  logits: [Element], shape: [Int], axis: Int = -1, labels: [Int32], margin: Double = 1,
  squared: Bool = false, reduction: LossReduction = .mean, ignoreIndex: Int32? = nil,
  gradient: inout [Element], threads: Int? = nil
) -> Element {
  if gradient.count != logits.count { gradient = [Element](repeating: 0, count: logits.count) }
  return logits.withUnsafeBufferPointer { x in
    labels.withUnsafeBufferPointer { l in
      gradient.withUnsafeMutableBufferPointer { g in
        multiclassHingeLoss(
          logits: x, shape: shape, axis: axis, labels: l, margin: margin, squared: squared,
          reduction: reduction, ignoreIndex: ignoreIndex, gradient: g, threads: threads)
      }
    }
  }
}
