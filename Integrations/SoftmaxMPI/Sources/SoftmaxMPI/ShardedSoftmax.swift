// The public sharded operations: rows split along the class axis across the ranks of a
// communicator, one MPI_Allreduce per batch.

import Softmax

/// Softmax, log-softmax, log-sum-exp and cross-entropy of rows whose classes are split across
/// the ranks of a communicator (vocabulary parallelism): rank p holds the columns
/// `partition.columns(ofPart: p)` of every row, as `rows × width` contiguous elements,
/// row-major.
///
/// Every operation on a batch is **one `MPI_Allreduce`** of one record per row: each rank
/// sends its shard's ``SoftmaxNormalizer`` (the Two-Pass (mantissa, exponent) pair sum, or
/// the maximum and Σ e^(x − max) for rows beyond ±2800: no maximum needs reducing first),
/// and for a cross-entropy the target logit (from the rank that owns the label, 0 from the
/// others) and, with label smoothing, Σ x over its shard. For Float and Float16 logits the
/// normalizer travels as two Floats, (s, m) with Σ = e^s · m (s is log Σ rounded to Float,
/// or the maximum), and the target logit as a Float: 8 bytes per row for softmax,
/// log-softmax and log-sum-exp, 12 for a cross-entropy (20 with label smoothing: Σ x is a
/// Double), plus a header of 20–32 bytes per batch. A cross-entropy of 64 rows or more
/// reduced without per-row losses or smoothing sends no target logit per row: the ranks add
/// the target logits they own into one exact fixed-point sum in the header (208 bytes), and
/// the loss is Σ s exactly minus that sum plus Σ log m, so it stays 8 bytes per row. Double logits send the normalizer's
/// fields whole (24 bytes, 32 with the target logit). Megatron's vocabulary-parallel
/// cross-entropy needs three all-reduces for the same (maximum, target logit, Σ e^(x − max)):
/// 12 bytes per row in float32.
///
/// Numerics: each rank's pass over its shard is the library's Two-Pass sum (each e^x within
/// 1 ulp, no maximum); a Float record rounds the sum to Float (2^-24 relative) when it is
/// sent and once per merge; the merge's rescaling and the losses are in Double, and log Z − x
/// is taken from the normalizer's parts, so logits up to ±1e30 lose nothing. A merged row
/// whose shards all were pair sums is rebuilt as a pair, so its outputs come from the exact
/// Two-Pass output pass. `softmax-mpi check` measures, on 1 to 4 ranks and adversarial rows:
/// probabilities and gradients within 5.4e-7 relative of the exact values, log-probabilities,
/// log-sum-exps and losses within 1.3e-7 of max(1, |value|), a gradient's label entry,
/// scale · (p − 1), within about 1e-7 of the scale; and within 1e-6 of the single-process
/// library's `softmax` (Two-Pass), `logSoftmax`, `logSumExp` and `crossEntropy` on the whole
/// rows. Results are the same bits on
/// every rank, and the same bits again for the same rank count and partition (the merge does
/// not depend on operand order; Open MPI's choice of reduction algorithm depends only on the
/// message size and the rank count).
///
/// Special values per row, as in the library: NaN anywhere in a row makes that row NaN on
/// every rank; +inf logits share the probability; a row of only −inf gives zeros (log: −inf).
///
/// Errors: a rank whose shard does not hold `rows × width` elements, or whose arguments break
/// a precondition, ends the job with a one-line message (``Communicator/fail(_:)``); ranks
/// that pass different batches (row counts, partitions, labels, options) are found by a
/// fingerprint in the message's header and end the job with a message on every rank.
public struct ShardedSoftmax {
  /// The ranks that hold the shards.
  public let communicator: Communicator
  /// Which columns each rank holds.
  public let partition: ClassPartition
  /// The most threads each rank uses for its shard's passes, or nil to decide by the length.
  /// Defaults to 1: one rank per core is the usual MPI layout.
  public var threads: Int?

  /// Sharded operations on `communicator` with `partition`.
  ///
  /// - Precondition: the partition has one part per rank (else the job ends with a message).
  public init(communicator: Communicator, partition: ClassPartition, threads: Int? = 1) {
    if partition.parts != communicator.size {
      communicator.fail(
        "ShardedSoftmax: the partition has \(partition.parts) parts for \(communicator.size) ranks")
    }
    self.communicator = communicator
    self.partition = partition
    self.threads = threads
  }

  /// The columns (classes) this rank holds.
  public var columns: Range<Int> { partition.columns(ofPart: communicator.rank) }

  func geometry<Element>(_ shard: UnsafeBufferPointer<Element>, rows: Int, _ function: String)
    -> ShardGeometry
  {
    let g = ShardGeometry(rows: rows, columns: columns, partition: partition)
    if rows < 0 || shard.count != rows * g.width {
      communicator.fail(
        "\(function): the shard holds \(shard.count) elements, not \(rows) rows × \(g.width) columns \(g.columns)"
      )
    }
    return g
  }

  /// Runs the one collective of a batch and checks its header.
  func reduce<Element: SoftmaxElement>(
    _ shard: UnsafeBufferPointer<Element>, _ geometry: ShardGeometry,
    _ operation: ShardedOperation, labels: ShardLabels?, _ function: String
  ) -> [UInt32] {
    let layout = batchLayout(Element.self, rows: geometry.rows, labels: labels)
    let fingerprint = batchFingerprint(
      operation, elementSize: MemoryLayout<Element>.size, geometry, labels)
    var message = [UInt32](repeating: 0, count: layout.messageWords(rows: geometry.rows))
    message.withUnsafeMutableBufferPointer { m in
      fillMessage(
        shard, geometry, labels: labels, fingerprint: fingerprint, layout: layout,
        threads: threads, into: m)
      communicator.reduce(m, layout: layout)
      if let problem = headerProblem(
        m.baseAddress!, fingerprint: fingerprint, ranks: communicator.size,
        classes: labels != nil ? geometry.classes : nil, layout: layout)
      {
        communicator.fail("\(function) of \(geometry.rows) rows: \(problem)")
      }
    }
    return message
  }

  /// The normalizer of every whole row (Σ e^x over all ranks' columns), the same on every
  /// rank: one collective. The other operations are this followed by local work.
  public func normalizers<Element: SoftmaxElement>(
    of shard: UnsafeBufferPointer<Element>, rows: Int
  ) -> [SoftmaxNormalizer] {
    let g = geometry(shard, rows: rows, "ShardedSoftmax.normalizers")
    let message = reduce(shard, g, .normalizers, labels: nil, "ShardedSoftmax.normalizers")
    return message.withUnsafeBufferPointer { m in
      let layout = batchLayout(Element.self, rows: rows, labels: nil)
      return (0..<rows).map { rowNormalizer(m, row: $0, layout: layout) }
    }
  }

  /// The softmax of every row, this rank's columns of it into `output` (which may be the
  /// shard itself): e^x / Σ over all ranks' columns.
  public func softmax<Element: SoftmaxElement>(
    _ shard: UnsafeBufferPointer<Element>, rows: Int,
    into output: UnsafeMutableBufferPointer<Element>
  ) {
    normalize(shard, rows: rows, into: output, logarithm: false, "ShardedSoftmax.softmax")
  }

  /// The log-softmax of every row, this rank's columns of it into `output` (which may be the
  /// shard itself): x − log Σ e^x over all ranks' columns, without an exponential.
  public func logSoftmax<Element: SoftmaxElement>(
    _ shard: UnsafeBufferPointer<Element>, rows: Int,
    into output: UnsafeMutableBufferPointer<Element>
  ) {
    normalize(shard, rows: rows, into: output, logarithm: true, "ShardedSoftmax.logSoftmax")
  }

  func normalize<Element: SoftmaxElement>(
    _ shard: UnsafeBufferPointer<Element>, rows: Int,
    into output: UnsafeMutableBufferPointer<Element>, logarithm: Bool, _ function: String
  ) {
    let g = geometry(shard, rows: rows, function)
    if output.count != shard.count {
      communicator.fail(
        "\(function): the output holds \(output.count) elements, not \(shard.count)")
    }
    let message = reduce(shard, g, .normalizers, labels: nil, function)
    let layout = batchLayout(Element.self, rows: rows, labels: nil)
    message.withUnsafeBufferPointer { m in
      for r in 0..<rows {
        let n = rowNormalizer(m, row: r, layout: layout)
        let range = (r * g.width)..<((r + 1) * g.width)
        let x = UnsafeBufferPointer(rebasing: shard[range])
        let y = UnsafeMutableBufferPointer(rebasing: output[range])
        if logarithm {
          n.logNormalize(x, into: y, threads: threads)
        } else {
          n.normalize(x, into: y, threads: threads)
        }
      }
    }
  }

  /// log Σ e^x of every whole row, in Double, the same on every rank: finite for every
  /// finite non-empty row, −inf for a row of only −inf, +inf with +inf logits, NaN with NaN.
  public func logSumExp<Element: SoftmaxElement>(
    _ shard: UnsafeBufferPointer<Element>, rows: Int
  ) -> [Double] {
    normalizers(of: shard, rows: rows).map(\.logSum)
  }

  /// The cross-entropy of every row with its label (in global class numbers), and this
  /// rank's columns of its gradient: one collective carries each row's normalizer and
  /// target logit (the rank that owns the label sends it), and Σ x with label smoothing.
  ///
  /// Per row, with ε = `options.labelSmoothing`, C classes and Z = Σ e^x over all ranks:
  /// loss (1 − ε)(log Z − x_label) + ε(log Z − mean x), gradient softmax(x) − (1 − ε) one-hot
  /// − ε / C, times 1 / (rows kept) for `.mean`; the label's entry as
  /// expm1(x_label − log Z) + ε(1 − 1/C), accurate when p ≈ 1. Losses and their reduction in
  /// Double, in row order, the same on every rank.
  ///
  /// Special values as the library's `crossEntropy`: NaN in a row gives NaN; +inf logits
  /// give log(count) if the label is one of them, else +inf; a label on a −inf logit, or a
  /// row of only −inf, gives +inf.
  ///
  /// - Parameters:
  ///   - logits: This rank's shard, `rows × columns.count` elements.
  ///   - rows: The number of rows (the same on every rank).
  ///   - labels: One class per row in `0..<partition.classes`, or the ignore index; the same
  ///     on every rank.
  ///   - reduction: `.mean` over the rows kept, `.sum`, or `.none` (`losses` required).
  ///   - options: The ignore index and label smoothing (z-loss and StableMax are not
  ///     supported here: the job ends with a message).
  ///   - gradient: Receives this rank's columns of ∂loss/∂logits; may be the logits buffer.
  ///   - losses: Receives each row's loss (ignored rows: 0).
  /// - Returns: The reduced loss, in Double, the same on every rank.
  public func crossEntropy<Element: SoftmaxElement>(
    logits: UnsafeBufferPointer<Element>, rows: Int, labels: UnsafeBufferPointer<Int32>,
    reduction: LossReduction = .mean, options: CrossEntropyOptions = .init(),
    gradient: UnsafeMutableBufferPointer<Element>? = nil,
    losses: UnsafeMutableBufferPointer<Element>? = nil
  ) -> Double {
    let function = "ShardedSoftmax.crossEntropy"
    let g = geometry(logits, rows: rows, function)
    let fail = { (message: String) -> Never in self.communicator.fail("\(function): \(message)") }
    if labels.count != rows { fail("\(labels.count) labels for \(rows) rows") }
    if let gradient, gradient.count != logits.count {
      fail("the gradient holds \(gradient.count) elements, not \(logits.count)")
    }
    if let gradient, let g = gradient.baseAddress, let x = logits.baseAddress,
      UnsafeRawPointer(g) != UnsafeRawPointer(x),
      UnsafeRawPointer(g) < UnsafeRawPointer(x + logits.count),
      UnsafeRawPointer(x) < UnsafeRawPointer(g + gradient.count)
    {
      fail("the gradient overlaps the logits without being the same buffer")
    }
    if let losses, losses.count != rows { fail("losses holds \(losses.count), not \(rows)") }
    if reduction == .none && losses == nil { fail("reduction .none needs a losses buffer") }
    if options.zLossWeight != 0 { fail("z-loss is not supported on sharded rows") }
    if options.probabilities != .softmax { fail("StableMax is not supported on sharded rows") }
    let epsilon = options.labelSmoothing
    if !(epsilon >= 0 && epsilon <= 1) { fail("label smoothing \(epsilon) is not in 0...1") }
    for (r, label) in labels.enumerated()
    where label != options.ignoreIndex && !(0..<Int32(clamping: g.classes)).contains(label) {
      fail("row \(r) has label \(label), not a class of 0..<\(g.classes) or the ignore index")
    }
    let shardLabels = ShardLabels(
      labels: labels, ignoreIndex: options.ignoreIndex, smoothing: epsilon, reduction: reduction,
      perRowLosses: losses != nil)
    let message = reduce(logits, g, .crossEntropy, labels: shardLabels, function)
    return message.withUnsafeBufferPointer { m in
      finishCrossEntropy(
        logits, g, labels: shardLabels, message: m, threads: threads, gradient: gradient,
        losses: losses)
    }
  }
}
