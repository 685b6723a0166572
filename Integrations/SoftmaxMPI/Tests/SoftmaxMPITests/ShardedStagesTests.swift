import Foundation
import Softmax
import Testing

@testable import SoftmaxMPI

@Suite("Sharded stages, ranks simulated in one process")
struct ShardedStagesTests {
  static let partitions: [(String, @Sendable (Int) -> ClassPartition)] = [
    ("1 part", { ClassPartition.even(classes: $0, parts: 1) }),
    ("2 parts", { ClassPartition.even(classes: $0, parts: 2) }),
    ("3 parts", { ClassPartition.even(classes: $0, parts: 3) }),
    ("4 parts, one empty", { c in ClassPartition(bounds: [0, c / 3, c / 3, 2 * c / 3, c]) }),
  ]

  static let batches: [(String, [[Float]])] = [
    ("normal ±8", randomRows(5, 3001, scale: 8, seed: 1)),
    ("huge ±1e30", randomRows(3, 1000, scale: 1e30, seed: 2)),
    ("beyond the Two-Pass range", randomRows(3, 1000, scale: 3000, seed: 3)),
    ("near −2800", randomRows(3, 1000, scale: 5, shift: -2795, seed: 4)),
    ("long rows", randomRows(2, 40_000, scale: 20, seed: 5)),
  ]

  @Test(
    "the merged normalizers give log Σ e^x of the whole rows within 1e-6, whatever the split",
    arguments: 0..<partitions.count)
  func normalizers(partitionIndex: Int) {
    for (name, rows) in Self.batches {
      let batch = SimulatedBatch(
        rows: rows, partition: Self.partitions[partitionIndex].1(rows[0].count))
      let messages = batch.messages(labels: nil, operation: .normalizers)
      let m = merged(messages, order: Array(messages.indices), layout: .floatNormalizers)
      m.withUnsafeBufferPointer { mb in
        for r in rows.indices {
          let n = rowNormalizer(mb, row: r, layout: .floatNormalizers)
          let exact = ExactRow(rows[r])
          let error =
            Swift.abs(n.logSum - exact.logSum(minus: 0))
            / Swift.max(1, Swift.abs(exact.logSum(minus: 0)))
          #expect(error <= 1e-6, "\(name), \(Self.partitions[partitionIndex].0), row \(r)")
        }
      }
    }
  }

  @Test(
    "the merge is commutative to the bit, and every merge order and tree agrees: within 1e-12 for full records, 2^-21 for compact ones",
    arguments: [RecordLayout.normalizers, .floatNormalizers])
  func mergeOrders(layout: RecordLayout) {
    let rows = randomRows(6, 2000, scale: 40, seed: 7) + randomRows(2, 2000, scale: 1e20, seed: 8)
    let batch = SimulatedBatch(rows: rows, partition: .even(classes: 2000, parts: 4))
    let messages = batch.messages(labels: nil, operation: .normalizers, layout: layout)
    for i in 0..<4 {
      for j in 0..<4 {
        #expect(
          merged(messages, order: [i, j], layout: layout)
            == merged(messages, order: [j, i], layout: layout))
      }
    }
    // Compact records round the sum to Float once per merge: three merges, 2^-24 each.
    let tolerance = layout.normalizer == .full ? 1e-12 : 0x1p-21
    let reference = merged(messages, order: [0, 1, 2, 3], layout: layout)
    let others = [
      merged(messages, order: [3, 2, 1, 0], layout: layout),
      merged(messages, order: [2, 0, 3, 1], layout: layout),
      mergedAsTree(messages, layout: layout),
    ]
    for other in others {
      reference.withUnsafeBufferPointer { a in
        other.withUnsafeBufferPointer { b in
          for r in rows.indices {
            let x = rowNormalizer(a, row: r, layout: layout).logSum
            let y = rowNormalizer(b, row: r, layout: layout).logSum
            #expect(Swift.abs(x - y) <= tolerance * Swift.max(1, Swift.abs(x)), "row \(r)")
          }
        }
      }
    }
  }

  @Test(
    "cross-entropy: losses and each shard's gradient against exact values",
    arguments: [
      (LossReduction.mean, 0.0), (.sum, 0.1), (.none, 0.0), (.mean, 0.3),
    ])
  func crossEntropy(reduction: LossReduction, smoothing: Double) {
    for (name, rows) in Self.batches {
      let classes = rows[0].count
      var labels = (0..<rows.count).map { seededLabel(seed: 9, row: $0, classes: classes) }
      labels[rows.count - 1] = -100
      for (partitionName, makePartition) in Self.partitions {
        let batch = SimulatedBatch(rows: rows, partition: makePartition(classes))
        let context = "\(name), \(partitionName), \(reduction), ε \(smoothing)"
        labels.withUnsafeBufferPointer { l in
          let shardLabels = ShardLabels(
            labels: l, ignoreIndex: -100, smoothing: smoothing, reduction: reduction)
          let messages = batch.messages(labels: shardLabels, operation: .crossEntropy)
          let m = merged(
            messages, order: Array(messages.indices).reversed(),
            layout: shardLabels.layout(rows: rows.count))
          var results = [Double]()
          var gradient = [[Float]](repeating: [], count: rows.count)
          var losses = [Float](repeating: 0, count: rows.count)
          for p in 0..<batch.partition.parts {
            let x = batch.shard(p)
            var g = [Float](repeating: .nan, count: x.count)
            let loss = x.withUnsafeBufferPointer { xs in
              g.withUnsafeMutableBufferPointer { gs in
                losses.withUnsafeMutableBufferPointer { ls in
                  m.withUnsafeBufferPointer { mb in
                    finishCrossEntropy(
                      xs, batch.geometry(p), labels: shardLabels, message: mb, threads: 1,
                      gradient: gs, losses: ls)
                  }
                }
              }
            }
            results.append(loss)
            let w = batch.partition.columns(ofPart: p).count
            for r in rows.indices { gradient[r] += g[(r * w)..<((r + 1) * w)] }
          }
          // Every rank reduces to the same loss.
          #expect(Set(results.map(\.bitPattern)).count == 1, "\(context)")
          var exactTotal = 0.0
          let kept = rows.count - 1
          let scale = reduction == .mean ? 1 / Double(kept) : 1
          for r in rows.indices {
            let exact = ExactRow(rows[r])
            let label = Int(labels[r])
            if label == -100 {
              #expect(losses[r] == 0 && gradient[r].allSatisfy { $0 == 0 }, "\(context) row \(r)")
              continue
            }
            let loss =
              (1 - smoothing) * exact.logSum(minus: exact.x[label])
              + smoothing * exact.logSum(minus: exact.mean)
            exactTotal += loss
            #expect(
              relative(Double(losses[r]), loss, floor: 1) <= 1e-6,
              "\(context) row \(r): \(losses[r]) against \(loss)")
            let offset = smoothing / Double(classes)
            var worst = 0.0
            for i in 0..<classes {
              let target =
                i == label
                ? Foundation.expm1(-exact.logSum(minus: exact.x[i])) + smoothing - offset
                : exact.probability(i) - offset
              let floor = Swift.max(1e-30, offset, i == label ? 1 : 0)
              worst = Swift.max(
                worst, relative(Double(gradient[r][i]) / scale, target, floor: floor))
            }
            #expect(worst <= 1e-6, "\(context) row \(r): gradient error \(worst)")
          }
          let reduced = reduction == .mean ? exactTotal / Double(kept) : exactTotal
          #expect(relative(results[0], reduced, floor: 1) <= 1e-6, "\(context)")
        }
      }
    }
  }

  @Test("special rows: NaN, +inf, only −inf, a label on −inf, as the library's crossEntropy")
  func specialRows() {
    let classes = 12
    let rows: [[Float]] = [
      (0..<classes).map { $0 == 7 ? .nan : Float($0) },
      (0..<classes).map { $0 == 2 || $0 == 9 ? .infinity : Float($0) },
      (0..<classes).map { $0 == 2 ? .infinity : Float($0) },
      [Float](repeating: -.infinity, count: classes),
      (0..<classes).map { $0 % 3 == 0 ? -.infinity : Float($0) },
      (0..<classes).map { $0 == 11 ? 4 : -.infinity },
    ]
    let labels: [Int32] = [1, 9, 5, 0, 3, 11]
    let flat = rows.flatMap { $0 }
    for smoothing in [0.0, 0.2] {
      let options = CrossEntropyOptions(labelSmoothing: smoothing)
      var libraryGradient = [Float](repeating: 0, count: flat.count)
      let libraryLosses = crossEntropyLosses(
        logits: flat, shape: [rows.count, classes], labels: labels, options: options)
      _ = Softmax.crossEntropy(
        logits: flat, shape: [rows.count, classes], labels: labels, reduction: .sum,
        options: options, gradient: &libraryGradient)
      let batch = SimulatedBatch(rows: rows, partition: .even(classes: classes, parts: 3))
      labels.withUnsafeBufferPointer { l in
        let shardLabels = ShardLabels(
          labels: l, ignoreIndex: nil, smoothing: smoothing, reduction: .sum)
        let messages = batch.messages(labels: shardLabels, operation: .crossEntropy)
        let m = merged(messages, order: [0, 1, 2], layout: shardLabels.layout(rows: rows.count))
        var losses = [Float](repeating: 0, count: rows.count)
        for p in 0..<3 {
          let x = batch.shard(p)
          var g = [Float](repeating: 0, count: x.count)
          _ = x.withUnsafeBufferPointer { xs in
            g.withUnsafeMutableBufferPointer { gs in
              losses.withUnsafeMutableBufferPointer { ls in
                m.withUnsafeBufferPointer { mb in
                  finishCrossEntropy(
                    xs, batch.geometry(p), labels: shardLabels, message: mb, threads: 1,
                    gradient: gs, losses: ls)
                }
              }
            }
          }
          let columns = batch.partition.columns(ofPart: p)
          for r in rows.indices {
            for (k, c) in columns.enumerated() {
              let a = g[r * columns.count + k]
              let b = libraryGradient[r * classes + c]
              // The label's entry, p − 1, is accurate to about 1e-7 absolute (log Z from pair
              // sums); the library takes a lone finite logit's p as exactly 1.
              let floor = c == Int(labels[r]) ? 1 : 1e-6
              #expect(
                (a.isNaN && b.isNaN) || relative(Double(a), Double(b), floor: floor) <= 1e-6,
                "ε \(smoothing) row \(r) column \(c): \(a) against the library's \(b)")
            }
          }
        }
        for r in rows.indices {
          let (a, b) = (losses[r], libraryLosses[r])
          #expect(
            (a.isNaN && b.isNaN) || a == b || relative(Double(a), Double(b), floor: 1) <= 1e-6,
            "ε \(smoothing) row \(r): loss \(a) against the library's \(b)")
        }
      }
    }
  }
}

@Suite("The reduced loss from the header's exact sum of target logits")
struct TargetSumTests {
  /// 70 rows (the header sum needs 64): random ones, and rows where the loss is small beside
  /// huge logits (labels on logits of 1e30 and 2e30, log Z − x ≈ 0 or log of a count), +inf
  /// logits with the label among them, a −1e30 label, a row near −2800, subnormal logits.
  static func rows(classes: Int) -> [[Float]] {
    var rows = randomRows(60, classes, scale: 12, seed: 21)
    rows.append((0..<classes).map { $0 % 3 == 0 ? -1e30 : 1e30 })
    rows.append((0..<classes).map { $0 % 3 == 0 ? 2e30 : -3e30 })
    rows.append((0..<classes).map { $0 == 5 ? 1e30 : Float($0) })
    rows.append((0..<classes).map { $0 == 7 ? -1e30 : 3e29 })
    rows.append((0..<classes).map { $0 == 1 || $0 == 40 ? .infinity : Float($0) })
    rows.append((0..<classes).map { -2795 + Float($0 % 7) })
    rows.append((0..<classes).map { Float(bitPattern: UInt32($0 + 1)) })
    rows += randomRows(3, classes, scale: 3000, seed: 23)
    return rows
  }

  /// Labels: the largest logits of rows 60–62 (losses near 0 beside Σ s of about 1e30, which
  /// a Double sum of the shifts would round by 1e14), the +inf of row 64, one ignored row.
  static func labels(_ rows: [[Float]]) -> [Int32] {
    var labels = rows.indices.map { seededLabel(seed: 24, row: $0, classes: rows[0].count) }
    labels[60] = 1
    labels[61] = 3
    labels[62] = 5
    labels[64] = 40
    labels[10] = -100
    return labels
  }

  /// The reduced loss and every part's gradient, through the stages.
  static func run(
    _ rows: [[Float]], _ labels: [Int32], parts: Int, reduction: LossReduction, perRow: Bool
  ) -> (loss: Double, gradient: [[Float]], layout: RecordLayout) {
    let batch = SimulatedBatch(rows: rows, partition: .even(classes: rows[0].count, parts: parts))
    return labels.withUnsafeBufferPointer { l in
      let shardLabels = ShardLabels(
        labels: l, ignoreIndex: -100, smoothing: 0, reduction: reduction, perRowLosses: perRow)
      let layout = shardLabels.layout(rows: rows.count)
      let messages = batch.messages(labels: shardLabels, operation: .crossEntropy)
      let m = mergedAsTree(messages, layout: layout)
      var loss = 0.0
      var gradients = [[Float]]()
      var losses = [Float](repeating: 0, count: rows.count)
      for p in 0..<parts {
        let x = batch.shard(p)
        var g = [Float](repeating: .nan, count: x.count)
        let result = x.withUnsafeBufferPointer { xs in
          g.withUnsafeMutableBufferPointer { gs in
            losses.withUnsafeMutableBufferPointer { ls in
              m.withUnsafeBufferPointer { mb in
                finishCrossEntropy(
                  xs, batch.geometry(p), labels: shardLabels, message: mb, threads: 1,
                  gradient: gs, losses: perRow ? ls : nil)
              }
            }
          }
        }
        if p > 0 { #expect(result.bitPattern == loss.bitPattern, "part \(p)") }
        loss = result
        gradients.append(g)
      }
      return (loss, gradients, layout)
    }
  }

  @Test(
    "8 bytes a row; the loss within 1e-12 of the per-row path's, 1e-7 of the exact one; the same gradient",
    arguments: [(LossReduction.mean, 3), (.sum, 2), (.sum, 4)])
  func againstPerRow(reduction: LossReduction, parts: Int) {
    let rows = Self.rows(classes: 300)
    let labels = Self.labels(rows)
    let summed = Self.run(rows, labels, parts: parts, reduction: reduction, perRow: false)
    let perRow = Self.run(rows, labels, parts: parts, reduction: reduction, perRow: true)
    #expect(summed.layout.bytes == 8 && summed.layout.hasTargetSum)
    #expect(perRow.layout.bytes == 12 && !perRow.layout.hasTargetSum)
    // The exact loss: rows of finite logits from ExactRow; the +inf row: log 2.
    var exact = 0.0
    for r in rows.indices where labels[r] != -100 {
      exact +=
        r == 64
        ? Foundation.log(2) : ExactRow(rows[r]).logSum(minus: Double(rows[r][Int(labels[r])]))
    }
    if reduction == .mean { exact /= Double(rows.count - 1) }
    // Against exact: the records' Floats (2^-24 per rounding of a row's sum); against the
    // per-row path, which sums the same rows' losses in Double: only the order of additions.
    #expect(relative(summed.loss, exact, floor: 1) <= 1e-7, "\(summed.loss) against \(exact)")
    #expect(relative(summed.loss, perRow.loss, floor: 1) <= 1e-12)
    #expect(summed.gradient == perRow.gradient)
  }

  @Test("special rows make the reduced loss what the per-row losses sum to: NaN, +inf")
  func specialRows() {
    var rows = Self.rows(classes: 50)
    var labels = Self.labels(rows)
    let cases: [(String, () -> Void, Double)] = [
      ("a NaN logit", { rows[3][17] = .nan }, .nan),
      ("+inf logits, the label elsewhere", { labels[64] = 2 }, .infinity),
      ("a label on −inf", { rows[4][Int(labels[4])] = -.infinity }, .infinity),
      ("a row of only −inf", { rows[5] = [Float](repeating: -.infinity, count: 50) }, .infinity),
    ]
    for (name, change, expected) in cases {
      rows = Self.rows(classes: 50)
      labels = Self.labels(rows)
      change()
      let summed = Self.run(rows, labels, parts: 3, reduction: .sum, perRow: false)
      let perRow = Self.run(rows, labels, parts: 3, reduction: .sum, perRow: true)
      #expect(
        summed.loss.bitPattern == expected.bitPattern || (summed.loss.isNaN && expected.isNaN),
        "\(name): \(summed.loss)")
      #expect(
        summed.loss == perRow.loss || (summed.loss.isNaN && perRow.loss.isNaN),
        "\(name): \(perRow.loss)")
    }
  }

  @Test("the exact sum: any finite Floats, in any order and split, to the Double of their sum")
  func exactSum() {
    var values: [Float] = [
      1e30, -1e30, 3, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .greatestFiniteMagnitude,
      .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0x1p-126, 1.5, -0.25, 7e-20,
    ]
    var g = SystemRandomNumberGenerator()
    for _ in 0..<500 {
      values.append(Float(bitPattern: UInt32.random(in: 0..<0x7f80_0000, using: &g)))
      values.append(-Float(bitPattern: UInt32.random(in: 0..<0x7f80_0000, using: &g)))
    }
    // The reference: Double sums are exact within a binade window; take the values' exact
    // sum by pairing each with its negation except the few survivors.
    var whole = ExactFloatSum()
    for v in values { whole.add(v) }
    var halves = (ExactFloatSum(), ExactFloatSum())
    for (i, v) in values.shuffled(using: &g).enumerated() {
      if i % 2 == 0 { halves.0.add(v) } else { halves.1.add(v) }
    }
    let merged = ExactFloatSum(
      words: zip(halves.0.words, halves.1.words).map { $0 &+ $1 })
    #expect(merged.value == whole.value)
    // x − x is exactly 0; adding a small value after cancelling huge ones keeps it exactly.
    var cancel = ExactFloatSum()
    for v in values { cancel.add(v) }
    for v in values { cancel = cancel.subtracting(ExactFloatSum(adding: v)) }
    cancel.add(0x1p-149)
    #expect(cancel.value == 0x1p-149)
    var small = ExactFloatSum()
    small.add(1e30)
    small.add(1.5)
    small.add(-1e30)
    #expect(small.value == 1.5)
    var max = ExactFloatSum()
    for _ in 0..<1000 { max.add(.greatestFiniteMagnitude) }
    #expect(max.value == 1000 * Double(Float.greatestFiniteMagnitude))
  }
}

extension ExactFloatSum {
  init(adding x: Float) {
    self.init()
    add(x)
  }
}

@Suite("Sharded stages on Double rows")
struct DoubleStagesTests {
  @Test("Double shards of logits to ±1e300 merge to log Σ e^x and the loss within 1e-12")
  func doubleRows() {
    let classes = 900
    let rows: [[Double]] = (0..<3).map { r in
      (0..<classes).map { c in
        Double(seededLogit(seed: 11, row: r, column: c, classes: classes, scale: 1))
          * [1e300, 1e4, 30][r]
      }
    }
    let partition = ClassPartition.even(classes: classes, parts: 3)
    let labels: [Int32] = [5, 450, 899]
    labels.withUnsafeBufferPointer { l in
      let shardLabels = ShardLabels(labels: l, ignoreIndex: nil, smoothing: 0, reduction: .sum)
      let filled = filledMessages(rows, partition, labels: shardLabels)
      #expect(filled.layout == .doubleTargets)
      let m = merged(filled.messages, order: [2, 0, 1], layout: .doubleTargets)
      var losses = [Double](repeating: 0, count: 3)
      let shard = filled.shards[0]
      _ = shard.withUnsafeBufferPointer { x in
        losses.withUnsafeMutableBufferPointer { ls in
          m.withUnsafeBufferPointer { mb in
            finishCrossEntropy(
              x,
              ShardGeometry(rows: 3, columns: partition.columns(ofPart: 0), partition: partition),
              labels: shardLabels, message: mb, threads: 1, gradient: nil, losses: ls)
          }
        }
      }
      for r in 0..<3 {
        let x = rows[r]
        let maximum = x.max()!
        let logOfSum = Foundation.log(x.map { Foundation.exp($0 - maximum) }.reduce(0, +))
        let exact = (maximum - x[Int(labels[r])]) + logOfSum
        #expect(
          relative(losses[r], exact, floor: 1) <= 1e-12, "row \(r): \(losses[r]) against \(exact)")
      }
    }
  }
}

@Suite("Sharded stages in place")
struct InPlaceStagesTests {
  @Test("the gradient written over the logits is bitwise the gradient written elsewhere")
  func inPlace() {
    let rows = randomRows(4, 600, scale: 6, seed: 13)
    let batch = SimulatedBatch(rows: rows, partition: .even(classes: 600, parts: 2))
    let labels: [Int32] = [3, 599, 300, 0]
    for smoothing in [0.0, 0.2] {
      labels.withUnsafeBufferPointer { l in
        let shardLabels = ShardLabels(
          labels: l, ignoreIndex: nil, smoothing: smoothing, reduction: .mean)
        let messages = batch.messages(labels: shardLabels, operation: .crossEntropy)
        let m = merged(messages, order: [0, 1], layout: shardLabels.layout(rows: rows.count))
        for p in 0..<2 {
          let x = batch.shard(p)
          var separate = [Float](repeating: 0, count: x.count)
          var inPlace = x
          m.withUnsafeBufferPointer { mb in
            _ = x.withUnsafeBufferPointer { xs in
              separate.withUnsafeMutableBufferPointer { g in
                finishCrossEntropy(
                  xs, batch.geometry(p), labels: shardLabels, message: mb, threads: 1,
                  gradient: g, losses: nil)
              }
            }
            _ = inPlace.withUnsafeMutableBufferPointer { g in
              finishCrossEntropy(
                UnsafeBufferPointer(g), batch.geometry(p), labels: shardLabels, message: mb,
                threads: 1, gradient: g, losses: nil)
            }
          }
          #expect(inPlace == separate, "part \(p), ε \(smoothing)")
        }
      }
    }
  }
}

@Suite("Sharded stages on Float16 rows")
struct HalfStagesTests {
  @Test(
    "Float16 shards: losses within 1e-6 of exact (sums in Float, losses in Double), gradients within Float16 rounding"
  )
  func halfRows() {
    let classes = 501
    let rows: [[Float16]] = (0..<3).map { r in
      (0..<classes).map { c in
        Float16(seededLogit(seed: 17, row: r, column: c, classes: classes, scale: 8))
      }
    }
    let partition = ClassPartition.even(classes: classes, parts: 2)
    let labels: [Int32] = [0, 250, 500]
    labels.withUnsafeBufferPointer { l in
      let shardLabels = ShardLabels(labels: l, ignoreIndex: nil, smoothing: 0, reduction: .sum)
      let (shards, messages, layout) = filledMessages(rows, partition, labels: shardLabels)
      #expect(layout == .floatTargets)
      let geometries = (0..<2).map {
        ShardGeometry(rows: 3, columns: partition.columns(ofPart: $0), partition: partition)
      }
      let m = merged(messages, order: [1, 0], layout: .floatTargets)
      for p in 0..<2 {
        var gradient = [Float16](repeating: 0, count: shards[p].count)
        var losses = [Float16](repeating: 0, count: 3)
        let total = shards[p].withUnsafeBufferPointer { x in
          gradient.withUnsafeMutableBufferPointer { g in
            losses.withUnsafeMutableBufferPointer { ls in
              m.withUnsafeBufferPointer { mb in
                finishCrossEntropy(
                  x, geometries[p], labels: shardLabels, message: mb, threads: 1, gradient: g,
                  losses: ls)
              }
            }
          }
        }
        var exactTotal = 0.0
        for r in 0..<3 {
          let exact = ExactRow(rows[r].map { Float($0) })
          exactTotal += exact.logSum(minus: exact.x[Int(labels[r])])
          for (k, c) in partition.columns(ofPart: p).enumerated() {
            let target =
              c == Int(labels[r])
              ? Foundation.expm1(-exact.logSum(minus: exact.x[c])) : exact.probability(c)
            let floor = c == Int(labels[r]) ? 1 : 6e-5
            #expect(
              relative(Double(gradient[r * geometries[p].width + k]), target, floor: floor)
                <= 1e-3, "part \(p) row \(r) column \(c)")
          }
        }
        #expect(relative(total, exactTotal, floor: 1) <= 1e-6, "part \(p)")
      }
    }
  }
}
