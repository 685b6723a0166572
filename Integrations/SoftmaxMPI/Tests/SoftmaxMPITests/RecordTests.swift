import Softmax
import Testing

@testable import SoftmaxMPI

@Suite("Reduction records, headers and partitions")
struct RecordTests {
  @Test("a normalizer survives its record bitwise: pairs, shifted, +inf counts, NaN, empty")
  func roundTrip() {
    let values: [[Float]] = [
      [1, 2, 3], [1e30, -1e30], [3000, 2999], [.infinity, 1, .infinity], [], [-.infinity],
    ]
    var record = [UInt64](repeating: 0, count: 3)
    for v in values {
      let n = SoftmaxNormalizer(accumulating: v)
      record.withUnsafeMutableBufferPointer { store(n, $0.baseAddress!) }
      let back = record.withUnsafeBufferPointer { load($0.baseAddress!) }
      #expect(back.shift.bitPattern == n.shift.bitPattern, "\(v)")
      #expect(back.mantissa.bitPattern == n.mantissa.bitPattern, "\(v)")
      #expect(back.exponent == n.exponent && back.infinityCount == n.infinityCount, "\(v)")
    }
    let nan = SoftmaxNormalizer(accumulating: [Float.nan, 1])
    record.withUnsafeMutableBufferPointer { store(nan, $0.baseAddress!) }
    #expect(record.withUnsafeBufferPointer { load($0.baseAddress!) }.logSum.isNaN)
  }

  @Test("the merge of two normalizers does not depend on their order, to the bit")
  func symmetric() {
    let rows: [[Float]] = [
      [1, 2, 3], [1e30, 5], [-3000, 10], [4000], [0.5, 0.25], [.infinity], [-.infinity],
    ]
    let n = rows.map { SoftmaxNormalizer(accumulating: $0) }
    for a in n {
      for b in n {
        let ab = symmetricMerge(a, b)
        let ba = symmetricMerge(b, a)
        #expect(ab.mantissa.bitPattern == ba.mantissa.bitPattern && ab.shift == ba.shift)
        #expect(
          Swift.abs(ab.logSum - a.merging(b).logSum) <= 1e-12 * Swift.max(1, Swift.abs(ab.logSum))
            || ab.logSum == a.merging(b).logSum)
      }
    }
  }

  func header(_ fingerprint: UInt64, width: Int, layout: RecordLayout) -> [UInt64] {
    var h = [UInt64](repeating: 0, count: layout.words)
    h.withUnsafeMutableBufferPointer {
      storeHeader(fingerprint: fingerprint, width: width, layout: layout, $0.baseAddress!)
    }
    return h
  }

  func mergedHeaders(_ headers: [[UInt64]], layout: RecordLayout) -> [UInt64] {
    var result = headers[0]
    for h in headers.dropFirst() {
      h.withUnsafeBufferPointer { a in
        result.withUnsafeMutableBufferPointer { b in
          mergeRecords(a.baseAddress!, into: b.baseAddress!, count: 1, layout: layout)
        }
      }
    }
    return result
  }

  @Test(
    "headers: agreeing ranks pass; a different fingerprint, a missing rank, columns that do not add up, or a header met by a row are reported"
  )
  func headers() {
    let layout = RecordLayout.targets
    let agreeing = mergedHeaders(
      [header(42, width: 3, layout: layout), header(42, width: 4, layout: layout)], layout: layout)
    let problem = { (h: [UInt64], ranks: Int, classes: Int) in
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
    // A row record where the header should be: the messages are not aligned.
    var row = [UInt64](repeating: 0, count: layout.words)
    row.withUnsafeMutableBufferPointer {
      store(SoftmaxNormalizer(accumulating: [Float(1)]), $0.baseAddress!)
    }
    let misaligned = mergedHeaders([header(42, width: 3, layout: layout), row], layout: layout)
    #expect(problem(misaligned, 2, 7) != nil)
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
