internal import SoftmaxKernels
internal import _SoftmaxCKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// The passes that the training operations are written with, for each compute type (Float on
// the selected kernel table, Double on its Double slots). Long rows are cut into chunks by
// `RowPlan` and split across the threads; sums merge in chunk order.

/// A type that training rows are computed in: Float or Double.
protocol TrainingCompute: RowElement {
  /// Σ e^x of a row (count ≥ 1): Two-Pass pass 1 for Float, the maximum and a compensated
  /// Σ e^(x − max) for Double.
  static func normalizer(_ x: UnsafePointer<Self>, count: Int, threads: Int) -> SoftmaxNormalizer

  /// The two passes of a softmax-based loss over a row of count ≥ 1 (`streamable`: the
  /// output has no targets to subtract, so the fused streaming kernel may write it; the
  /// choice of pass 1 depends on it and the length, never on whether there is an output):
  /// pass 1 gives the
  /// normalizer; `gradient` gets it, computes the loss, and says what to write to `out` (nil:
  /// nothing, or it wrote a special row itself); pass 2 writes it. `out` may be `x`; pass 1
  /// may already have written to it (Float rows that fit the caches store e^(x − chunk max)
  /// there, as the softmax does), so read what is needed from `x` before. Pass 2 also writes
  /// the output's `entry`. `staging` (given with or without an
  /// output, so that the loss does not depend on it) is where Float rows that fit the caches
  /// store their exponentials: they then write the output once, streamed and unfenced.
  /// `entry`: the index of the output's entry, if it will have one (the label), whose line is
  /// asked for ahead where the pass writes it after the row.
  static func gradientPasses(
    _ x: UnsafePointer<Self>, _ out: UnsafeMutablePointer<Self>?, count: Int, threads: Int,
    streamAlways: Bool, streamable: Bool, staging: Staging<Self>?, entry: Int?,
    _ gradient: (SoftmaxNormalizer) -> GradientOutput<Self>?
  )

  /// The table's kernels for one chunk, by pass.
  static func dot(_ k: PassKernels, _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ n: Int)
    -> Double
  static func sum(_ k: PassKernels, _ a: UnsafePointer<Self>, _ n: Int) -> Double
  static func backwardOutput(
    _ k: PassKernels, _ y: UnsafePointer<Self>, _ dy: UnsafePointer<Self>,
    _ dx: UnsafeMutablePointer<Self>, _ n: Int, _ s: Double, stream: Bool)
  static func logBackwardOutput(
    _ k: PassKernels, _ logY: UnsafePointer<Self>, _ dy: UnsafePointer<Self>,
    _ dx: UnsafeMutablePointer<Self>, _ n: Int, _ s: Double, stream: Bool)
}

/// A scratch for the exponentials of a row of a batch (its length, in L1 or L2: see
/// `AutoPolicy.stagesExponentials`), and the input of the row computed after it (nil: none),
/// asked for before the output pass, as the softmax's staged rows do.
struct Staging<Element> {
  let exponentials: UnsafeMutablePointer<Element>
  let next: UnsafePointer<Element>?
}

/// What the output pass of a loss writes: scale · softmax(x) − (offset + weight · targets)
/// (targets nil: − offset), with `entry` written instead.
struct GradientOutput<Element> {
  var scale: Double
  var targets: UnsafePointer<Element>? = nil
  var weight: Double = 0
  var offset: Double = 0
  /// The label's entry of a labelled row, which the pass writes in place of its formula.
  var entry: GradientEntry? = nil
  /// The entry left out of the sum of what was written (the passes that write `entry` after
  /// the row take that sum); nil: no sum.
  var summingExcept: Int? { entry.flatMap { $0.lessOthers ? $0.index : nil } }
  /// The entry whose line the kernels that write `entry` after the row store ordinarily, so
  /// that the write finds it in the cache (`grid_stores` in avx512_training_kernels.c), passed
  /// to them where they take the entry they leave out of their sum (that sum is not used
  /// without `summingExcept`).
  var ordinaryEntry: Int? { entry?.index }
  /// Whether the output is written with streaming stores where a kernel can.
  var stream = false
}

/// The label's entry of a cross-entropy gradient: `value`, less the sum of the row's other
/// entries when `lessOthers`. The gradient of a labelled row without smoothing sums to
/// weight · (factor − 1), and the other entries are accurate relative to themselves, while
/// factor · p − 1 would cancel when the model is sure (p from log Z, whose error is about
/// 1e-7 absolute). Rows of one chunk take that sum from their exponentials before the output
/// pass and write the entry within it (`stagedRow`); longer rows write it after the pass, from
/// the sum of what the pass wrote.
struct GradientEntry {
  let index: Int
  let value: Double
  let lessOthers: Bool

  /// The entry, given the sum of the others (ignored without `lessOthers`), rounded once.
  func value<Element: BinaryFloatingPoint>(others: Double) -> Element {
    Element(lessOthers ? value - others : value)
  }
}

/// One pass of a training row over its chunks: a sum or dot product (one Double per chunk,
/// merged in chunk order), or an element-wise output pass. `other` is the second input,
/// aligned with the row's `x`.
struct TrainingPass<Element: TrainingCompute>: ChunkPassing {
  enum Kind { case dot, sum, backwardOutput, logBackwardOutput }

  let kind: Kind
  var other: UnsafePointer<Element>? = nil
  /// The sum or dot product that an output pass uses.
  var value: Double = 0
  /// Whether an output pass streams whatever the row length (the whole array is large).
  var streamAlways = false
  var results: UnsafeMutableRawPointer? = nil

  func run(_ row: RowPlan<Element>, chunk: Int) {
    // Once per chunk (a row of a batch): no retain of the table (`RowPlan.table`).
    row.table._withUnsafeGuaranteedRef { run(row, chunk: chunk, kernels: $0) }
  }

  private func run(_ row: RowPlan<Element>, chunk: Int, kernels k: PassKernels) {
    let range = row.chunks.range(chunk)
    let (x, y, n) = (row.x + range.lowerBound, row.y + range.lowerBound, range.count)
    let o = other.map { $0 + range.lowerBound }
    switch kind {
    case .dot: store(Element.dot(k, x, o!, n), chunk)
    case .sum: store(Element.sum(k, x, n), chunk)
    case .backwardOutput:
      Element.backwardOutput(k, x, o!, y, n, value, stream: streams(row))
    case .logBackwardOutput:
      Element.logBackwardOutput(k, x, o!, y, n, value, stream: streams(row))
    }
  }

  /// Output passes run the chunks last to first, as softmax's do: the sum before them went
  /// first to last, so the row's last chunks are the ones still in the caches.
  func chunk(forTask task: Int, of count: Int) -> Int {
    kind == .backwardOutput || kind == .logBackwardOutput ? count - 1 - task : task
  }

  /// Output passes write each element once from the inputs: rows of at least
  /// `AutoPolicy.computedOutputStreamingThreshold` elements stream, as softmax's do.
  func streams(_ row: RowPlan<Element>) -> Bool {
    (kind == .backwardOutput || kind == .logBackwardOutput)
      && (streamAlways || row.streamComputedOutput)
  }
}

extension RowPlan where Element: TrainingCompute {
  /// Σ x · other, or Σ x when `other` is nil, in Double, merged in chunk order.
  func sum(times other: UnsafePointer<Element>? = nil) -> Double {
    reduce(TrainingPass(kind: other == nil ? .sum : .dot, other: other), as: Double.self, merge: +)
  }
}

extension Float: TrainingCompute {
  static func normalizer(_ x: UnsafePointer<Float>, count: Int, threads: Int) -> SoftmaxNormalizer {
    accumulate(x, count: count, threads: threads)
  }

  static func gradientPasses(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>?, count: Int, threads: Int,
    streamAlways: Bool, streamable: Bool, staging: Staging<Float>?, entry: Int?,
    _ gradient: (SoftmaxNormalizer) -> GradientOutput<Float>?
  ) {
    // Rows that fit the caches: Three-Pass reload, as `.auto` softmax runs them (one
    // exponential per element, against two for Two-Pass), unless the gradient streams (rows
    // of 2^15 or more, or of 4096 or more in an array beyond a sixteenth of the LLC) and the
    // table has the fused Two-Pass gradient kernel: reload re-reads what it stores, so it
    // cannot stream, and the read for ownership of a cold gradient costs more than the second
    // exponential (8×128256 cold: 0.76 → 0.62 ns/element; rows of 1024 stay with reload, as
    // Two-Pass made 4096×1024 1.27–1.32× softmax instead of 1.01–1.18×; 2026-12-01,
    // BENCHMARKS.md). With a scratch for the exponentials, reload streams too: it stores them
    // there and writes the gradient once from them. Without an output the choice is the same
    // and pass 1 takes the same sums, so the loss is bitwise the same with or without the
    // gradient.
    let streams =
      streamable && AutoPolicy.streamsComputedRows(count: count, arrayStreams: streamAlways)
    let reload =
      SoftmaxAlgorithm.auto.resolved(forCount: count) == .threePassReload
      && (staging != nil || !(streams && PassKernels.selected.training.twoPassGradient != nil))
    let direct = reload && streamable && count <= RowChunks.minimumLength
    if !direct, let out, let entry {
      // The entry is written after the row, into a line that the gradient kernels store
      // ordinarily: its read for ownership overlaps pass 1 (BENCHMARKS.md "The label's
      // line"). Rows of one chunk write it within their pass, where every line streams.
      softmax_prefetch_for_store(out + entry)
    }
    guard reload else {
      let total = normalizer(x, count: count, threads: threads)
      guard var output = gradient(total), let out else { return }
      output.stream = streams
      let written = scaledProbabilities(
        x, out, count: count, normalizer: total, output, threads: threads)
      if let entry = output.entry { out[entry.index] = entry.value(others: written) }
      return
    }
    // Rows of one chunk call their kernels directly: staged ones into their scratch and
    // streamed, the others into the output itself (in place, as the chunked pass stores them).
    if direct,
      stagedRow(
        x, out, count: count,
        staging: staging
          ?? Staging(exponentials: out ?? UnsafeMutablePointer(mutating: x), next: nil),
        stream: staging != nil, gradient)
    {
      return
    }
    var row = RowPlan(
      x: x, y: out ?? UnsafeMutablePointer(mutating: x), count: count, threads: threads)
    let stored = staging?.exponentials ?? row.y
    withUnsafeTemporaryAllocation(of: OnlineSum.self, capacity: row.chunks.count) { parts in
      var first = ChunkPass(out == nil ? .maximumAndSumExp : .maximumAndStoreExp)
      first.results = UnsafeMutableRawPointer(parts.baseAddress!)
      RowPlan(x: x, y: stored, count: count, threads: threads).perform(first)
      let total = SoftmaxNormalizer(reloadParts: parts, of: row)
      guard let output = gradient(total), let out else { return }
      var pass = ChunkPass(.scaleChunks, shift: Float(total.shift))
      pass.inverseSum = output.scale / total.mantissa
      pass.results = UnsafeMutableRawPointer(parts.baseAddress!)
      row.streamAlways = staging != nil && output.targets == nil
      // The next row's input (its label's logit among it) is read while this one's output
      // drains; staged rows are fenced by their caller, once for all of them.
      if let next = staging?.next { softmax_prefetch(next, count * MemoryLayout<Float>.stride) }
      let written = row.reading(stored).run(TargetsPass(pass, output), fence: staging == nil)
      if let entry = output.entry { out[entry.index] = entry.value(others: written) }
    }
  }

  /// A row of one chunk without targets, its kernels called directly: the calls, the
  /// normalizer and the chunk scale that the reload path below makes for one chunk, so the
  /// same bits, without its per-pass bookkeeping. That matters for staged rows: every store of
  /// the thread queues behind the previous row's streaming stores until they drain, and the
  /// bookkeeping's stores then wait too (4096×1024 spent a fifth of its time there). Rows in
  /// the caches gain too: the bookkeeping made the cross-entropy of 128×1024 (hot) 1.6× the
  /// softmax (BENCHMARKS.md, "Cross-entropy rows in the caches"). The exponentials go to
  /// `staging.exponentials` (a scratch, or the output itself when `stream` is false). The
  /// output's entry is written within the pass. False, having called nothing and written only
  /// the exponentials, when the maximum is not finite or the sum is NaN: the general path then
  /// applies the contract (in place, as its own first pass would have left the row).
  private static func stagedRow(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>?, count: Int,
    staging: Staging<Float>, stream: Bool, _ gradient: (SoftmaxNormalizer) -> GradientOutput<Float>?
  ) -> Bool {
    PassKernels.unretainedSelected._withUnsafeGuaranteedRef { k in
      stagedRow(k, x, out, count: count, staging: staging, stream: stream, gradient)
    }
  }

  private static func stagedRow(
    _ k: PassKernels, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>?,
    count: Int, staging: Staging<Float>, stream: Bool,
    _ gradient: (SoftmaxNormalizer) -> GradientOutput<Float>?
  ) -> Bool {
    let e = staging.exponentials
    // With an output, the set's one-call first passes when it has them: they also give the
    // spread, which can spare the scale kernels their compares.
    var maximum: Float = 0
    var spread = -Float.infinity
    let sum: Double
    if out != nil, let reloadSum = k.reloadSum {
      sum = reloadSum(x, e, count, &maximum, &spread)
      guard maximum.isFinite else { return false }
    } else {
      maximum = k.max(x, count)
      guard maximum.isFinite else { return false }
      if out == nil, let next = staging.next {
        // Nothing is written: the next row is read at once, beside this one.
        softmax_prefetch(next, count * MemoryLayout<Float>.stride)
      }
      sum = out == nil ? k.sumExp(x, count, maximum) : k.sumAndStoreExp(x, e, count, maximum)
    }
    guard !sum.isNaN else { return false }
    let total = SoftmaxNormalizer(
      shift: Double(maximum), mantissa: sum, exponent: 0, infinityCount: 0)
    guard let output = gradient(total), let out else { return true }
    let scale = Float(output.scale / total.mantissa)
    let threshold = flushThreshold(inverseSum: Swift.abs(scale), spread: spread)
    if let next = staging.next { softmax_prefetch(next, count * MemoryLayout<Float>.stride) }
    if let entry = output.entry {
      // The kernel writes the entry's vector last, from the sum of the others it wrote, so
      // that every line of the row streams (`scaleGradientEntry`). Unfenced, as below.
      k.training.scaleGradientEntry(
        e, out, count, scale, threshold, Float(output.offset), entry.index, entry.value,
        entry.lessOthers, stream)
      return true
    }
    // Staged rows stream unfenced: the caller fences once.
    if output.offset == 0 {
      k.scale(e, out, count, scale, flushThreshold(inverseSum: scale, spread: spread), stream)
    } else {
      _ = k.training.scaleGradient(
        e, out, count, scale, threshold, Float(output.offset), count, stream)
    }
    return true
  }

  /// y = scale · softmax(x) − targets, for a finite, non-empty normalizer.
  private static func scaledProbabilities(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
    normalizer: SoftmaxNormalizer, _ output: GradientOutput<Float>, threads: Int
  ) -> Double {
    let scale = output.scale
    let row = RowPlan(x: x, y: y, count: count, threads: threads)
    guard var pass = normalizer.plan(row, output: .probabilities) else { return .nan }
    // Fold the scale into the output kernel: its power of two into the exponent bias (exact),
    // its significand into the mantissa factor, so the flush to 0 below 2^-125 still holds.
    switch pass.kind {
    case .twoPassOutput:
      let magnitude = Swift.abs(scale)
      pass.inverseMantissa *= Float(scale < 0 ? -magnitude.significand : magnitude.significand)
      pass.exponentBias -= Float(magnitude.exponent)
    default:
      pass.scale = Float(Double(pass.scale) * scale)
      pass.threshold = flushThreshold(inverseSum: Swift.abs(pass.scale))
    }
    return row.run(TargetsPass(pass, output))
  }

  static func dot(_ k: PassKernels, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int)
    -> Double
  { k.training.dot(a, b, n) }

  static func sum(_ k: PassKernels, _ a: UnsafePointer<Float>, _ n: Int) -> Double {
    k.training.sum(a, n)
  }

  static func backwardOutput(
    _ k: PassKernels, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>, _ n: Int, _ s: Double, stream: Bool
  ) {
    guard outputNeedsDouble(s, logarithm: false) else {
      return k.training.backwardOutput(y, dy, dx, n, Float(s), stream)
    }
    for i in 0..<n { dx[i] = Float(Double(y[i]) * (Double(dy[i]) - s)) }
  }

  static func logBackwardOutput(
    _ k: PassKernels, _ logY: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>, _ n: Int, _ s: Double, stream: Bool
  ) {
    guard outputNeedsDouble(s, logarithm: true) else {
      return k.training.logBackwardOutput(logY, dy, dx, n, Float(s), stream)
    }
    for i in 0..<n { dx[i] = Float(Double(dy[i]) - exp(Double(logY[i])) * s) }
  }

  /// Whether a backward output pass with the row's sum `s` (Σ dy · y, or Σ dy for the
  /// log-softmax) runs in Double instead of the Float kernels, whose arithmetic would overflow
  /// where dx does not: dy of both signs near ±greatestFiniteMagnitude. The kernels compute
  /// y · (dy − s) and dy − e^logY · s (one rounding) in Float. Below 2^103, half an ulp of
  /// greatestFiniteMagnitude, dy − s rounds to a finite value for every finite dy; so does
  /// Float(s) for the log-softmax. Rows that get here have gradients near 1e31 and beyond; the
  /// others keep the kernels and their bits. An infinite or NaN sum keeps the kernels: IEEE
  /// arithmetic then gives the documented propagation.
  static func outputNeedsDouble(_ s: Double, logarithm: Bool) -> Bool {
    guard s.isFinite else { return false }
    return logarithm ? !Float(s).isFinite : Swift.abs(s) >= 0x1p103
  }
}

/// The output pass of a Float cross-entropy gradient: the scaled probabilities by the
/// normalizer's output pass, then, while each 4096-element block is still in L1, the targets
/// subtracted and the block summed (no streaming stores then, as the block is read back at
/// once). One Double per chunk when summing. For `.scaleChunks`, `row.x` holds the stored
/// exponentials (the output itself, or a scratch).
struct TargetsPass: ChunkPassing {
  typealias Element = Float
  /// `.twoPassOutput`, `.expScaledOutput` or `.scaleChunks`.
  var output: ChunkPass
  let targets: UnsafePointer<Float>?
  let weight: Float
  let offset: Float
  /// Whether the chunk goes block by block (targets to subtract, or a sum to take).
  let blocks: Bool
  /// The entry left out of the sum, or nil for no sum.
  let excluded: Int?
  var summing: Bool { excluded != nil }
  /// What the kernels are given as the entry to leave out: `excluded`, or else the entry whose
  /// line they store ordinarily (`GradientOutput.ordinaryEntry`; their sum is then unused).
  let kernelExcluded: Int?
  /// Whether the fused Two-Pass gradient kernel streams its stores.
  let stream: Bool
  var results: UnsafeMutableRawPointer? = nil

  init(_ output: ChunkPass, _ gradient: GradientOutput<Float>) {
    self.output = output
    targets = gradient.targets
    weight = Float(gradient.weight)
    offset = Float(gradient.offset)
    excluded = gradient.summingExcept
    kernelExcluded = gradient.ordinaryEntry
    stream = gradient.stream
    blocks = excluded != nil || targets != nil || offset != 0
  }

  /// Whether the chunk goes through the fused Two-Pass gradient kernel.
  private func fused(_ row: RowPlan<Float>) -> Bool {
    output.kind == .twoPassOutput && targets == nil
      && row.table._withUnsafeGuaranteedRef { $0.training.twoPassGradient != nil }
  }

  func run(_ row: RowPlan<Float>, chunk: Int) {
    guard blocks else { return output.run(row, chunk: chunk) }
    // Once per chunk (a row of a batch): no retain of the table (`RowPlan.table`).
    row.table._withUnsafeGuaranteedRef { run(row, chunk: chunk, kernels: $0) }
  }

  private func run(_ row: RowPlan<Float>, chunk: Int, kernels k: PassKernels) {
    let range = row.chunks.range(chunk)
    if fused(row), let kernel = k.training.twoPassGradient {
      let start = range.lowerBound
      let sum = kernel(
        row.x + start, row.y + start, range.count, output.inverseMantissa, output.exponentBias,
        offset, (kernelExcluded ?? row.count) - start, stream)
      if summing { store(sum, chunk) }
      return
    }
    let subtracts = targets != nil || offset != 0
    // Three-Pass reload: this chunk's e^(x − m_c) are in y; its scale e^(m_c − M) · scale / S.
    var chunkScale: Float = 0
    var spread = -Float.infinity
    if output.kind == .scaleChunks {
      let part = output.results!.assumingMemoryBound(to: OnlineSum.self)[chunk]
      spread = part.spread
      if part.maximum == output.shift {
        chunkScale = Float(output.inverseSum)  // the chunk of the maximum: every short row
      } else if part.maximum.isFinite {
        chunkScale = Float(exp(Double(part.maximum) - Double(output.shift)) * output.inverseSum)
      }
    }
    if output.kind == .scaleChunks && targets == nil {
      // One fused kernel per chunk: scale, offset and the sum leaving out the label.
      let start = range.lowerBound
      let skip = (kernelExcluded ?? row.count) - start
      let sum = k.training.scaleGradient(
        row.x + start, row.y + start, range.count, chunkScale,
        flushThreshold(inverseSum: Swift.abs(chunkScale), spread: spread), offset, skip,
        row.stream)
      if summing { store(sum, chunk) }
      return
    }
    var total = 0.0
    var start = range.lowerBound
    while start < range.upperBound {
      let n = Swift.min(4096, range.upperBound - start)
      let (x, y) = (row.x + start, row.y + start)
      switch output.kind {
      case .twoPassOutput:
        k.twoPassOutput(x, y, n, output.inverseMantissa, output.exponentBias, false)
      case .scaleChunks:
        k.scale(
          x, y, n, chunkScale, flushThreshold(inverseSum: Swift.abs(chunkScale), spread: spread),
          false)
      default:
        k.expScaledOutput(x, y, n, output.shift, output.scale, output.threshold, false)
      }
      if subtracts { k.training.subtractTargets(y, targets.map { $0 + start }, n, weight, offset) }
      if let excluded {
        // Float lanes: the excluded entry (the large one) is left out, so each block's error
        // is relative to what it sums.
        let skip = excluded - start
        if skip >= 0 && skip < n {
          total += k.training.blockSum(y, skip) + k.training.blockSum(y + skip + 1, n - skip - 1)
        } else {
          total += k.training.blockSum(y, n)
        }
      }
      start += n
    }
    if summing { store(total, chunk) }
  }

  func chunk(forTask task: Int, of count: Int) -> Int {
    output.chunk(forTask: task, of: count)
  }

  func streams(_ row: RowPlan<Float>) -> Bool {
    guard blocks else { return output.streams(row) }
    if fused(row) { return stream }
    // The fused reload kernel streams with the row (from a scratch of exponentials).
    return output.kind == .scaleChunks && targets == nil && row.stream
  }
}

extension RowPlan where Element == Float {
  /// Runs a gradient's output pass; Σ of what it wrote when it sums, else 0. `fence` false
  /// leaves the streaming stores of a row of one chunk unfenced, for a caller that fences once
  /// after many rows.
  func run(_ pass: TargetsPass, fence: Bool = true) -> Double {
    guard pass.summing else {
      perform(pass)
      return 0
    }
    guard chunks.count > 1 else {
      // One chunk (every row up to 2^16): its sum straight into a local.
      var sum = 0.0
      withUnsafeMutablePointer(to: &sum) { slot in
        var pass = pass
        pass.results = UnsafeMutableRawPointer(slot)
        pass.run(self, chunk: 0)
      }
      if fence && pass.streams(self) { kernels.storeFence() }
      return sum
    }
    return reduce(pass, as: Double.self, merge: +)
  }
}

extension SoftmaxNormalizer {
  /// The sum from the chunk parts (m_c, Σ e^(x − m_c)) of Three-Pass reload's first pass. The
  /// chunks it skipped (maximum not finite) still hold their input for the census.
  init(reloadParts parts: UnsafeMutableBufferPointer<OnlineSum>, of row: RowPlan<Float>) {
    self.init()
    var maximum = -Float.infinity
    for (chunk, part) in parts.enumerated() {
      if part.sum.isNaN || part.maximum.isNaN {
        mantissa = .nan
        return
      }
      // +inf, or −inf where the maximum kernel may have skipped NaN: count them.
      if part.maximum == .infinity || part.maximum == -.infinity {
        let range = row.chunks.range(chunk)
        let census = SpecialValues.census(row.x + range.lowerBound, count: range.count)
        if census.hasNaN {
          mantissa = .nan
          return
        }
        infinityCount += census.infinities
      } else if part.maximum.isFinite {
        maximum = Swift.max(maximum, part.maximum)
      }
    }
    guard infinityCount == 0, maximum > -.infinity else { return }
    shift = Double(maximum)
    for part in parts where part.maximum.isFinite {
      mantissa += rescaledSum(part.sum, from: part.maximum, to: maximum)
    }
  }
}

extension Double: TrainingCompute {
  static func normalizer(_ x: UnsafePointer<Double>, count: Int, threads: Int)
    -> SoftmaxNormalizer
  {
    accumulate(x, count: count, threads: threads)
  }

  static func gradientPasses(
    _ x: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>?, count: Int, threads: Int,
    streamAlways: Bool, streamable: Bool, staging: Staging<Double>?, entry: Int?,
    _ gradient: (SoftmaxNormalizer) -> GradientOutput<Double>?
  ) {
    if let out, let entry { softmax_prefetch_for_store(out + entry) }
    let total = normalizer(x, count: count, threads: threads)
    guard let output = gradient(total), let out else { return }
    let written = scaledProbabilities(
      x, out, count: count, normalizer: total, output, threads: threads)
    if let entry = output.entry { out[entry.index] = entry.value(others: written) }
  }

  /// y = scale · softmax(x) − targets, for a finite, non-empty normalizer.
  private static func scaledProbabilities(
    _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int,
    normalizer: SoftmaxNormalizer, _ output: GradientOutput<Double>, threads: Int
  ) -> Double {
    let (scale, t, weight, offset) = (output.scale, output.targets, output.weight, output.offset)
    let logSum = normalizer.exponent * ln2 + log(normalizer.mantissa)
    RowPlan(x: x, y: y, count: count, threads: threads)
      .perform(DoubleChunkPass(kind: .expOutput, shift: normalizer.shift, logSum: logSum))
    if let t {
      for i in 0..<count { y[i] = y[i] * scale - (offset + weight * t[i]) }
    } else {
      for i in 0..<count { y[i] = y[i] * scale - offset }
    }
    guard let skip = output.summingExcept else { return 0 }
    return sumDouble_simd8(y, count: skip) + sumDouble_simd8(y + skip + 1, count: count - skip - 1)
  }

  static func dot(
    _ k: PassKernels, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ n: Int
  ) -> Double { k.training.doubleDot(a, b, n) }

  static func sum(_ k: PassKernels, _ a: UnsafePointer<Double>, _ n: Int) -> Double {
    k.training.doubleSum(a, n)
  }

  static func backwardOutput(
    _ k: PassKernels, _ y: UnsafePointer<Double>, _ dy: UnsafePointer<Double>,
    _ dx: UnsafeMutablePointer<Double>, _ n: Int, _ s: Double, stream: Bool
  ) { k.training.doubleBackwardOutput(y, dy, dx, n, s) }

  static func logBackwardOutput(
    _ k: PassKernels, _ logY: UnsafePointer<Double>, _ dy: UnsafePointer<Double>,
    _ dx: UnsafeMutablePointer<Double>, _ n: Int, _ s: Double, stream: Bool
  ) { k.training.doubleLogBackwardOutput(logY, dy, dx, n, s) }
}
