// The reduction message: one record per row (a SoftmaxNormalizer's fields, the target logit,
// the sum of the logits), after one header record that lets every rank check that all ranks
// passed the same batch. The merge is the user-defined MPI operation; it is plain Swift on
// words, so the tests run it without MPI.

import Softmax

/// A message's record layout: how many 64-bit words each record has.
///
/// Words: 0 the normalizer's shift (Double bits), 1 its mantissa, 2 its exponent (Int32, low
/// half) and +inf count (UInt32, high half), 3 the target logit (Double; the rank that owns
/// the label contributes it, the others 0), 4 Σ x over the shard (Double, for label
/// smoothing). The header record (the first of every message) has the sentinel
/// `Int32.min` as its exponent, which no normalizer has, and holds the smallest and largest
/// fingerprint of the batch over the ranks (words 0 and 1), the number of ranks that sent one
/// (the count half of word 2) and, from 4 words on, the sum of the shard widths (word 3).
struct RecordLayout: Equatable {
  let words: Int

  static let normalizers = RecordLayout(words: 3)
  static let targets = RecordLayout(words: 4)
  static let smoothing = RecordLayout(words: 5)

  var bytes: Int { words * 8 }
}

let headerSentinel = Int32.min

/// Packs a normalizer's exponent and +inf count into one word.
@inline(__always)
func packExponent(_ exponent: Double, count: Int) -> UInt64 {
  precondition(
    count >= 0 && count <= Int(UInt32.max), "SoftmaxMPI: +inf count \(count) beyond 2^32")
  let e = Int32(exponent)
  return UInt64(UInt32(bitPattern: e)) | (UInt64(UInt32(count)) << 32)
}

@inline(__always)
func unpackExponent(_ word: UInt64) -> (exponent: Int32, count: Int) {
  (Int32(bitPattern: UInt32(truncatingIfNeeded: word)), Int(word >> 32))
}

/// Writes a normalizer's fields into words 0...2 of `record`.
@inline(__always)
func store(_ n: SoftmaxNormalizer, _ record: UnsafeMutablePointer<UInt64>) {
  record[0] = n.shift.bitPattern
  record[1] = n.mantissa.bitPattern
  record[2] = packExponent(n.exponent, count: n.infinityCount)
}

/// The normalizer in words 0...2 of `record`: NaN if they hold no normalizer (they always do,
/// unless a rank sent something else).
@inline(__always)
func load(_ record: UnsafePointer<UInt64>) -> SoftmaxNormalizer {
  let (e, c) = unpackExponent(record[2])
  return SoftmaxNormalizer(
    reassemblingShift: Double(bitPattern: record[0]), mantissa: Double(bitPattern: record[1]),
    exponent: Double(e), infinityCount: c)
    ?? SoftmaxNormalizer(reassemblingShift: 0, mantissa: .nan, exponent: 0, infinityCount: 0)!
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

/// `inout[i] = input[i] ⊕ inout[i]` for `count` records: the MPI operation. Commutative to
/// the bit; associative up to the rounding of one Double addition per merge.
func mergeRecords(
  _ input: UnsafePointer<UInt64>, into output: UnsafeMutablePointer<UInt64>, count: Int,
  layout: RecordLayout
) {
  let w = layout.words
  for i in 0..<count {
    let a = input + i * w
    let b = output + i * w
    let aHeader = unpackExponent(a[2]).exponent == headerSentinel
    let bHeader = unpackExponent(b[2]).exponent == headerSentinel
    if aHeader || bHeader {
      if aHeader && bHeader {
        b[0] = min(a[0], b[0])
        b[1] = max(a[1], b[1])
        let ranks = unpackExponent(a[2]).count + unpackExponent(b[2]).count
        b[2] = UInt64(UInt32(bitPattern: headerSentinel)) | (UInt64(UInt32(ranks)) << 32)
        if w >= 4 { b[3] = b[3] &+ a[3] }
      } else {
        // A header met a row: the ranks' messages are not aligned. Make the result a header
        // whose fingerprints disagree, so that every rank that reads it reports.
        b[0] = 0
        b[1] = UInt64.max
        b[2] = UInt64(UInt32(bitPattern: headerSentinel))
      }
      continue
    }
    store(symmetricMerge(load(a), load(b)), b)
    if w >= 4 {
      b[3] = (Double(bitPattern: a[3]) + Double(bitPattern: b[3])).bitPattern
    }
    if w >= 5 {
      b[4] = (Double(bitPattern: a[4]) + Double(bitPattern: b[4])).bitPattern
    }
  }
}

/// Writes the header record of a batch.
func storeHeader(
  fingerprint: UInt64, width: Int, layout: RecordLayout, _ record: UnsafeMutablePointer<UInt64>
) {
  record[0] = fingerprint
  record[1] = fingerprint
  record[2] = UInt64(UInt32(bitPattern: headerSentinel)) | (1 << 32)
  if layout.words >= 4 { record[3] = UInt64(width) }
  for w in stride(from: 4, to: layout.words, by: 1) { record[w] = 0 }
}

/// What went wrong with a reduced header, or nil when every rank sent the same batch.
func headerProblem(
  _ record: UnsafePointer<UInt64>, fingerprint: UInt64, ranks: Int, classes: Int?,
  layout: RecordLayout
) -> String? {
  let (e, count) = unpackExponent(record[2])
  if e != headerSentinel || record[0] != record[1] || record[0] != fingerprint {
    return
      "the ranks passed different batches (row count, classes, partition, labels or options differ)"
  }
  if count != ranks {
    return "\(count) of \(ranks) ranks sent a header: the ranks' messages are not aligned"
  }
  if let classes, layout.words >= 4, Int(record[3]) != classes {
    return "the shards hold \(record[3]) columns in all, not the \(classes) classes"
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
