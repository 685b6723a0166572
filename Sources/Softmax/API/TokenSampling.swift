// Token sampling over a vocabulary's logits: options, a reusable sampler, and the one-call
// forms (one row, a batch of rows, the kept distribution, the top log-probabilities).

package import SoftmaxKernels

/// How a token is drawn from a row of logits. The options apply in this order:
///
/// 1. **Penalties** over the tokens of a history (llama.cpp's and OpenAI's rules): a logit of
///    a token that occurs c > 0 times is divided by `repetitionPenalty` when positive and
///    multiplied by it when negative, then lowered by c · `frequencyPenalty` +
///    `presencePenalty`.
/// 2. **Temperature**: logits are divided by it; 0 is greedy (the largest logit, +inf
///    included, the lowest index among equal ones), and the other options then change nothing.
/// 3. **Top-k**: the `topK` largest logits are kept (0 keeps all), ties broken by lower index.
/// 4. **Top-p**: of what is left, sorted by probability (ties by lower index), the shortest
///    prefix whose probability, renormalized over what top-k left, reaches `topP`.
/// 5. **Min-p**: of what is left, the tokens whose probability is at least `minP` times the
///    largest, that is (x − max)/T ≥ ln(minP), evaluated in Double.
///
/// The kept tokens are renormalized. Tokens with probability 0 (logit −inf, or e^((x − max)/T)
/// below Float's smallest normal) and NaN logits are never kept.
public struct SamplingOptions: Sendable, Hashable, Codable {
  /// The divisor of the logits; 0 for greedy decoding. Finite and ≥ 0.
  public var temperature: Float
  /// How many of the largest logits to keep; 0 keeps all. At least 0.
  public var topK: Int
  /// The probability mass the nucleus must reach; 1 keeps all. In (0, 1].
  public var topP: Float
  /// The smallest probability kept, relative to the largest; 0 keeps all. In [0, 1).
  public var minP: Float
  /// Divides positive logits and multiplies negative ones of tokens in the history; 1 for
  /// none. Finite and > 0.
  public var repetitionPenalty: Float
  /// Subtracted once per occurrence in the history; 0 for none. Finite.
  public var frequencyPenalty: Float
  /// Subtracted once from tokens that occur in the history; 0 for none. Finite.
  public var presencePenalty: Float

  /// Options with the given values; the defaults sample the plain softmax at temperature 1.
  public init(
    temperature: Float = 1, topK: Int = 0, topP: Float = 1, minP: Float = 0,
    repetitionPenalty: Float = 1, frequencyPenalty: Float = 0, presencePenalty: Float = 0
  ) {
    self.temperature = temperature
    self.topK = topK
    self.topP = topP
    self.minP = minP
    self.repetitionPenalty = repetitionPenalty
    self.frequencyPenalty = frequencyPenalty
    self.presencePenalty = presencePenalty
  }

  /// Greedy decoding: the largest logit, the lowest index among equal ones.
  public static let greedy = SamplingOptions(temperature: 0)

  /// Whether a history changes the logits.
  var hasPenalties: Bool {
    repetitionPenalty != 1 || frequencyPenalty != 0 || presencePenalty != 0
  }
}

/// A token sampler with scratch memory of its own, reused from call to call: after the first
/// call on a vocabulary, drawing a token allocates nothing (the distribution forms allocate
/// only their result arrays). Not shared between threads; a copy gets its own scratch on
/// first use.
///
/// The row is read a few times and never sorted:
/// - top-k up to 1024: one read keeping the entries above a rising k-th largest value, then
///   the k candidates are sorted;
/// - otherwise the exponentials e^((x − max)/T) are computed once (their sum is the exact
///   normalizer over the whole row), and a search finds the kept prefix: the mass and count
///   above eight cut points in one read, then only the entries between two cuts, until a few
///   are left to sort;
/// - the draw walks the kept entries' exponentials in blocks, by their sums first;
/// - top-p of at least 0.5 alone (no top-k, no min-p) skips the search when it draws: a token
///   drawn from the whole row is kept if the mass above it (one read) is below the target,
///   else drawn again, which gives the kept distribution exactly; min-p alone gathers the
///   tokens it keeps in one read and computes only their exponentials.
///
/// Results do not depend on the thread count. One draw consumes one
/// `UInt64` from the generator (greedy ones too), so a seeded generator reproduces a run.
///
/// Special values: a NaN logit is never drawn; if any logit is +inf, the +inf tokens share the
/// probability equally (greedy decoding takes the first); a row with no finite logit and no
/// +inf (all −inf or NaN) has an empty distribution at every temperature, greedy included,
/// and a draw returns its first non-NaN index (0 when all are NaN). Finite logits are
/// ordinary at any size: a row of equal logits is uniform whatever their value, −3.4e38
/// included, and where x − max overflows Float (−3.4e38 and 3.4e38 in one row) the weight is
/// that of the exact difference.
///
/// - Precondition: a row has at least one and fewer than 2^31 logits; history tokens are
///   valid indices of it.
public struct TokenSampler: Sendable {
  private var scratch = SelectionScratch()
  /// The kernel set; nil: the one the library selected (`PassKernels.selected`).
  private var kernels: PassKernels?

  /// A sampler with no scratch yet.
  public init() {}

  /// A sampler on the given kernel set instead of the selected one, so that the tests run
  /// every set this CPU supports in one process.
  package init(kernels: PassKernels) {
    self.kernels = kernels
  }

  private mutating func uniqueScratch() -> SelectionScratch {
    if !isKnownUniquelyReferenced(&scratch) { scratch = SelectionScratch() }
    return scratch
  }

  /// Draws one token from a row of logits.
  ///
  /// - Parameters:
  ///   - logits: One logit per token.
  ///   - options: Temperature, truncation and penalties.
  ///   - history: The tokens the penalties count (earlier output), any order, repeats counted.
  ///   - generator: The source of the one uniform number the draw uses.
  public mutating func sample<Generator: RandomNumberGenerator>(
    _ logits: UnsafeBufferPointer<Float>, options: SamplingOptions = SamplingOptions(),
    history: [Int] = [], using generator: inout Generator
  ) -> Int {
    let draw = generator.next()
    return withRow(logits, options, history, "sample") { selection in
      if options.temperature == 0 { return selection.greedy() }
      return selection.sample(
        topK: options.topK, topP: options.topP, minP: options.minP, draw: draw)
    }
  }

  /// Draws one token from a row of logits of any element type (Float16 and Double are
  /// converted to Float; Double after subtracting its largest finite logit when some finite
  /// logit lies beyond Float's range, and penalties then apply to the shifted values). See
  /// ``sample(_:options:history:using:)-(UnsafeBufferPointer<Float>,_,_,_)``.
  public mutating func sample<Element: SoftmaxElement, Generator: RandomNumberGenerator>(
    _ logits: Span<Element>, options: SamplingOptions = SamplingOptions(),
    history: [Int] = [], using generator: inout Generator
  ) -> Int {
    logits.withUnsafeBufferPointer { x in
      sample(elements: x, options: options, history: history, using: &generator)
    }
  }

  /// ``sample(_:options:history:using:)-(Span<Element>,_,_,_)`` on a buffer of any element
  /// type: the span and array forms both come here.
  mutating func sample<Element: SoftmaxElement, Generator: RandomNumberGenerator>(
    elements x: UnsafeBufferPointer<Element>, options: SamplingOptions, history: [Int],
    using generator: inout Generator
  ) -> Int {
    let row = floatRow(x, uniqueScratch())
    return sample(row, options: options, history: history, using: &generator)
  }

  /// The tokens a draw can return and their probabilities, renormalized over the kept set
  /// (computed in Double, rounded once), most probable first (ties by lower index). A greedy
  /// temperature keeps one token with probability 1: the first largest logit, +inf included.
  /// A row with no finite logit and no +inf (all −inf or NaN) keeps none, greedy or not; a
  /// draw from it returns its first non-NaN index, a token outside the (empty) distribution.
  public mutating func distribution(
    _ logits: UnsafeBufferPointer<Float>, options: SamplingOptions = SamplingOptions(),
    history: [Int] = []
  ) -> [(token: Int, probability: Float)] {
    withRow(logits, options, history, "samplingDistribution") { selection in
      if options.temperature == 0 {
        guard let token = selection.largest() else { return [] }
        return [(token, 1)]
      }
      return selection.distribution(
        selection.select(topK: options.topK, topP: options.topP, minP: options.minP))
    }
  }

  /// The distribution of a row of any element type. See
  /// ``distribution(_:options:history:)-(UnsafeBufferPointer<Float>,_,_)``.
  public mutating func distribution<Element: SoftmaxElement>(
    _ logits: Span<Element>, options: SamplingOptions = SamplingOptions(), history: [Int] = []
  ) -> [(token: Int, probability: Float)] {
    logits.withUnsafeBufferPointer { x in
      distribution(elements: x, options: options, history: history)
    }
  }

  /// ``distribution(_:options:history:)-(Span<Element>,_,_)`` on a buffer of any element
  /// type: the span and array forms both come here.
  mutating func distribution<Element: SoftmaxElement>(
    elements x: UnsafeBufferPointer<Element>, options: SamplingOptions, history: [Int]
  ) -> [(token: Int, probability: Float)] {
    distribution(floatRow(x, uniqueScratch()), options: options, history: history)
  }

  /// The `count` most probable tokens of the whole softmax at `temperature` (no truncation)
  /// and their natural-log probabilities (x − max)/T − log Σ e^((x − max)/T), most probable
  /// first: what an API returns as logprobs. Within about 1e-7 · |log p| + 2e-7 of the exact
  /// values. At temperature 0 the largest logit has log-probability 0 and the others −inf.
  public mutating func topLogProbabilities(
    _ logits: UnsafeBufferPointer<Float>, count: Int, temperature: Float = 1
  ) -> [(token: Int, logProbability: Float)] {
    if count < 0 {
      fatalError("topLogProbabilities: count must be at least 0, not \(count)")
    }
    let options = SamplingOptions(temperature: temperature == 0 ? 1 : temperature)
    return withRow(logits, options, [], "topLogProbabilities") { selection in
      let top = selection.topLogProbabilities(Swift.min(count, logits.count))
      if temperature != 0 { return top }
      return top.enumerated().map { ($1.token, $0 == 0 ? 0 : -.infinity) }
    }
  }

  /// Runs `body` on a checked row, with the penalties applied to a copy when there are any.
  private mutating func withRow<Result>(
    _ logits: UnsafeBufferPointer<Float>, _ options: SamplingOptions, _ history: [Int],
    _ function: StaticString, _ body: (TokenSelection) -> Result
  ) -> Result {
    checkSampling(options, count: logits.count, history: history, function: function)
    let scratch = uniqueScratch()
    var row = logits.baseAddress!
    if options.hasPenalties && !history.isEmpty {
      let copy = scratch.floats(SelectionScratch.row, logits.count)
      if copy != row { copy.update(from: row, count: logits.count) }
      applyPenalties(options, history, to: copy)
      row = UnsafePointer(copy)
    }
    let selection = TokenSelection(
      x: row, count: logits.count, temperature: options.temperature == 0 ? 1 : options.temperature,
      kernels: kernels ?? PassKernels.selected, scratch: scratch)
    return body(selection)
  }
}

/// Draws one token from a row of logits with a sampler of its own (whose scratch is allocated
/// for this call; keep a ``TokenSampler`` to reuse it). See ``TokenSampler`` for the method,
/// the special values and what a draw consumes from the generator, and ``SamplingOptions``
/// for the order of the options.
///
/// ```swift
/// var generator = SystemRandomNumberGenerator()
/// let token = sampleToken(
///   logits: logits, options: SamplingOptions(temperature: 0.8, topK: 40, topP: 0.95),
///   using: &generator)
/// ```
public func sampleToken<Element: SoftmaxElement, Generator: RandomNumberGenerator>(
  logits: [Element], options: SamplingOptions = SamplingOptions(), history: [Int] = [],
  using generator: inout Generator
) -> Int {
  var sampler = TokenSampler()
  // The array's buffer, not `logits.span`: a caller built with -O whose array literal was
  // promoted to the stack dropped the stores of its elements when this function reached them
  // only through `span` (Swift 6.3: the call was taken not to read the array), so the row
  // read here was uninitialized stack memory.
  return logits.withUnsafeBufferPointer { x in
    sampler.sample(elements: x, options: options, history: history, using: &generator)
  }
}

/// The tokens a draw can return and their renormalized probabilities, most probable first.
/// See ``TokenSampler/distribution(_:options:history:)-(UnsafeBufferPointer<Float>,_,_)``.
public func samplingDistribution<Element: SoftmaxElement>(
  logits: [Element], options: SamplingOptions = SamplingOptions(), history: [Int] = []
) -> [(token: Int, probability: Float)] {
  var sampler = TokenSampler()
  // The array's buffer, not `logits.span`: see `sampleToken(logits:options:history:using:)`.
  return logits.withUnsafeBufferPointer { x in
    sampler.distribution(elements: x, options: options, history: history)
  }
}

/// The `count` most probable tokens and their log-probabilities under the whole softmax at
/// `temperature`. See ``TokenSampler/topLogProbabilities(_:count:temperature:)``.
public func topLogProbabilities(logits: [Float], count: Int, temperature: Float = 1)
  -> [(token: Int, logProbability: Float)]
{
  var sampler = TokenSampler()
  return logits.withUnsafeBufferPointer {
    sampler.topLogProbabilities($0, count: count, temperature: temperature)
  }
}

/// One token per row of a row-major array of logits whose last axis is the vocabulary: the
/// draws of ``TokenSampler`` with the same options for every row. The generator gives one
/// `UInt64` per row, in row order, before any row is computed, so the tokens do not depend on
/// `threads`; rows are spread over up to `threads` threads (nil: by the array's size).
///
/// - Precondition: `shape` has at least one dimension, its element count equals
///   `logits.count`, and its last dimension is at least 1.
public func sampleTokens<Generator: RandomNumberGenerator>(
  logits: [Float], shape: [Int], options: SamplingOptions = SamplingOptions(),
  using generator: inout Generator, threads: Int? = nil
) -> [Int] {
  let layout = AxisLayout(shape: shape, axis: -1, count: logits.count, function: "sampleTokens")
  let rows = layout.outer
  var uniforms = [UInt64](repeating: 0, count: rows)
  for r in 0..<rows { uniforms[r] = generator.next() }
  var tokens = [Int](repeating: 0, count: rows)
  logits.withUnsafeBufferPointer { x in
    tokens.withUnsafeMutableBufferPointer { out in
      uniforms.withUnsafeBufferPointer { draws in
        sampleRows(
          x, vocabulary: layout.length, options: options, draws: draws, into: out,
          threads: validatedThreads(threads, count: logits.count))
      }
    }
  }
  return tokens
}
