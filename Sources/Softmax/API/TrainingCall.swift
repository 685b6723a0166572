// What the training functions (log-sum-exp, backward passes, losses) hand to the element
// type's code, and their public option types.

/// How the per-row losses of a call become the returned loss.
public enum LossReduction: Sendable, Hashable {
  /// The mean over the rows that count: rows whose label is the ignore index do not, and a
  /// call where none counts returns 0 with a zero gradient. The gradient is that of the mean.
  case mean
  /// The sum over the rows; the gradient is that of the sum.
  case sum
  /// No reduction: the `losses` buffer receives each row's loss (it is required), the gradient
  /// is that of each row's own loss (as for `.sum`), and the returned value is their sum.
  case none
}

/// Which probabilities a cross-entropy measures.
public enum CrossEntropyProbabilities: Sendable, Hashable {
  /// softmax(x)_i = e^(x_i) / Σ e^(x_j).
  case softmax
  /// StableMax (Prieto et al. 2025): s(x_i) / Σ s(x_j) with s(x) = x + 1 for x ≥ 0 and
  /// 1 / (1 − x) below; linear growth instead of exponential (labels only, no z-loss).
  case stableMax
}

/// The options of a cross-entropy beyond the logits and the targets.
public struct CrossEntropyOptions: Sendable, Hashable {
  /// A label value whose rows count for nothing: loss 0, gradient 0, and not counted by
  /// `.mean` (PyTorch's default is −100). nil: every label must be a class.
  public var ignoreIndex: Int32?
  /// ε in [0, 1]: the target is (1 − ε) · one-hot + ε / C over the C classes (labels only).
  public var labelSmoothing: Double
  /// w ≥ 0 (PaLM uses 1e-4): adds w · (log Σ e^x)² to each row's loss, and its gradient
  /// 2w · log Σ e^x · softmax(x), which keeps the normalizer near 1 (softmax only).
  public var zLossWeight: Double
  /// Softmax (the default) or StableMax.
  public var probabilities: CrossEntropyProbabilities

  public init(
    ignoreIndex: Int32? = nil, labelSmoothing: Double = 0, zLossWeight: Double = 0,
    probabilities: CrossEntropyProbabilities = .softmax
  ) {
    self.ignoreIndex = ignoreIndex
    self.labelSmoothing = labelSmoothing
    self.zLossWeight = zLossWeight
    self.probabilities = probabilities
  }
}

/// One call of a training function, for ``SoftmaxElement``. An implementation detail: the
/// public functions are inlined into their callers and hand this to the element type.
public struct _TrainingCall<Element: SoftmaxElement> {
  @usableFromInline
  enum Operation {
    case logSumExp
    case backward(logarithm: Bool)
    case crossEntropy
    case hinge(margin: Double, squared: Bool)
  }

  @usableFromInline let function: StaticString
  @usableFromInline let operation: Operation
  /// The logits, the probabilities y, or the log-probabilities.
  @usableFromInline let input: UnsafeBufferPointer<Element>
  /// dy, or the target probabilities of a cross-entropy; nil for labels.
  @usableFromInline let second: UnsafeBufferPointer<Element>?
  /// dx, or the gradient of a loss.
  @usableFromInline let output: UnsafeMutableBufferPointer<Element>?
  /// nil: the whole buffer is one row.
  @usableFromInline let shape: [Int]?
  @usableFromInline let axis: Int
  @usableFromInline let threads: Int?
  @usableFromInline let labels: UnsafeBufferPointer<Int32>?
  @usableFromInline let reduction: LossReduction
  @usableFromInline let options: CrossEntropyOptions
  @usableFromInline let temperature: Double
  /// One loss per row (reduction `.none`).
  @usableFromInline let losses: UnsafeMutableBufferPointer<Element>?
  /// One log Σ e^x per row.
  @usableFromInline let logSums: UnsafeMutableBufferPointer<Element>?

  @inlinable
  init(
    _ function: StaticString, _ operation: Operation, input: UnsafeBufferPointer<Element>,
    second: UnsafeBufferPointer<Element>? = nil, output: UnsafeMutableBufferPointer<Element>? = nil,
    shape: [Int]?, axis: Int, threads: Int?, labels: UnsafeBufferPointer<Int32>? = nil,
    reduction: LossReduction = .sum, options: CrossEntropyOptions = .init(),
    temperature: Double = 1, losses: UnsafeMutableBufferPointer<Element>? = nil,
    logSums: UnsafeMutableBufferPointer<Element>? = nil
  ) {
    self.function = function
    self.operation = operation
    self.input = input
    self.second = second
    self.output = output
    self.shape = shape
    self.axis = axis
    self.threads = threads
    self.labels = labels
    self.reduction = reduction
    self.options = options
    self.temperature = temperature
    self.losses = losses
    self.logSums = logSums
  }
}

extension Float {
  public static func _train(_ call: _TrainingCall<Float>) -> Double {
    call.run(computingIn: Float.self)
  }
}

extension Double {
  public static func _train(_ call: _TrainingCall<Double>) -> Double {
    call.run(computingIn: Double.self)
  }
}

#if !(os(macOS) && arch(x86_64))
  extension Float16 {
    public static func _train(_ call: _TrainingCall<Float16>) -> Double {
      call.run(computingIn: Float.self)
    }
  }
#endif
