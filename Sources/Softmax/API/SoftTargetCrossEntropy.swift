// Cross-entropy against a probability row per example (distillation), at a temperature.

/// The cross-entropy of softmax(logits / T) against target probabilities q (one row per
/// example, such as a teacher's softmax(teacherLogits / T)), scaled by T² as distillation
/// losses are, and optionally its gradient with respect to the logits:
/// loss_row = T² (Σ q_i (log Z' − x_i / T) + w (log Z')²) with Z' = Σ e^(x / T), gradient
/// T ((Σ q + 2w log Z') softmax(x / T) − q) (Σ q = 1 for exact targets), times 1 / rows for
/// `.mean`. The KL divergence KL(q ‖ p) differs from it by T² Σ q log q, which does not depend
/// on the logits: the same gradient.
///
/// ```swift
/// let student: [Float] = [1, 2, 3]
/// let teacher = softmax([1, 3, 2] as [Float], shape: [3], temperature: 2)
/// let loss = crossEntropy(logits: student, shape: [3], targets: teacher, temperature: 2)
/// ```
///
/// Numerics as for the cross-entropy with labels; Σ q and Σ q x in Double; a target of 0 on
/// a logit of −inf contributes 0. A temperature other than 1 writes (x − max x) / T, computed
/// in Double and rounded once, into a scratch row (one per task, never per row), and takes
/// Σ q x from the Double values: logits near ±`greatestFiniteMagnitude` give finite losses at
/// any T. Where logits are +inf (their probabilities share 1), the loss is Σ q log(count of
/// +inf) when all of the target mass is on them and there is no z-loss, else +inf (as for a
/// label). Label smoothing and StableMax do not apply (the targets already are a
/// distribution); `options` gives the z-loss weight.
///
/// - Precondition: counts agree, `temperature` is finite and > 0, and `gradient` is
///   identical to or disjoint from the logits and disjoint from the targets.
@inlinable
public func crossEntropy<Element: SoftmaxElement>(
  logits: UnsafeBufferPointer<Element>, shape: [Int], axis: Int = -1,
  targets: UnsafeBufferPointer<Element>, temperature: Element = 1,
  reduction: LossReduction = .mean, options: CrossEntropyOptions = .init(),
  gradient: UnsafeMutableBufferPointer<Element>? = nil,
  losses: UnsafeMutableBufferPointer<Element>? = nil,
  logSumExp: UnsafeMutableBufferPointer<Element>? = nil, threads: Int? = nil
) -> Element {
  Element(
    Element._train(
      _TrainingCall(
        "crossEntropy", .crossEntropy, input: logits, second: targets, output: gradient,
        shape: shape, axis: axis, threads: threads, reduction: reduction, options: options,
        temperature: Double(temperature), losses: losses, logSums: logSumExp)))
}

/// The soft-target cross-entropy of arrays. See
/// ``crossEntropy(logits:shape:axis:targets:temperature:reduction:options:gradient:losses:logSumExp:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_,_,_,_,_,_)``.
@inlinable
public func crossEntropy<Element: SoftmaxElement>(
  logits: [Element], shape: [Int], axis: Int = -1, targets: [Element], temperature: Element = 1,
  reduction: LossReduction = .mean, options: CrossEntropyOptions = .init(), threads: Int? = nil
) -> Element {
  logits.withUnsafeBufferPointer { x in
    targets.withUnsafeBufferPointer { q in
      crossEntropy(
        logits: x, shape: shape, axis: axis, targets: q, temperature: temperature,
        reduction: reduction, options: options, threads: threads)
    }
  }
}

/// The soft-target cross-entropy of arrays and its gradient into `gradient` (which takes the
/// logits' count). See
/// ``crossEntropy(logits:shape:axis:targets:temperature:reduction:options:gradient:losses:logSumExp:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_,_,_,_,_,_)``.
@inlinable
public func crossEntropy<Element: SoftmaxElement>(
  logits: [Element], shape: [Int], axis: Int = -1, targets: [Element], temperature: Element = 1,
  reduction: LossReduction = .mean, options: CrossEntropyOptions = .init(),
  gradient: inout [Element], threads: Int? = nil
) -> Element {
  if gradient.count != logits.count { gradient = [Element](repeating: 0, count: logits.count) }
  return logits.withUnsafeBufferPointer { x in
    targets.withUnsafeBufferPointer { q in
      gradient.withUnsafeMutableBufferPointer { g in
        crossEntropy(
          logits: x, shape: shape, axis: axis, targets: q, temperature: temperature,
          reduction: reduction, options: options, gradient: g, threads: threads)
      }
    }
  }
}
