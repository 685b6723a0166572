import Softmax
import Testing

@testable import SoftmaxMPI

@Suite("Reduction records, headers and partitions")
struct RecordTests {
  @Test("a normalizer survives its full record bitwise: pairs, shifted, +inf counts, NaN, empty")
  func roundTrip() {
    let values: [[Float]] = [
      [1, 2, 3], [1e30, -1e30], [3000, 2999], [.infinity, 1, .infinity], [], [-.infinity],
    ]
    let layout = RecordLayout.normalizers
    var record = [UInt32](repeating: 0, count: layout.words)
    for v in values {
      let n = SoftmaxNormalizer(accumulating: v)
      record.withUnsafeMutableBufferPointer { store(n, $0.baseAddress!, layout) }
      let back = record.withUnsafeBufferPointer { load($0.baseAddress!, layout) }
      #expect(back.shift.bitPattern == n.shift.bitPattern, "\(v)")
      #expect(back.mantissa.bitPattern == n.mantissa.bitPattern, "\(v)")
      #expect(back.exponent == n.exponent && back.infinityCount == n.infinityCount, "\(v)")
    }
    let nan = SoftmaxNormalizer(accumulating: [Float.nan, 1])
    record.withUnsafeMutableBufferPointer { store(nan, $0.baseAddress!, layout) }
    #expect(record.withUnsafeBufferPointer { load($0.baseAddress!, layout) }.logSum.isNaN)
  }

  @Test(
    "a compact record keeps log Σ within 2^-24 relative of the sum, the pair or shift form, +inf counts, NaN and empty sums"
  )
  func compactRoundTrip() {
    let values: [[Float]] = [
      [1, 2, 3], [2790, 2795], [-2795, -2799], [1e30, -1e30], [3000, 2999], [-3000, 0],
      [Float.greatestFiniteMagnitude, 0], [.infinity, 1, .infinity], [], [-.infinity],
    ]
    let layout = RecordLayout.floatNormalizers
    var record = [UInt32](repeating: 0, count: layout.words)
    for v in values {
      let n = SoftmaxNormalizer(accumulating: v)
      record.withUnsafeMutableBufferPointer { store(n, $0.baseAddress!, layout) }
      #expect(record.withUnsafeBufferPointer { !isHeader($0.baseAddress!, layout) }, "\(v)")
      let back = record.withUnsafeBufferPointer { load($0.baseAddress!, layout) }
      #expect((back.shift == 0) == (n.shift == 0), "\(v): the form")
      #expect(back.infinityCount == n.infinityCount && back.isEmpty == n.isEmpty, "\(v)")
      if n.logSum.isFinite {
        // log(e^s · m) − log Σ: m rounded to Float, s exact.
        let error = Swift.abs((back.logSum - n.logSum))
        #expect(error <= 0x1p-24 + 1e-15 * Swift.abs(n.logSum), "\(v): \(error)")
      } else {
        #expect(back.logSum == n.logSum, "\(v)")
      }
      // The softmax through the rebuilt normalizer against the original's.
      if v.count == 2 && n.logSum.isFinite {
        let y = back.normalize(v)
        let z = n.normalize(v)
        for i in 0..<2 where z[i] > 1e-30 {
          #expect(Swift.abs(y[i] - z[i]) <= 3e-7 * z[i], "\(v)[\(i)]")
        }
      }
    }
    let nan = SoftmaxNormalizer(accumulating: [Float.nan, 1])
    record.withUnsafeMutableBufferPointer { store(nan, $0.baseAddress!, layout) }
    #expect(record.withUnsafeBufferPointer { load($0.baseAddress!, layout) }.logSum.isNaN)
  }

  @Test("the merge of two normalizers does not depend on their order, to the bit")
  func symmetric() {
    let rows: [[Float]] = [
      [1, 2, 3], [1e30, 5], [-3000, 10], [4000], [0.5, 0.25], [.infinity], [-.infinity], [.nan],
    ]
    let n = rows.map { SoftmaxNormalizer(accumulating: $0) }
    for a in n {
      for b in n {
        let ab = symmetricMerge(a, b)
        let ba = symmetricMerge(b, a)
        #expect(
          ab.mantissa.bitPattern == ba.mantissa.bitPattern
            && ab.shift.bitPattern == ba.shift.bitPattern)
        let exact = a.merging(b).logSum
        #expect(
          Swift.abs(ab.logSum - exact) <= 1e-12 * Swift.max(1, Swift.abs(ab.logSum))
            || ab.logSum == exact || (ab.logSum.isNaN && exact.isNaN))
        let (ca, cb) = (CompactNormalizer(a), CompactNormalizer(b))
        let merged = ca.merging(cb)
        #expect(merged.s.bitPattern == cb.merging(ca).s.bitPattern)
        #expect(merged.m.bitPattern == cb.merging(ca).m.bitPattern)
        let logSum = merged.normalizer.logSum
        #expect(
          Swift.abs(logSum - exact) <= 0x1p-22 * Swift.max(1, Swift.abs(exact))
            || logSum == exact || (logSum.isNaN && exact.isNaN), "\(logSum) vs \(exact)")
      }
    }
  }

  func header(_ fingerprint: UInt64, width: Int, layout: RecordLayout) -> [UInt32] {
    var h = [UInt32](repeating: 0, count: layout.headerRecords * layout.words)
    h.withUnsafeMutableBufferPointer {
      storeHeader(fingerprint: fingerprint, width: width, layout: layout, $0.baseAddress!)
    }
    return h
  }

  func mergedHeaders(_ headers: [[UInt32]], layout: RecordLayout) -> [UInt32] {
    var result = headers[0]
    for h in headers.dropFirst() {
      h.withUnsafeBufferPointer { a in
        result.withUnsafeMutableBufferPointer { b in
          mergeRecords(
            a.baseAddress!, into: b.baseAddress!, count: layout.headerRecords, layout: layout)
        }
      }
    }
    return result
  }

  static let layouts: [RecordLayout] = [
    .floatNormalizers, .floatTargets, RecordLayout(.compact, hasTargetSum: true),
    RecordLayout(.compact, targetWords: 1, hasLogitSum: true),
    .normalizers, .doubleTargets, RecordLayout(.full, targetWords: 2, hasLogitSum: true),
  ]

  @Test(
    "headers: agreeing ranks pass; a different fingerprint, a missing rank, columns that do not add up, or a header met by a row are reported",
    arguments: layouts)
  func headers(layout: RecordLayout) {
    let agreeing = mergedHeaders(
      [header(42, width: 3, layout: layout), header(42, width: 4, layout: layout)], layout: layout)
    let problem = { (h: [UInt32], ranks: Int, classes: Int) in
      h.withUnsafeBufferPointer {
        headerProblem(
          $0.baseAddress!, fingerprint: 42, ranks: ranks, classes: classes, layout: layout)
      }
    }
    #expect(problem(agreeing, 2, 7) == nil)
    #expect(problem(agreeing, 3, 7)?.contains("2 of 3 ranks") == true)
    #expect(problem(agreeing, 2, 8)?.contains("7 columns in all, not the 8 classes") == true)
    let disagreeing = mergedHeaders(
      [header(42, width: 3, layout: layout), header(43, width: 4, layout: layout)], layout: layout)
    #expect(problem(disagreeing, 2, 7)?.contains("different batches") == true)
    // Rows where the header should be: the messages are not aligned, and stay so through
    // further merges with good headers.
    var rows = [UInt32](repeating: 0, count: layout.headerRecords * layout.words)
    rows.withUnsafeMutableBufferPointer {
      for h in 0..<layout.headerRecords {
        store(
          SoftmaxNormalizer(accumulating: [Float(1)]), $0.baseAddress! + h * layout.words, layout)
      }
    }
    let misaligned = mergedHeaders(
      [header(42, width: 3, layout: layout), rows, header(42, width: 4, layout: layout)],
      layout: layout)
    #expect(problem(misaligned, 3, 7)?.contains("not aligned") == true)
    // Header records out of place (a message shifted by one record) are reported too.
    if layout.headerRecords > 1 {
      let good = header(42, width: 3, layout: layout)
      let shifted = Array(good[layout.words...]) + Array(good[..<layout.words])
      #expect(problem(mergedHeaders([good, shifted], layout: layout), 2, 3) != nil)
    }
  }

  @Test(
    "every layout's datatype size maps back to a layout that merges its records alike",
    arguments: layouts + [RecordLayout(.compact, hasTargetSum: true)])
  func sizes(layout: RecordLayout) {
    // The operation sees only the size: a header-only difference (the target sum's fields,
    // which merge by addition like every field after the first two) must not matter.
    let seen = recordLayout(ofSize: layout.bytes)
    #expect(
      seen.normalizer == layout.normalizer && seen.targetWords == layout.targetWords
        && seen.hasLogitSum == layout.hasLogitSum && seen.words == layout.words)
    let fields = layout.headerFields
    #expect(layout.headerRecords * (layout.words - 1) >= fields)
    #expect((layout.headerRecords - 1) * (layout.words - 1) < fields)
  }

  @Test("fingerprints change with every part of a batch's description")
  func fingerprints() {
    let partition = ClassPartition.even(classes: 100, parts: 2)
    let geometry = ShardGeometry(rows: 4, columns: 0..<50, partition: partition)
    let labels: [Int32] = [1, 2, 3, 4]
    let other: [Int32] = [1, 2, 3, 5]
    labels.withUnsafeBufferPointer { l in
      other.withUnsafeBufferPointer { o in
        let base = ShardLabels(labels: l, ignoreIndex: nil, smoothing: 0, reduction: .mean)
        let variants = [
          batchFingerprint(.crossEntropy, elementSize: 4, geometry, base),
          batchFingerprint(.normalizers, elementSize: 4, geometry, nil),
          batchFingerprint(.crossEntropy, elementSize: 8, geometry, base),
          batchFingerprint(
            .crossEntropy, elementSize: 4,
            ShardGeometry(rows: 4, columns: 0..<50, partition: .even(classes: 101, parts: 2)), base),
          batchFingerprint(
            .crossEntropy, elementSize: 4, geometry,
            ShardLabels(labels: o, ignoreIndex: nil, smoothing: 0, reduction: .mean)),
          batchFingerprint(
            .crossEntropy, elementSize: 4, geometry,
            ShardLabels(labels: l, ignoreIndex: -100, smoothing: 0, reduction: .mean)),
          batchFingerprint(
            .crossEntropy, elementSize: 4, geometry,
            ShardLabels(labels: l, ignoreIndex: nil, smoothing: 0.1, reduction: .mean)),
          batchFingerprint(
            .crossEntropy, elementSize: 4, geometry,
            ShardLabels(labels: l, ignoreIndex: nil, smoothing: 0, reduction: .sum)),
        ]
        #expect(Set(variants).count == variants.count)
        // The rank's own columns are not part of it: every rank computes the same one.
        #expect(
          batchFingerprint(.crossEntropy, elementSize: 4, geometry, base)
            == batchFingerprint(
              .crossEntropy, elementSize: 4,
              ShardGeometry(rows: 4, columns: 50..<100, partition: partition), base))
      }
    }
  }

  @Test(
    "even partitions: widths differ by at most one, the first ones wider, and cover the classes")
  func evenPartitions() {
    for classes in [0, 1, 3, 37, 128_256] {
      for parts in 1...5 {
        let p = ClassPartition.even(classes: classes, parts: parts)
        let widths = (0..<parts).map { p.columns(ofPart: $0).count }
        #expect(widths.reduce(0, +) == classes && p.classes == classes && p.parts == parts)
        #expect(widths.max()! - widths.min()! <= 1)
        #expect(widths == widths.sorted(by: >))
      }
    }
    #expect(ClassPartition(bounds: [0, 0, 5, 5, 9]).columns(ofPart: 2) == 5..<5)
  }

  @Test("the seeded rows are uniform in [−scale, scale) and the same for any column range")
  func seededRows() {
    let whole = seededShard(seed: 3, rows: 3, classes: 50, columns: 0..<50, scale: 2)
    let right = seededShard(seed: 3, rows: 3, classes: 50, columns: 20..<50, scale: 2)
    #expect(whole.allSatisfy { $0 >= -2 && $0 < 2 })
    for r in 0..<3 {
      #expect(Array(whole[(r * 50 + 20)..<(r * 50 + 50)]) == Array(right[(r * 30)..<(r * 30 + 30)]))
    }
    // Fixed values: scripts/peer_mpi.py computes the same (checked by the bench's losses).
    #expect(splitMix(seed: 0, index: 0) == 0xe220_a839_7b1d_cdaf)
  }
}
