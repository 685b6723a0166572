// The two local stages of a sharded batch, without MPI: each rank fills its message from its
// shard (stage 1); the messages are merged (the collective); each rank finishes its shard
// from the merged message (stage 2). The tests run the stages for several simulated ranks in
// one process.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif
import Softmax

/// What a sharded batch computes; its number goes into the fingerprint.
enum ShardedOperation: Int {
  case normalizers = 1
  case crossEntropy = 2
}

/// One rank's view of a batch: `rows` rows, of which it holds `columns` of every row,
/// contiguous, row-major (`rows × columns.count` elements).
struct ShardGeometry {
  let rows: Int
  let columns: Range<Int>
  let partition: ClassPartition

  var width: Int { columns.count }
  var classes: Int { partition.classes }
}

/// The labels and options of a sharded cross-entropy.
struct ShardLabels {
  let labels: UnsafeBufferPointer<Int32>
  let ignoreIndex: Int32?
  let smoothing: Double
  let reduction: LossReduction
  /// Whether every rank wants each row's loss (a losses buffer, or `.none`).
  var perRowLosses = true

  func isIgnored(_ row: Int) -> Bool { ignoreIndex.map { labels[row] == $0 } ?? false }
}

/// The fingerprint of a batch: operation, element size, geometry, partition, labels and
/// options. Ranks whose fingerprints differ passed different batches.
func batchFingerprint(
  _ operation: ShardedOperation, elementSize: Int, _ geometry: ShardGeometry,
  _ labels: ShardLabels?
) -> UInt64 {
  var f = Fingerprint()
  f.add(operation.rawValue)
  f.add(elementSize)
  f.add(geometry.rows)
  for b in geometry.partition.bounds { f.add(b) }
  if let labels {
    f.add(labels.ignoreIndex.map { Int($0) } ?? Int.min)
    f.add(labels.smoothing.bitPattern)
    switch labels.reduction {
    case .mean: f.add(1)
    case .sum: f.add(2)
    case .none: f.add(3)
    }
    f.add(labels.perRowLosses ? 1 : 0)
    for l in labels.labels { f.add(Int(l)) }
  }
  return f.value
}

/// The record layout of a batch of `rows` rows of `Element` with these labels (nil:
/// normalizers only).
func batchLayout<Element>(_: Element.Type, rows: Int, labels: ShardLabels?) -> RecordLayout {
  RecordLayout.batch(
    elementSize: MemoryLayout<Element>.size, rows: rows, crossEntropy: labels != nil,
    smoothing: (labels?.smoothing ?? 0) > 0, perRowLosses: labels?.perRowLosses ?? true)
}

/// Stage 1: the header, then per row the shard's normalizer and, for a cross-entropy, the
/// target logit if this shard owns the label (else 0) and Σ x over the shard (smoothing).
@_specialize(where Element == Float)
@_specialize(where Element == Double)
func fillMessage<Element: SoftmaxElement>(
  _ shard: UnsafeBufferPointer<Element>, _ geometry: ShardGeometry, labels: ShardLabels?,
  fingerprint: UInt64, layout: RecordLayout, threads: Int?,
  into message: UnsafeMutableBufferPointer<UInt32>
) {
  precondition(message.count == layout.messageWords(rows: geometry.rows))
  let w = layout.words
  let width = geometry.width
  let base = message.baseAddress!
  var targets = TargetSum()
  for r in 0..<geometry.rows {
    let row = UnsafeBufferPointer(rebasing: shard[(r * width)..<((r + 1) * width)])
    let record = base + (layout.headerRecords + r) * w
    store(SoftmaxNormalizer(accumulating: row, threads: threads), record, layout)
    guard let labels else { continue }
    let label = Int(labels.labels[r])
    let owned = !labels.isIgnored(r) && geometry.columns.contains(label)
    let target = owned ? Double(row[label - geometry.columns.lowerBound]) : 0
    if layout.hasTargetSum {
      if owned { targets.add(Float(target)) }
    } else if layout.targetWords == 1 {
      record[layout.targetWord] = Float(target).bitPattern  // a Float or Float16 logit: exact
    } else {
      storeDouble(target, record + layout.targetWord)
    }
    if layout.hasLogitSum { storeDouble(compensatedSum(row), record + layout.logitSumWord) }
  }
  storeHeader(
    fingerprint: fingerprint, width: width, extra: layout.hasTargetSum ? targets.fields : [],
    layout: layout, base)
}

/// The target logits a rank owns, for a header: the exact sum of the finite ones and the
/// counts of +inf and −inf ones (a NaN one makes its row's normalizer NaN).
struct TargetSum {
  var finite = ExactFloatSum()
  var positiveInfinities = 0
  var negativeInfinities = 0

  mutating func add(_ x: Float) {
    if x == .infinity {
      positiveInfinities += 1
    } else if x == -.infinity {
      negativeInfinities += 1
    } else if x.isFinite {
      finite.add(x)
    }
  }

  var fields: [UInt32] {
    [UInt32(positiveInfinities), UInt32(negativeInfinities)] + finite.words
  }

  init() {}

  /// The merged sum in a reduced header's fields.
  init(fields: [UInt32]) {
    positiveInfinities = Int(fields[4])
    negativeInfinities = Int(fields[5])
    finite = ExactFloatSum(words: fields[6..<(6 + ExactFloatSum.count)])
  }
}

/// Σ x in Double with Neumaier's compensation.
@_specialize(where Element == Float)
@_specialize(where Element == Double)
func compensatedSum<Element: SoftmaxElement>(_ x: UnsafeBufferPointer<Element>) -> Double {
  var sum = 0.0
  var compensation = 0.0
  for v in x {
    let d = Double(v)
    let t = sum + d
    compensation += abs(sum) >= abs(d) ? (sum - t) + d : (d - t) + sum
    sum = t
  }
  let total = sum + compensation
  return total.isNaN && !sum.isNaN ? sum : total
}

/// Row `r`'s record in a message.
@inline(__always)
func rowRecord(_ message: UnsafeBufferPointer<UInt32>, row r: Int, layout: RecordLayout)
  -> UnsafePointer<UInt32>
{
  message.baseAddress! + (layout.headerRecords + r) * layout.words
}

/// The merged normalizer of row `r` in a reduced message.
func rowNormalizer(_ message: UnsafeBufferPointer<UInt32>, row r: Int, layout: RecordLayout)
  -> SoftmaxNormalizer
{
  load(rowRecord(message, row: r, layout: layout), layout)
}

/// Stage 2 of a cross-entropy: each row's loss (Double; ignored rows 0), the reduced loss,
/// and this shard's part of the gradient. Every rank computes the same losses from the same
/// reduced message.
@_specialize(where Element == Float)
@_specialize(where Element == Double)
func finishCrossEntropy<Element: SoftmaxElement>(
  _ shard: UnsafeBufferPointer<Element>, _ geometry: ShardGeometry, labels: ShardLabels,
  message: UnsafeBufferPointer<UInt32>, threads: Int?,
  gradient: UnsafeMutableBufferPointer<Element>?, losses: UnsafeMutableBufferPointer<Element>?
) -> Double {
  let layout = batchLayout(Element.self, rows: geometry.rows, labels: labels)
  let epsilon = labels.smoothing
  let classes = Double(geometry.classes)
  var kept = 0
  for r in 0..<geometry.rows where !labels.isIgnored(r) { kept += 1 }
  let scale = labels.reduction == .mean ? (kept > 0 ? 1 / Double(kept) : 0) : 1
  var total = 0.0
  let width = geometry.width
  if layout.hasTargetSum {
    total = reducedLoss(message, layout: layout, labels: labels, rows: geometry.rows)
  }
  for r in 0..<geometry.rows {
    let record = rowRecord(message, row: r, layout: layout)
    let n = load(record, layout)
    let ignored = labels.isIgnored(r)
    var loss = 0.0
    if !ignored && !layout.hasTargetSum {
      let target =
        layout.targetWords == 1
        ? Double(Float(bitPattern: record[layout.targetWord]))
        : loadDouble(record + layout.targetWord)
      let meanLogit = layout.hasLogitSum ? loadDouble(record + layout.logitSumWord) / classes : 0
      loss = rowLoss(n, target: target, meanLogit: meanLogit, smoothing: epsilon)
    }
    losses?[r] = Element(loss)
    total += loss
    guard let gradient else { continue }
    let x = UnsafeBufferPointer(rebasing: shard[(r * width)..<((r + 1) * width)])
    let g = UnsafeMutableBufferPointer(rebasing: gradient[(r * width)..<((r + 1) * width)])
    if ignored || scale == 0 {
      g.update(repeating: 0)
      continue
    }
    writeGradient(
      x, g, n, label: Int(labels.labels[r]) - geometry.columns.lowerBound, scale: scale,
      smoothing: epsilon, classes: classes, threads: threads)
  }
  switch labels.reduction {
  case .mean: return kept > 0 ? total / Double(kept) : 0
  case .sum, .none: return total
  }
}

/// Σ over the rows kept of log Z − x_label, from the rows' compact normalizers and the
/// header's exact sum of target logits: Σ s_row exactly minus that sum, rounded once, plus
/// Σ log m_row; the same on every rank. Special rows as `rowLoss`: a NaN row makes it NaN; a
/// −inf target, an empty row, or +inf logits whose label is not one of them make it +inf;
/// rows whose +inf logits include the label add log(count).
func reducedLoss(
  _ message: UnsafeBufferPointer<UInt32>, layout: RecordLayout, labels: ShardLabels, rows: Int
) -> Double {
  let targets = TargetSum(fields: readHeaderFields(message.baseAddress!, layout: layout)!)
  var shifts = ExactFloatSum()
  var logs = 0.0
  var infiniteRows = 0
  var empty = false
  for r in 0..<rows where !labels.isIgnored(r) {
    let n = compact(rowRecord(message, row: r, layout: layout))
    if n.isNaN { return .nan }
    if n.s == .infinity {
      infiniteRows += 1
      logs += log(Double(n.infinityCount))
    } else if n.s == -.infinity {
      empty = true
    } else {
      shifts.add(n.s)
      logs += log(Double(Swift.abs(n.m)))
    }
  }
  if empty || targets.negativeInfinities > 0 || targets.positiveInfinities != infiniteRows {
    return .infinity
  }
  return shifts.subtracting(targets.finite).value + logs
}

/// One row's loss from its merged normalizer: (1 − ε)(log Z − x_label) + ε(log Z − mean x),
/// with log Z − v as (shift − v) + (exponent · ln 2 + log mantissa), so that logits of 1e30
/// lose nothing to the cancellation of shift and v.
func rowLoss(_ n: SoftmaxNormalizer, target: Double, meanLogit: Double, smoothing: Double)
  -> Double
{
  if n.mantissa.isNaN || target.isNaN { return .nan }
  if n.isEmpty { return .infinity }
  if n.infinityCount > 0 {
    // +inf logits share the probability: the label's is 1 / count if it is one of them.
    return target == .infinity && smoothing == 0 ? log(Double(n.infinityCount)) : .infinity
  }
  let labelTerm = logSumMinus(n, target)
  if smoothing == 0 { return labelTerm }
  return (1 - smoothing) * labelTerm + smoothing * logSumMinus(n, meanLogit)
}

/// log Σ e^x − v for a finite, non-empty normalizer without +inf values.
@inline(__always)
func logSumMinus(_ n: SoftmaxNormalizer, _ v: Double) -> Double {
  (n.shift - v) + (n.exponent * 0.693_147_180_559_945_309_417_232_121_458 + log(n.mantissa))
}

/// scale · (softmax(x) − (1 − ε) one-hot − ε / C) over one row of the shard; `label` is the
/// label's column in the shard (outside 0..<count when another rank owns it).
@_specialize(where Element == Float)
@_specialize(where Element == Double)
func writeGradient<Element: SoftmaxElement>(
  _ x: UnsafeBufferPointer<Element>, _ g: UnsafeMutableBufferPointer<Element>,
  _ n: SoftmaxNormalizer, label: Int, scale: Double, smoothing: Double, classes: Double,
  threads: Int?
) {
  guard x.count > 0 else { return }
  let owned = label >= 0 && label < x.count
  // Read before the output pass: `g` may be the logits themselves.
  let xl = owned ? Double(x[label]) : 0
  let regular = n.infinityCount == 0 && !n.mantissa.isNaN && !n.isEmpty
  if regular {
    // scale · e^x / Z = e^x / (Z / scale): fold the scale into the normalizer's mantissa.
    let scaled =
      SoftmaxNormalizer(
        reassemblingShift: n.shift, mantissa: n.mantissa / scale, exponent: n.exponent,
        infinityCount: 0) ?? n
    scaled.normalize(x, into: g, threads: threads)
  } else {
    n.normalize(x, into: g, threads: threads)
    if scale != 1 {
      for i in g.indices { g[i] = Element(Double(g[i]) * scale) }
    }
  }
  if smoothing > 0 {
    let offset = scale * smoothing / classes
    for i in g.indices { g[i] = Element(Double(g[i]) - offset) }
  }
  guard owned else { return }
  if regular && xl.isFinite {
    // p − 1 as expm1(x − log Z): accurate when the model is sure (p ≈ 1).
    g[label] = Element(scale * (expm1(-logSumMinus(n, xl)) + smoothing * (1 - 1 / classes)))
  } else {
    g[label] = Element(Double(g[label]) - scale * (1 - smoothing))
  }
}
