// The reduction message: a few header records that let every rank check that all ranks
// passed the same batch, then one record per row (the row's normalizer, the target logit,
// the sum of the logits). The merge is the user-defined MPI operation; it is plain Swift on
// 32-bit words, so the tests run it without MPI.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import Softmax

/// A message's record layout, in 32-bit words.
///
/// A row's record starts with its normalizer: *compact* (Float and Float16 logits; 2 words,
/// see `CompactNormalizer`) or *full* (Double logits and `Communicator.allReduce`; 6 words:
/// the shift and the mantissa as Double bits, the exponent as Int32, the +inf count as
/// UInt32). Then, for a cross-entropy, the target logit (the rank that owns the label sends
/// it, the others 0; a Float for Float logits, else a Double) and, with label smoothing, Σ x
/// over the shard (a Double). One word of every record, its *tag*, tells a header record from
/// a row's: no row has 0xFFFFFFxx there.
struct RecordLayout: Equatable {
  enum Normalizer { case compact, full }

  let normalizer: Normalizer
  /// Words of the target logit: 0 (none), 1 (Float) or 2 (Double).
  let targetWords: Int
  /// Whether Σ x (a Double, two words) follows.
  let hasLogitSum: Bool
  /// Whether the header carries the exact sum of the batch's target logits (and the counts
  /// of ±inf ones) instead of the rows carrying one each: a reduced loss of Float logits
  /// without per-row losses.
  let hasTargetSum: Bool

  init(
    _ normalizer: Normalizer, targetWords: Int = 0, hasLogitSum: Bool = false,
    hasTargetSum: Bool = false
  ) {
    self.normalizer = normalizer
    self.targetWords = targetWords
    self.hasLogitSum = hasLogitSum
    self.hasTargetSum = hasTargetSum
  }

  /// The layout of `Communicator.allReduce`: full normalizers only.
  static let normalizers = RecordLayout(.full)

  /// The layout of a sharded batch of `rows` rows of elements of `elementSize` bytes. A
  /// cross-entropy of Float logits reduced without per-row losses or smoothing sends the
  /// target logits as one exact sum in the header once that is shorter than a Float per row
  /// (from 64 rows on).
  static func batch(
    elementSize: Int, rows: Int, crossEntropy: Bool, smoothing: Bool, perRowLosses: Bool
  ) -> RecordLayout {
    let compact = elementSize <= 4
    if compact && crossEntropy && !smoothing && !perRowLosses && rows >= 64 {
      return RecordLayout(.compact, hasTargetSum: true)
    }
    return RecordLayout(
      compact ? .compact : .full, targetWords: crossEntropy ? (compact ? 1 : 2) : 0,
      hasLogitSum: smoothing)
  }

  var normalizerWords: Int { normalizer == .compact ? 2 : 6 }
  var words: Int { normalizerWords + targetWords + (hasLogitSum ? 2 : 0) }
  var bytes: Int { words * 4 }
  /// The word that tells a header record from a row's: the compact mantissa (never a negative
  /// NaN), or the full record's +inf count (below 2^31).
  var tagWord: Int { normalizer == .compact ? 1 : 5 }
  var targetWord: Int { normalizerWords }
  var logitSumWord: Int { normalizerWords + targetWords }

  /// The header's fields, each a 32-bit word: the smallest and the largest fingerprint over
  /// the ranks, the number of ranks that sent a header, the sum of the shards' widths; then,
  /// with a target sum, the counts of +inf and −inf target logits and the sum's digits. Every
  /// field after the first two merges by addition.
  var headerFields: Int { hasTargetSum ? 6 + ExactFloatSum.count : 4 }
  /// The header's records: the fields fill every word but the tag.
  var headerRecords: Int { (headerFields + words - 2) / (words - 1) }
  /// The words of a message of `rows` rows.
  func messageWords(rows: Int) -> Int { (headerRecords + rows) * words }
}

/// The tag of header record h: 0xFFFFFF00 | h. 0xFFFFFFFF marks a header that met a row.
let headerTag: UInt32 = 0xFFFF_FF00
let misalignedTag: UInt32 = 0xFFFF_FFFF

@inline(__always)
func isHeader(_ record: UnsafePointer<UInt32>, _ layout: RecordLayout) -> Bool {
  record[layout.tagWord] & headerTag == headerTag
}

// MARK: Normalizers in records

/// A row's normalizer in two Float words (s, m), for Float and Float16 logits: Σ e^x = e^s ·
/// |m|. A shard in pair form (values within ±2800) sends s = log Σ rounded to Float and
/// m = Σ / e^s ≈ 1; a shard in shift form sends s = its maximum (a Float) and −Σ e^(x − max):
/// the sign carries the form, so that a merged row whose shards all were pairs is rebuilt as
/// a pair (its output pass is then the exact Two-Pass one). +inf logits: s = +inf and m the
/// count's bits; an empty sum: s = −inf, m = 0; NaN: m NaN. Merging rescales the smaller sum
/// by e^(s_small − s_large) in Double and rounds once to Float (2^-24 relative per merge):
/// the same Float whichever operand comes first, so the merge is commutative to the bit.
struct CompactNormalizer: Equatable {
  var s: Float
  var m: Float

  static let nan = CompactNormalizer(s: 0, m: Float(bitPattern: 0x7fc0_0000))

  init(s: Float, m: Float) {
    self.s = s
    self.m = m
  }

  init(_ n: SoftmaxNormalizer) {
    if n.mantissa.isNaN {
      self = .nan
    } else if n.infinityCount > 0 {
      precondition(
        n.infinityCount < 1 << 31, "SoftmaxMPI: +inf count \(n.infinityCount) beyond 2^31")
      self.init(s: .infinity, m: Float(bitPattern: UInt32(n.infinityCount)))
    } else if n.isEmpty {
      self.init(s: -.infinity, m: 0)
    } else if n.shift == 0 {
      let s = Float(n.exponent * ln2 + log(n.mantissa))
      self.init(s: s, m: Float(n.mantissa * exp(n.exponent * ln2 - Double(s))))
    } else {
      self.init(s: Float(n.shift), m: -Float(scalbn(n.mantissa, Int(n.exponent))))
    }
  }

  var isNaN: Bool { m.isNaN }
  var infinityCount: Int { s == .infinity ? Int(m.bitPattern) : 0 }

  var normalizer: SoftmaxNormalizer {
    let rebuilt: SoftmaxNormalizer?
    if m.isNaN {
      rebuilt = SoftmaxNormalizer(
        reassemblingShift: 0, mantissa: .nan, exponent: 0, infinityCount: 0)
    } else if s == .infinity {
      rebuilt = SoftmaxNormalizer(
        reassemblingShift: 0, mantissa: 0, exponent: 0, infinityCount: infinityCount)
    } else if s == -.infinity {
      rebuilt = SoftmaxNormalizer()
    } else if m.sign == .minus {
      rebuilt = SoftmaxNormalizer(
        reassemblingShift: Double(s), mantissa: -Double(m), exponent: 0, infinityCount: 0)
    } else {
      // e^s · m = 2^e · (m · e^(s − e ln 2)): the pair, with e the nearest integer.
      let e = (Double(s) / ln2).rounded()
      rebuilt = SoftmaxNormalizer(
        reassemblingShift: 0, mantissa: Double(m) * exp(Double(s) - e * ln2), exponent: e,
        infinityCount: 0)
    }
    return rebuilt ?? SoftmaxNormalizer(accumulating: [Float.nan])
  }

  func merging(_ other: CompactNormalizer) -> CompactNormalizer {
    if isNaN || other.isNaN { return .nan }
    if s == .infinity || other.s == .infinity {
      let count = infinityCount + other.infinityCount
      precondition(count < 1 << 31, "SoftmaxMPI: +inf count \(count) beyond 2^31")
      return CompactNormalizer(s: .infinity, m: Float(bitPattern: UInt32(count)))
    }
    if other.s == -.infinity { return self }
    if s == -.infinity { return other }
    let shifted = m.sign == .minus || other.m.sign == .minus
    let (large, small) = s >= other.s ? (self, other) : (other, self)
    let sum =
      Double(Swift.abs(large.m))
      + Double(Swift.abs(small.m)) * exp(Double(small.s) - Double(large.s))
    return CompactNormalizer(s: large.s, m: shifted ? -Float(sum) : Float(sum))
  }
}

let ln2 = 0.693_147_180_559_945_309_417_232_121_458

/// Writes a normalizer into the first words of `record`.
@inline(__always)
func store(_ n: SoftmaxNormalizer, _ record: UnsafeMutablePointer<UInt32>, _ layout: RecordLayout) {
  switch layout.normalizer {
  case .compact:
    let c = CompactNormalizer(n)
    record[0] = c.s.bitPattern
    record[1] = c.m.bitPattern
  case .full:
    precondition(
      n.infinityCount >= 0 && n.infinityCount < 1 << 31,
      "SoftmaxMPI: +inf count \(n.infinityCount) beyond 2^31")
    storeDouble(n.shift, record)
    storeDouble(n.mantissa, record + 2)
    record[4] = UInt32(bitPattern: Int32(n.exponent))
    record[5] = UInt32(n.infinityCount)
  }
}

@inline(__always)
func compact(_ record: UnsafePointer<UInt32>) -> CompactNormalizer {
  CompactNormalizer(s: Float(bitPattern: record[0]), m: Float(bitPattern: record[1]))
}

/// The normalizer in the first words of `record`: NaN if they hold no normalizer (they always
/// do, unless a rank sent something else).
@inline(__always)
func load(_ record: UnsafePointer<UInt32>, _ layout: RecordLayout) -> SoftmaxNormalizer {
  switch layout.normalizer {
  case .compact:
    return compact(record).normalizer
  case .full:
    return SoftmaxNormalizer(
      reassemblingShift: loadDouble(record), mantissa: loadDouble(record + 2),
      exponent: Double(Int32(bitPattern: record[4])), infinityCount: Int(record[5]))
      ?? SoftmaxNormalizer(reassemblingShift: 0, mantissa: .nan, exponent: 0, infinityCount: 0)!
  }
}

@inline(__always)
func storeDouble(_ value: Double, _ words: UnsafeMutablePointer<UInt32>) {
  words[0] = UInt32(truncatingIfNeeded: value.bitPattern)
  words[1] = UInt32(truncatingIfNeeded: value.bitPattern >> 32)
}

@inline(__always)
func loadDouble(_ words: UnsafePointer<UInt32>) -> Double {
  Double(bitPattern: UInt64(words[0]) | UInt64(words[1]) << 32)
}

/// The two normalizers merged in an order fixed by their fields, so that the result is the
/// same bits whichever is `a` (`merging` rescales the smaller sum to the larger, and
/// log(b / a) is not always −log(a / b) to the last bit). Every rank of a recursive-doubling
/// all-reduce then ends with the same bits, and a run is reproducible for a rank count.
@inline(__always)
func symmetricMerge(_ a: SoftmaxNormalizer, _ b: SoftmaxNormalizer) -> SoftmaxNormalizer {
  let aFirst =
    (a.shift, a.exponent, a.mantissa, a.infinityCount)
    <= (b.shift, b.exponent, b.mantissa, b.infinityCount)
  return aFirst ? a.merging(b) : b.merging(a)
}

// MARK: The merge

/// `inout[i] = input[i] ⊕ inout[i]` for `count` records: the MPI operation. Commutative to
/// the bit; associative up to the rounding of one addition per merge.
func mergeRecords(
  _ input: UnsafePointer<UInt32>, into output: UnsafeMutablePointer<UInt32>, count: Int,
  layout: RecordLayout
) {
  let w = layout.words
  for i in 0..<count {
    let a = input + i * w
    let b = output + i * w
    let aHeader = isHeader(a, layout)
    let bHeader = isHeader(b, layout)
    if aHeader || bHeader {
      mergeHeaders(a, b, aHeader && bHeader, layout)
      continue
    }
    switch layout.normalizer {
    case .compact:
      let merged = compact(a).merging(compact(b))
      b[0] = merged.s.bitPattern
      b[1] = merged.m.bitPattern
    case .full:
      store(symmetricMerge(load(a, layout), load(b, layout)), b, layout)
    }
    switch layout.targetWords {
    case 1:
      let t = layout.targetWord
      b[t] = (Float(bitPattern: a[t]) + Float(bitPattern: b[t])).bitPattern
    case 2:
      let t = layout.targetWord
      storeDouble(loadDouble(a + t) + loadDouble(b + t), b + t)
    default: break
    }
    if layout.hasLogitSum {
      let t = layout.logitSumWord
      storeDouble(loadDouble(a + t) + loadDouble(b + t), b + t)
    }
  }
}

/// The payload words of a header record (every word but the tag), in order.
@inline(__always)
func headerWord(_ index: Int, _ layout: RecordLayout) -> Int {
  index < layout.tagWord ? index : index + 1
}

private func mergeHeaders(
  _ a: UnsafePointer<UInt32>, _ b: UnsafeMutablePointer<UInt32>, _ both: Bool,
  _ layout: RecordLayout
) {
  let tag = layout.tagWord
  guard both, a[tag] == b[tag], a[tag] != misalignedTag else {
    // A header met a row, or another header record: the ranks' messages are not aligned.
    // The mark absorbs every later merge, so that every rank that reads it reports.
    for k in 0..<layout.words { b[k] = 0 }
    b[tag] = misalignedTag
    return
  }
  let h = Int(b[tag] & 0xff)
  for p in 0..<(layout.words - 1) {
    let field = h * (layout.words - 1) + p
    let k = headerWord(p, layout)
    switch field {
    case 0: b[k] = min(a[k], b[k])
    case 1: b[k] = max(a[k], b[k])
    default: b[k] = a[k] &+ b[k]  // counts, widths and the digits of sums; padding is 0
    }
  }
}

/// The 32-bit fingerprint a header carries: never 0, the smallest a header can be merged to
/// when it meets a row.
func headerFingerprint(_ fingerprint: UInt64) -> UInt32 {
  let folded = UInt32(truncatingIfNeeded: fingerprint ^ (fingerprint >> 32))
  return folded == 0 ? 1 : folded
}

/// Writes the header records of a batch at the start of `message`; `extra` are the fields
/// after the first four.
func storeHeader(
  fingerprint: UInt64, width: Int, extra: [UInt32] = [], layout: RecordLayout,
  _ message: UnsafeMutablePointer<UInt32>
) {
  precondition(width < 1 << 31, "SoftmaxMPI: a shard of \(width) columns, beyond 2^31")
  precondition(4 + extra.count <= layout.headerFields)
  let f = headerFingerprint(fingerprint)
  let fields: [UInt32] = [f, f, 1, UInt32(width)] + extra
  for h in 0..<layout.headerRecords {
    let record = message + h * layout.words
    record[layout.tagWord] = headerTag | UInt32(h)
    for p in 0..<(layout.words - 1) {
      let field = h * (layout.words - 1) + p
      record[headerWord(p, layout)] = field < fields.count ? fields[field] : 0
    }
  }
}

/// The header's fields in a message, or nil where a header record is not in its place.
func readHeaderFields(_ message: UnsafePointer<UInt32>, layout: RecordLayout) -> [UInt32]? {
  var fields = [UInt32]()
  for h in 0..<layout.headerRecords {
    let record = message + h * layout.words
    if record[layout.tagWord] != headerTag | UInt32(h) { return nil }
    for p in 0..<(layout.words - 1) { fields.append(record[headerWord(p, layout)]) }
  }
  return fields
}

/// What went wrong with a reduced header, or nil when every rank sent the same batch.
func headerProblem(
  _ message: UnsafePointer<UInt32>, fingerprint: UInt64, ranks: Int, classes: Int?,
  layout: RecordLayout
) -> String? {
  guard let fields = readHeaderFields(message, layout: layout) else {
    return "the ranks' messages are not aligned (a header met a row)"
  }
  let f = headerFingerprint(fingerprint)
  if fields[0] != f || fields[1] != f {
    return
      "the ranks passed different batches (row count, classes, partition, labels or options differ)"
  }
  if Int(fields[2]) != ranks {
    return "\(fields[2]) of \(ranks) ranks sent a header: the ranks' messages are not aligned"
  }
  if let classes, Int(fields[3]) != classes {
    return "the shards hold \(fields[3]) columns in all, not the \(classes) classes"
  }
  return nil
}

/// FNV-1a, 64 bits: the fingerprint of a batch's description.
struct Fingerprint {
  private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

  mutating func add(_ word: UInt64) {
    var w = word
    for _ in 0..<8 {
      value = (value ^ (w & 0xff)) &* 0x100_0000_01b3
      w >>= 8
    }
  }

  mutating func add(_ n: Int) { add(UInt64(bitPattern: Int64(n))) }
}
