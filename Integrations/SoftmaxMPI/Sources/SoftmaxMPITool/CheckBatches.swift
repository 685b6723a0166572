import SoftmaxMPI

/// One batch of `softmax-mpi check`: whole rows (every rank makes all of them and takes its
/// columns), and one label per row (−100 marks rows that the variants with an ignore index
/// ignore).
struct CheckBatch {
  let name: String
  let rows: Int
  let classes: Int
  let logits: [Float]
  let labels: [Int32]

  func row(_ r: Int) -> ArraySlice<Float> { logits[(r * classes)..<((r + 1) * classes)] }

  /// The columns `columns` of every row of `values` (rows × classes).
  func columns(_ values: [Float], _ columns: Range<Int>) -> [Float] {
    var out = [Float]()
    out.reserveCapacity(rows * columns.count)
    for r in 0..<rows {
      out.append(
        contentsOf: values[(r * classes + columns.lowerBound)..<(r * classes + columns.upperBound)])
    }
    return out
  }

  func shard(_ columns: Range<Int>) -> [Float] { self.columns(logits, columns) }
}

/// Random batches of several shapes (rows shorter than the rank count leave ranks without
/// columns; uneven widths) and one batch of adversarial rows.
func checkBatches(seed: UInt64) -> [CheckBatch] {
  var batches = [CheckBatch]()
  for (i, (rows, classes, scale)) in [
    (7, 1000, Float(8)), (3, 50_000, 20), (16, 37, 3), (5, 3, 1), (2, 1, 1), (4, 9000, 1e4),
  ].enumerated() {
    let s = seed &+ UInt64(i) &* 1000
    var logits = [Float]()
    for r in 0..<rows {
      for c in 0..<classes {
        logits.append(seededLogit(seed: s, row: r, column: c, classes: classes, scale: scale))
      }
    }
    var labels = (0..<rows).map { seededLabel(seed: s, row: $0, classes: classes) }
    if rows > 2 { labels[rows / 2] = -100 }
    batches.append(
      CheckBatch(
        name: "random \(rows)x\(classes) ±\(scale)", rows: rows, classes: classes,
        logits: logits, labels: labels))
  }
  let adversarial = adversarialBatch(seed: seed)
  batches.append(adversarial)
  // 75 rows: enough for a cross-entropy without per-row losses to send its target logits as
  // one exact sum (from 64 rows), with the adversarial rows among random ones.
  var labels = [Int32]()
  var logits = [Float]()
  for r in 0..<75 {
    if r % 5 == 0 {
      let a = (r / 5) % adversarial.rows
      logits += adversarial.row(a)
      labels.append(adversarial.labels[a])
    } else {
      logits += (0..<adversarial.classes).map {
        seededLogit(seed: seed &+ 99, row: r, column: $0, classes: adversarial.classes, scale: 12)
      }
      labels.append(seededLabel(seed: seed &+ 99, row: r, classes: adversarial.classes))
    }
  }
  batches.append(
    CheckBatch(
      name: "75x\(adversarial.classes), every fifth row adversarial", rows: 75,
      classes: adversarial.classes, logits: logits, labels: labels))
  return batches
}

/// Rows that break naive implementations: logits of ±1e30, beyond the Two-Pass range ±2800
/// and at its edge, huge spreads, −inf entries and rows, NaN, +inf entries, ties, a label on
/// a −inf logit, a lone finite value in the last rank's columns.
func adversarialBatch(seed: UInt64) -> CheckBatch {
  let classes = 2003
  var rows = [[Float]]()
  var labels = [Int32]()
  func uniform(_ r: Int, _ c: Int, _ scale: Float) -> Float {
    seededLogit(seed: seed &+ 77, row: r, column: c, classes: classes, scale: scale)
  }
  func add(_ label: Int, _ make: (Int) -> Float) {
    let r = rows.count
    rows.append((0..<classes).map { c in make(c) })
    labels.append(
      label < 0 ? seededLabel(seed: seed &+ 78, row: r, classes: classes) : Int32(label))
    _ = r
  }
  add(-1) { c in uniform(0, c, 1e30) }  // ±1e30
  add(-1) { c in uniform(1, c, 3000) }  // beyond the Two-Pass range
  add(1500) { c in c == 1500 ? 1e30 : uniform(2, c, 5) }  // one huge logit, the label
  add(3) { c in c == 1500 ? 1e30 : uniform(3, c, 5) }  // one huge logit, label elsewhere
  add(-1) { c in c == 7 ? 5 : -1e30 }  // all −1e30 but one
  add(14) { c in c % 7 == 0 ? -.infinity : uniform(5, c, 4) }  // −inf entries, label on one
  add(-1) { _ in -.infinity }  // only −inf
  add(-1) { c in c == 1999 ? .nan : uniform(7, c, 2) }  // NaN
  add(100) { c in c == 100 || c == 1900 ? .infinity : uniform(8, c, 2) }  // +inf, label on one
  add(5) { c in c == 1900 ? .infinity : uniform(9, c, 2) }  // +inf, label elsewhere
  add(-1) { _ in 2790 }  // ties at the edge of the range
  add(-1) { c in -2795 + uniform(11, c, 5) }  // just inside −2800
  add(2002) { c in c == 2002 ? 3 : -.infinity }  // a lone finite value in the last columns
  add(-1) { c in c % 2 == 0 ? 1e30 : -1e30 }  // the widest spread
  add(-1) { c in uniform(14, c, 1e4) }  // |x| to 1e4
  labels[labels.count - 1] = -100
  return CheckBatch(
    name: "adversarial \(rows.count)x\(classes)", rows: rows.count, classes: classes,
    logits: rows.flatMap { $0 }, labels: labels)
}
