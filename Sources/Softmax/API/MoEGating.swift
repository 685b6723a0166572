// Mixture-of-experts router gating: per token, the k experts a router picks from its logits
// over the experts, their weights, and how many tokens chose each expert.

/// The routers of mixture-of-experts layers: how ``moeGating(_:shape:k:method:threads:)``
/// turns one token's logits over the experts into k expert ids and their weights.
///
/// ```swift
/// // Mixtral: softmax over 8 experts, the top 2, renormalized.
/// let logits: [Float] = [0, 1, 2, 3, 4, 5, 6, 7,  7, 6, 5, 4, 3, 2, 1, 0]
/// let routed = moeGating(logits, shape: [2, 8], k: 2, method: .softmaxTopK(renormalize: true))
/// // routed.expertIDs == [7, 6, 0, 1]
/// // routed.weights ≈ [0.731, 0.269, 0.731, 0.269]
/// // routed.tokensPerExpert == [1, 1, 0, 0, 0, 0, 1, 1]
/// ```
public enum MoEGating {
  /// How a router scores the experts, selects k of them and weights the selected.
  ///
  /// Selection is exact and deterministic in every method: ties go to the lower expert index,
  /// and the k experts of a token are listed by descending weight, then by ascending index.
  public enum Method: Sendable, Hashable {
    /// Softmax over all the experts, then the k largest probabilities (Mixtral, Qwen-MoE,
    /// vLLM's `fused_topk`). With `renormalize`, the k weights are divided by their sum, so
    /// they sum to 1 (Mixtral: true); without, they are the softmax probabilities themselves.
    ///
    /// Selected by the logits, whose order is that of the exact probabilities. The weights are
    /// e^(x − max) / Σ e^(x − max): the k exponentials by the library's exponential kernels
    /// (Float and Float16: within 4.1e-7 relative; Double: about 2 ulp), the sum over every
    /// expert by the library's row sum, or over the k selected with `renormalize`; the
    /// quotient in Double, rounded once. Weights within 1e-5 (Float), 1e-12 (Double) relative
    /// of the exact ones, or one rounding for Float16.
    case softmaxTopK(renormalize: Bool)
    /// The k largest logits, then a softmax over those k (Mistral's reference MoE code). The
    /// same weights as `.softmaxTopK(renormalize: true)` in exact arithmetic, and here
    /// bitwise the same.
    case topKSoftmax
    /// DeepSeek-V3's sigmoid router with auxiliary-loss-free balancing and group-limited
    /// selection. Per token, with s = sigmoid(logit) and b = `bias` (0 when nil):
    ///
    /// 1. The experts form `groups` equal groups of consecutive ids. A group scores the sum of
    ///    its two largest s + b when there is a bias (its largest alone when a group has one
    ///    expert), and its largest s when `bias` is nil, as DeepSeek-V3's reference code and
    ///    vLLM's `grouped_topk` do.
    /// 2. The `topGroups` best groups are kept (ties: the lower group index).
    /// 3. The k experts with the largest s + b among the kept groups are chosen.
    /// 4. Their weights are their unbiased scores s, divided by their sum when `normalize`
    ///    (exactly: no ε is added; a sum of 0 gives weights of 0), times `scale` (the
    ///    routed scaling factor, 2.5 in DeepSeek-V3).
    ///
    /// Scores for Float and Float16 logits are computed in Double and rounded to Float, and
    /// s + b and a group's sum are Float additions, as a Float32 router computes them;
    /// Double logits are scored in Double. Weights are computed in Double from the unrounded
    /// scores and rounded once.
    ///
    /// - Parameters:
    ///   - bias: The per-expert selection bias (DeepSeek-V3's `e_score_correction_bias`),
    ///     one finite value per expert, or nil.
    ///   - groups: The number of expert groups (≥ 1, dividing the experts; 1: no grouping).
    ///   - topGroups: The groups kept per token, in 1...groups, with at least k experts.
    ///   - normalize: Whether the k weights are divided by their sum.
    ///   - scale: The factor applied to every weight: finite and ≥ 0.
    case sigmoidGrouped(bias: [Float]?, groups: Int, topGroups: Int, normalize: Bool, scale: Float)

    /// DeepSeek-V3's router (256 experts in 8 groups, 4 groups kept, top 8, normalized,
    /// scaled by 2.5) with the given selection bias.
    public static func deepSeekV3(bias: [Float]?) -> Method {
      .sigmoidGrouped(bias: bias, groups: 8, topGroups: 4, normalize: true, scale: 2.5)
    }
  }
}

/// What ``moeGating(_:shape:k:method:threads:)`` returns: k experts and weights per token,
/// and the number of tokens routed to each expert.
public struct MoEGatingResult<Element: SoftmaxElement>: Sendable {
  /// The number of tokens.
  public let tokens: Int
  /// The experts chosen per token.
  public let k: Int
  /// `tokens × k` weights, token by token, largest first.
  public var weights: [Element]
  /// `tokens × k` expert ids in `0..<experts`, in the order of `weights`.
  public var expertIDs: [Int32]
  /// For each expert, how many tokens chose it (the histogram of `expertIDs`): the load
  /// that balancing losses and capacity checks use.
  public var tokensPerExpert: [Int]

  /// Creates a result from its parts.
  public init(
    tokens: Int, k: Int, weights: [Element], expertIDs: [Int32], tokensPerExpert: [Int]
  ) {
    self.tokens = tokens
    self.k = k
    self.weights = weights
    self.expertIDs = expertIDs
    self.tokensPerExpert = tokensPerExpert
  }

  /// The experts and weights of one token, largest weight first.
  public func experts(ofToken token: Int) -> [(expert: Int, weight: Element)] {
    precondition(
      (0..<tokens).contains(token),
      "MoEGatingResult: token \(token) is out of range for \(tokens) tokens")
    return (0..<k).map { (Int(expertIDs[token * k + $0]), weights[token * k + $0]) }
  }
}

/// Routes tokens to experts: per token (row) of `logits`, the k experts that `method` selects
/// and their weights, into caller-provided buffers. Allocates nothing.
///
/// Rows are spread over the threads, each computed whole by one thread, so the results are
/// bitwise the same for every thread count. No row is sorted: one read keeps the k largest
/// (with AVX-512, for Float logits and k ≤ 8, 16 rows at once, one per vector lane).
///
/// Special values, per token: a NaN logit makes its k weights NaN and its ids 0, 1, …, k − 1
/// (and they count in `tokensPerExpert`). A −inf logit has probability 0 (softmax routers:
/// chosen only when fewer than k logits are finite, by the lower index) or sigmoid score 0
/// (chosen by its biased score like any other), with weight 0; a token of only −inf logits
/// gets weights 0 (never 0/0), and experts 0..<k unless a bias chooses others. +inf logits share the softmax mass equally,
/// as in ``softmax(_:algorithm:threads:)``; their sigmoid score is 1. Finite logits of any
/// magnitude (±1e30, or beyond the Float range in Double) give finite weights.
///
/// - Parameters:
///   - logits: `tokens × experts` router logits, token by token.
///   - experts: The number of experts (≥ 1; it divides `logits.count`).
///   - k: The experts per token, in 1...experts.
///   - method: The router; see ``MoEGating/Method``.
///   - weights: Receives `tokens × k` weights, token by token, largest first; may be
///     longer (the rest is left alone). Float16 weights are computed as for Float and rounded
///     once.
///   - expertIDs: Receives the `tokens × k` expert ids in the order of the weights; may be
///     longer.
///   - tokensPerExpert: Receives, for each expert, how many tokens chose it; may be longer.
///   - threads: The most threads to use, or nil to decide by the size.
/// - Precondition: the counts and the method's parameters are consistent, and no output
///   overlaps the logits or another output. A violation traps with a message that names it;
///   nothing has been written then.
@inlinable
public func moeGating<Element: SoftmaxElement>(
  _ logits: UnsafeBufferPointer<Element>, experts: Int, k: Int, method: MoEGating.Method,
  weights: UnsafeMutableBufferPointer<Element>, expertIDs: UnsafeMutableBufferPointer<Int32>,
  tokensPerExpert: UnsafeMutableBufferPointer<Int>, threads: Int? = nil
) {
  Element._moeGating(
    _GatingCall(
      "moeGating", logits: logits, experts: experts, k: k, method: method, weights: weights,
      expertIDs: expertIDs, tokensPerExpert: tokensPerExpert, threads: threads))
}

/// Routes tokens to experts from spans into spans. See
/// ``moeGating(_:experts:k:method:weights:expertIDs:tokensPerExpert:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_,_,_)``.
@inlinable
public func moeGating<Element: SoftmaxElement>(
  _ logits: Span<Element>, experts: Int, k: Int, method: MoEGating.Method,
  weights: inout MutableSpan<Element>, expertIDs: inout MutableSpan<Int32>,
  tokensPerExpert: inout MutableSpan<Int>, threads: Int? = nil
) {
  logits.withUnsafeBufferPointer { x in
    weights.withUnsafeMutableBufferPointer { w in
      expertIDs.withUnsafeMutableBufferPointer { ids in
        tokensPerExpert.withUnsafeMutableBufferPointer { counts in
          moeGating(
            x, experts: experts, k: k, method: method, weights: w, expertIDs: ids,
            tokensPerExpert: counts, threads: threads)
        }
      }
    }
  }
}

/// Routes tokens to experts: the logits of shape `[tokens, experts]` in, new arrays out.
/// See ``moeGating(_:experts:k:method:weights:expertIDs:tokensPerExpert:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_,_,_)``
/// for the numerics and special values.
///
/// ```swift
/// // DeepSeek-V3 style: 8 experts in 4 groups, 2 groups kept, top 2 of them.
/// let logits: [Float] = [0.1, 2, -1, 0.5, 3, 0.2, -2, 1]
/// let routed = moeGating(
///   logits, shape: [1, 8], k: 2,
///   method: .sigmoidGrouped(bias: nil, groups: 4, topGroups: 2, normalize: true, scale: 1))
/// // routed.expertIDs == [4, 1]; routed.weights ≈ [0.520, 0.480]
/// ```
///
/// - Precondition: `shape` is `[tokens, experts]` with `tokens × experts == logits.count`.
@inlinable
public func moeGating<Element: SoftmaxElement>(
  _ logits: [Element], shape: [Int], k: Int, method: MoEGating.Method, threads: Int? = nil
) -> MoEGatingResult<Element> {
  let (tokens, experts) = _gatingShape(shape, count: logits.count, function: "moeGating")
  _checkGatingK(k, experts: experts, function: "moeGating")
  // At most tokens × experts = logits.count.
  let selected = tokens * k
  var expertIDs = [Int32](repeating: 0, count: selected)
  var tokensPerExpert = [Int](repeating: 0, count: experts)
  let weights: [Element] = makeArray(count: selected) { w in
    logits.withUnsafeBufferPointer { x in
      expertIDs.withUnsafeMutableBufferPointer { ids in
        tokensPerExpert.withUnsafeMutableBufferPointer { counts in
          moeGating(
            x, experts: experts, k: k, method: method, weights: w, expertIDs: ids,
            tokensPerExpert: counts, threads: threads)
        }
      }
    }
  }
  return MoEGatingResult(
    tokens: tokens, k: k, weights: weights, expertIDs: expertIDs,
    tokensPerExpert: tokensPerExpert)
}

/// One call of ``moeGating(_:experts:k:method:weights:expertIDs:tokensPerExpert:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_,_,_,_)``,
/// for ``SoftmaxElement``. An implementation detail.
public struct _GatingCall<Element: SoftmaxElement> {
  @usableFromInline let function: StaticString
  @usableFromInline let logits: UnsafeBufferPointer<Element>
  @usableFromInline let experts: Int
  @usableFromInline let k: Int
  @usableFromInline let method: MoEGating.Method
  @usableFromInline let weights: UnsafeMutableBufferPointer<Element>
  @usableFromInline let expertIDs: UnsafeMutableBufferPointer<Int32>
  @usableFromInline let tokensPerExpert: UnsafeMutableBufferPointer<Int>
  @usableFromInline let threads: Int?

  @inlinable
  init(
    _ function: StaticString, logits: UnsafeBufferPointer<Element>, experts: Int, k: Int,
    method: MoEGating.Method, weights: UnsafeMutableBufferPointer<Element>,
    expertIDs: UnsafeMutableBufferPointer<Int32>, tokensPerExpert: UnsafeMutableBufferPointer<Int>,
    threads: Int?
  ) {
    self.function = function
    self.logits = logits
    self.experts = experts
    self.k = k
    self.method = method
    self.weights = weights
    self.expertIDs = expertIDs
    self.tokensPerExpert = tokensPerExpert
    self.threads = threads
  }
}

/// `(tokens, experts)` of a gating shape, checked against `count`. An implementation detail.
public func _gatingShape(_ shape: [Int], count: Int, function: StaticString) -> (Int, Int) {
  guard shape.count == 2 else {
    fatalError(
      "\(function): the shape must be [tokens, experts], not \(shape) (rank \(shape.count))")
  }
  // Checks the dimensions and their product against the count.
  _ = AxisLayout(shape: shape, axis: -1, count: count, function: function)
  guard shape[1] >= 1 else {
    fatalError("\(function): shape \(shape) has no experts; there must be at least one")
  }
  return (shape[0], shape[1])
}

/// Traps unless k is in 1...experts. An implementation detail.
public func _checkGatingK(_ k: Int, experts: Int, function: StaticString) {
  guard k >= 1 && k <= experts else {
    fatalError("\(function): k must be in 1...\(experts) (the experts), not \(k)")
  }
}

extension Float {
  public static func _moeGating(_ call: _GatingCall<Float>) {
    call.run(computingIn: Float.self)
  }
}

extension Double {
  public static func _moeGating(_ call: _GatingCall<Double>) {
    call.run(computingIn: Double.self)
  }
}

#if !(os(macOS) && arch(x86_64))
  extension Float16 {
    public static func _moeGating(_ call: _GatingCall<Float16>) {
      call.run(computingIn: Float.self)
    }
  }
#endif
