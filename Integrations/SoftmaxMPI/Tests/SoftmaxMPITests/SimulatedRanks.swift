import Foundation
import Softmax

@testable import SoftmaxMPI

/// Several ranks simulated in one process: each fills its message from its shard, the
/// messages are merged with the MPI operation's own function (in a given order, or as a
/// tree), and each rank finishes its shard from the merged message. What MPI adds is only the
/// transport.
struct SimulatedBatch {
  let rows: [[Float]]
  let partition: ClassPartition

  var classes: Int { partition.classes }

  func shard(_ part: Int) -> [Float] {
    let c = partition.columns(ofPart: part)
    return rows.flatMap { $0[c] }
  }

  func geometry(_ part: Int) -> ShardGeometry {
    ShardGeometry(rows: rows.count, columns: partition.columns(ofPart: part), partition: partition)
  }

  /// Every part's message, filled (by default in the layout of a batch of Float).
  func messages(labels: ShardLabels?, operation: ShardedOperation, layout: RecordLayout? = nil)
    -> [[UInt32]]
  {
    let layout = layout ?? batchLayout(Float.self, rows: rows.count, labels: labels)
    return (0..<partition.parts).map { p in
      let f = batchFingerprint(operation, elementSize: 4, geometry(p), labels)
      var m = [UInt32](repeating: 0, count: layout.messageWords(rows: rows.count))
      let x = shard(p)
      x.withUnsafeBufferPointer { xs in
        m.withUnsafeMutableBufferPointer { mb in
          fillMessage(
            xs, geometry(p), labels: labels, fingerprint: f, layout: layout, threads: 1, into: mb)
        }
      }
      return m
    }
  }
}

/// Merges messages left to right in `order` (what a chain of MPI reductions does).
func merged(_ messages: [[UInt32]], order: [Int], layout: RecordLayout) -> [UInt32] {
  var result = messages[order[0]]
  for q in order.dropFirst() {
    messages[q].withUnsafeBufferPointer { a in
      result.withUnsafeMutableBufferPointer { b in
        mergeRecords(
          a.baseAddress!, into: b.baseAddress!, count: b.count / layout.words, layout: layout)
      }
    }
  }
  return result
}

/// Merges messages pairwise, as recursive halving does: ((0 1) (2 3)) ...
func mergedAsTree(_ messages: [[UInt32]], layout: RecordLayout) -> [UInt32] {
  var level = messages
  while level.count > 1 {
    var next = [[UInt32]]()
    var i = 0
    while i < level.count {
      next.append(
        i + 1 < level.count
          ? merged([level[i], level[i + 1]], order: [1, 0], layout: layout) : level[i])
      i += 2
    }
    level = next
  }
  return level[0]
}

/// The exact softmax quantities of one row in Double: maximum, log Σ e^(x − max) with
/// Neumaier's compensation (independent of the library).
struct ExactRow {
  let x: [Double]
  let maximum: Double
  let logOfSum: Double

  init(_ row: [Float]) {
    x = row.map(Double.init)
    maximum = x.max()!
    var sum = 0.0
    var c = 0.0
    for v in x {
      let e = Foundation.exp(v - maximum)
      let t = sum + e
      c += Swift.abs(sum) >= Swift.abs(e) ? (sum - t) + e : (e - t) + sum
      sum = t
    }
    logOfSum = Foundation.log(sum + c)
  }

  func logSum(minus v: Double) -> Double { (maximum - v) + logOfSum }
  func probability(_ i: Int) -> Double { Foundation.exp(-logSum(minus: x[i])) }
  var mean: Double { x.reduce(0, +) / Double(x.count) }
}

/// |a − b| / max(|b|, floor).
func relative(_ a: Double, _ b: Double, floor: Double = 1e-30) -> Double {
  if a == b { return 0 }
  return Swift.abs(a - b) / Swift.max(Swift.abs(b), floor)
}

/// Rows of uniform logits in [−scale, scale) plus a shift.
func randomRows(_ rows: Int, _ classes: Int, scale: Float, shift: Float = 0, seed: UInt64)
  -> [[Float]]
{
  (0..<rows).map { r in
    (0..<classes).map { c in
      shift + seededLogit(seed: seed, row: r, column: c, classes: classes, scale: scale)
    }
  }
}

extension ShardLabels {
  /// The record layout of these labels on a batch of `rows` rows of Float.
  func layout(rows: Int) -> RecordLayout { batchLayout(Float.self, rows: rows, labels: self) }
}

extension RecordLayout {
  /// A batch of Float, normalizers only.
  static let floatNormalizers = RecordLayout(.compact)
  /// A batch of Float or Float16, cross-entropy without smoothing.
  static let floatTargets = RecordLayout(.compact, targetWords: 1)
  /// A batch of Double, cross-entropy without smoothing.
  static let doubleTargets = RecordLayout(.full, targetWords: 2)
}

/// Every part's shard and filled message (fingerprint 1) for rows of any element type, in the
/// batch layout of that type.
func filledMessages<Element: SoftmaxElement>(
  _ rows: [[Element]], _ partition: ClassPartition, labels: ShardLabels
) -> (shards: [[Element]], messages: [[UInt32]], layout: RecordLayout) {
  let layout = batchLayout(Element.self, rows: rows.count, labels: labels)
  let shards = (0..<partition.parts).map { p in rows.flatMap { $0[partition.columns(ofPart: p)] } }
  let messages = (0..<partition.parts).map { p in
    let geometry = ShardGeometry(
      rows: rows.count, columns: partition.columns(ofPart: p), partition: partition)
    var m = [UInt32](repeating: 0, count: layout.messageWords(rows: rows.count))
    shards[p].withUnsafeBufferPointer { x in
      m.withUnsafeMutableBufferPointer { mb in
        fillMessage(
          x, geometry, labels: labels, fingerprint: 1, layout: layout, threads: 1, into: mb)
      }
    }
    return m
  }
  return (shards, messages, layout)
}
