// Fused cross-entropy with labels: the loss, its gradient with respect to the logits, per-row
// losses and log-sum-exps, in one read for the loss and one more for the gradient.

/// The cross-entropy of softmax (or StableMax) probabilities with one class label per row,
/// and optionally its gradient with respect to the logits, fused: pass 1 computes log Σ e^x
/// per row (the Two-Pass pair sum: no maximum, no overflow), the loss of a row is
/// log Σ e^x − x_label, and pass 2 writes the gradient scale · softmax(x) − target straight
/// into `gradient`. No probabilities or log-probabilities are stored anywhere.
///
/// ```swift
/// // 2 rows of 3 classes; classes 2 and 0.
/// let logits: [Float] = [1, 2, 3, 1e8, 0, -1e8]
/// var gradient = [Float](repeating: 0, count: logits.count)
/// let loss = crossEntropy(
///   logits: logits, shape: [2, 3], labels: [2, 0], gradient: &gradient)
/// // loss ≈ 0.2038 (the mean of 0.4076 and 0: exact at 1e8, where log(softmax) gives -inf)
/// ```
///
/// Per row, with ε = `options.labelSmoothing`, w = `options.zLossWeight`, C classes and
/// Z = Σ e^x: loss (1 − ε)(log Z − x_label) + ε (log Z − mean x) + w (log Z)², gradient
/// (1 + 2w log Z) softmax(x) − (1 − ε) one-hot − ε / C, times 1 / (rows kept) for `.mean`.
/// StableMax probabilities replace softmax and its derivative by those of s(x).
///
/// Numerics: log Z in Double from the pair sum (Float: exact for |x| ≤ 2800, and from the
/// maximum beyond, so logits of 1e8 or 1e30 give exact losses); the loss of each row and
/// their reduction in Double, in row order, so the loss does not depend on the thread count
/// or on whether the gradient is requested (bitwise). The gradient is within 1e-5 relative of
/// the Double gradient where it is not tiny; the label's entry is computed as
/// (1 + 2w log Z) · expm1(x_label − log Z) + ..., so it stays accurate when the model is sure.
///
/// Special values, per row only: a NaN logit makes the loss and gradient NaN; +inf logits
/// share the probability (the loss is log(count) when the label is one of them and +inf
/// otherwise); a label on a −inf logit, or a row of only −inf, gives +inf.
///
/// - Parameters:
///   - logits: The logits, `shape.reduce(1, *)` of them.
///   - shape: The dimensions, outermost first.
///   - axis: The axis of the classes; every other index is a row. Negative counts from the end.
///   - labels: One class per row, in the order of the shape without the axis; the ignore
///     index, if any, marks rows that count for nothing.
///   - reduction: `.mean` (over the rows kept), `.sum`, or `.none`.
///   - options: Ignore index, label smoothing, z-loss, StableMax.
///   - gradient: Receives ∂loss/∂logits; may be the logits buffer itself (the logits are
///     replaced, as Liger-Kernel does to save the memory); nil computes the loss only.
///   - losses: Receives each row's loss (required for `.none`).
///   - logSumExp: Receives each row's log Σ e^x, for reuse (a backward pass, z-loss logging).
///   - threads: The most threads to use, or nil to decide by the size.
/// - Returns: The reduced loss.
/// - Precondition: counts agree (labels, losses and logSumExp have one element per row), every
///   label is a class or the ignore index, the gradient is identical to or disjoint from the
///   logits, labelSmoothing is in 0...1 and zLossWeight ≥ 0. A violation traps with a
///   message that names it; nothing has been written then.
@inlinable
public func crossEntropy<Element: SoftmaxElement>(
  logits: UnsafeBufferPointer<Element>, shape: [Int], axis: Int = -1,
  labels: UnsafeBufferPointer<Int32>, reduction: LossReduction = .mean,
  options: CrossEntropyOptions = .init(), gradient: UnsafeMutableBufferPointer<Element>? = nil,
  losses: UnsafeMutableBufferPointer<Element>? = nil,
  logSumExp: UnsafeMutableBufferPointer<Element>? = nil, threads: Int? = nil
) -> Element {
  Element(
    Element._train(
      _TrainingCall(
        "crossEntropy", .crossEntropy, input: logits, output: gradient, shape: shape, axis: axis,
        threads: threads, labels: labels, reduction: reduction, options: options,
        losses: losses, logSums: logSumExp)))
}

/// The cross-entropy of an array of logits with labels. See
/// ``crossEntropy(logits:shape:axis:labels:reduction:options:gradient:losses:logSumExp:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_,_,_,_,_)``.
@inlinable
public func crossEntropy<Element: SoftmaxElement>(
  logits: [Element], shape: [Int], axis: Int = -1, labels: [Int32],
  reduction: LossReduction = .mean, options: CrossEntropyOptions = .init(), threads: Int? = nil
) -> Element {
  logits.withUnsafeBufferPointer { x in
    labels.withUnsafeBufferPointer { l in
      crossEntropy(
        logits: x, shape: shape, axis: axis, labels: l, reduction: reduction, options: options,
        threads: threads)
    }
  }
}

/// The cross-entropy of an array of logits with labels, and its gradient with respect to the
/// logits into `gradient` (which takes the logits' count). See
/// ``crossEntropy(logits:shape:axis:labels:reduction:options:gradient:losses:logSumExp:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_,_,_,_,_)``.
@inlinable
public func crossEntropy<Element: SoftmaxElement>(
  logits: [Element], shape: [Int], axis: Int = -1, labels: [Int32],
  reduction: LossReduction = .mean, options: CrossEntropyOptions = .init(),
  gradient: inout [Element], threads: Int? = nil
) -> Element {
  if gradient.count != logits.count { gradient = [Element](repeating: 0, count: logits.count) }
  return logits.withUnsafeBufferPointer { x in
    labels.withUnsafeBufferPointer { l in
      gradient.withUnsafeMutableBufferPointer { g in
        crossEntropy(
          logits: x, shape: shape, axis: axis, labels: l, reduction: reduction,
          options: options, gradient: g, threads: threads)
      }
    }
  }
}

/// The cross-entropy with labels, replacing the logits by the gradient (no second buffer of
/// the logits' size). See
/// ``crossEntropy(logits:shape:axis:labels:reduction:options:gradient:losses:logSumExp:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_,_,_,_,_)``.
@inlinable
public func crossEntropyInPlace<Element: SoftmaxElement>(
  logitsToGradient logits: inout [Element], shape: [Int], axis: Int = -1, labels: [Int32],
  reduction: LossReduction = .mean, options: CrossEntropyOptions = .init(), threads: Int? = nil
) -> Element {
  labels.withUnsafeBufferPointer { l in
    logits.withUnsafeMutableBufferPointer { g in
      crossEntropy(
        logits: UnsafeBufferPointer(g), shape: shape, axis: axis, labels: l,
        reduction: reduction, options: options, gradient: g, threads: threads)
    }
  }
}

/// Each row's cross-entropy with its label, unreduced (ignored rows: 0). See
/// ``crossEntropy(logits:shape:axis:labels:reduction:options:gradient:losses:logSumExp:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_,_,_,_,_)``.
@inlinable
public func crossEntropyLosses<Element: SoftmaxElement>(
  logits: [Element], shape: [Int], axis: Int = -1, labels: [Int32],
  options: CrossEntropyOptions = .init(), threads: Int? = nil
) -> [Element] {
  makeArray(count: labels.count) { losses in
    logits.withUnsafeBufferPointer { x in
      labels.withUnsafeBufferPointer { l in
        _ = crossEntropy(
          logits: x, shape: shape, axis: axis, labels: l, reduction: .none, options: options,
          losses: losses, threads: threads)
      }
    }
  }
}
