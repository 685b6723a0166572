import ArgumentParser
import Softmax
import SoftmaxMPI

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// `softmax-mpi check`: every sharded operation against the single-process library on the
/// whole rows and against exact values (Double, compensated sums), on random and adversarial
/// batches; the largest errors over all ranks; exit 1 past the bounds.
struct CheckCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Sharded results against the single-process library; exit 1 past the bounds.",
    discussion: """
      Errors: probabilities and gradients relative (|a - b| / |b|); log-probabilities,
      log-sum-exps and losses relative to max(1, |b|), the measure the library documents for
      them. A gradient's label entry, scale * (p - 1), is measured against the scale, and with
      label smoothing every entry against the offset scale * eps / C as well, since both
      cancel. Special values (NaN, +-inf) must match the library's exactly.
      """)

  @Option(help: "The seed of the random batches.")
  var seed: UInt64 = 1

  @Option(help: "The largest error allowed against exact values.")
  var bound: Double = 1e-6

  @Option(
    help: ArgumentHelp(
      "The largest difference allowed from the single-process library.",
      discussion: "Gradient entries below 1e-7 of the scale are compared with the "
        + "library's absolutely (its x - max rounding, below), others relatively. "
        + "Softmax is compared with the library's Two-Pass, the "
        + "algorithm the shards run: .auto may choose the Three-Pass reload, whose Float "
        + "x - max costs up to |x - max| * 2^-24 relative on tails (2.2e-6 at p = 1e-17), "
        + "within the library's documented 1e-5."))
  var libraryBound: Double = 1e-6

  func run() throws {
    MPIEnvironment.initialize()
    defer { MPIEnvironment.finalize() }
    let world = Communicator.world
    var errors = CheckErrors(bound: bound, libraryBound: libraryBound)
    var digest = Digest()
    var sharedDigest = Digest()
    let all = checkBatches(seed: seed)
    for batch in all {
      let partition = ClassPartition.even(classes: batch.classes, parts: world.size)
      let sharded = ShardedSoftmax(communicator: world, partition: partition)
      checkBatch(batch, sharded, &errors, &digest, &sharedDigest)
    }
    // Split: even and odd ranks form two groups (tensor-parallel groups), each sharding the
    // first and the adversarial batch over its own ranks.
    var sameInGroup = true
    if let group = world.split(color: world.rank % 2, key: world.rank) {
      var groupDigest = Digest()
      var groupShared = Digest()
      for batch in [all[0], all[all.count - 1]] {
        let partition = ClassPartition.even(classes: batch.classes, parts: group.size)
        let sharded = ShardedSoftmax(communicator: group, partition: partition)
        checkBatch(batch, sharded, &errors, &groupDigest, &groupShared)
      }
      sameInGroup = group.allEqual(groupShared.value)
      digest.add(groupDigest.value)
      group.free()
    }
    let batches = all.count
    let splitProblems = world.maximum(sameInGroup ? 0 : 1)
    // The values every rank computes from the reduced message must be the same bits.
    let sameOnEveryRank = world.allEqual(sharedDigest.value)
    let combined = world.exclusiveOr(digest.value ^ sharedDigest.value)
    var largest = [String: Double]()
    for name in CheckErrors.order {
      for source in ["library", "exact"] {
        let key = "\(source) \(name)"
        largest[key] = world.maximum(errors.values[key] ?? 0)
      }
    }
    let collectiveProblems = world.maximum(Double(errors.collectiveProblems))
    let failed =
      largest.contains { !($0.value <= ($0.key.hasPrefix("library") ? libraryBound : bound)) }
      || !sameOnEveryRank || collectiveProblems > 0 || splitProblems > 0
    if world.rank == 0 {
      let ranks = "\(world.size) rank\(world.size == 1 ? "" : "s")"
      writeLine(
        to: 1, "softmax-mpi check: \(ranks), \(batches) batches of random and adversarial rows")
      writeLine(
        to: 1,
        "largest error     library (bound \(format(libraryBound)))    exact values (bound \(format(bound)))"
      )
      for name in CheckErrors.order {
        let l = largest["library \(name)"] ?? 0
        let e = largest["exact \(name)"] ?? 0
        let mark = l <= libraryBound && e <= bound ? "" : "   FAILED"
        writeLine(to: 1, "\(name.padding(18))\(format(l).padding(26))\(format(e))\(mark)")
      }
      writeLine(
        to: 1,
        collectiveProblems == 0
          ? "collectives per sharded call: 1"
          : "collectives per sharded call: not 1 in \(Int(collectiveProblems)) calls   FAILED")
      writeLine(to: 1, "same bits on every rank: \(sameOnEveryRank ? "yes" : "no   FAILED")")
      writeLine(
        to: 1,
        "split into even and odd ranks, two batches each: same bits within each group: "
          + (splitProblems == 0 ? "yes" : "no   FAILED"))
      writeLine(to: 1, "digest: \(String(combined, radix: 16))")
      writeLine(to: 1, failed ? "FAILED" : "passed")
    }
    if failed {
      for key in errors.failures.keys.sorted() {
        writeLine(to: 2, "softmax-mpi check: rank \(world.rank): \(errors.failures[key]!)")
      }
      throw ExitCode(1)
    }
  }

  /// Runs every sharded operation on one batch and compares.
  func checkBatch(
    _ batch: CheckBatch, _ sharded: ShardedSoftmax, _ errors: inout CheckErrors,
    _ digest: inout Digest, _ sharedDigest: inout Digest
  ) {
    let rows = batch.rows
    let classes = batch.classes
    let columns = sharded.columns
    let shard = batch.shard(columns)
    let shape = [rows, classes]
    let counters = sharded.communicator.counters
    let exact = ExactRows(batch)
    let width = columns.count

    func counted<T>(_ body: () -> T) -> T {
      let before = counters.collectives
      let result = body()
      errors.collectives(counters.collectives - before)
      return result
    }
    /// The exact value of element i of this rank's shard, or nil for rows with special values.
    func exactShard(_ value: (Int, Int) -> Double) -> [Double?] {
      (0..<(rows * width)).map { i in
        let r = i / width
        return exact.isFinite[r] ? value(r, columns.lowerBound + i % width) : nil
      }
    }

    // softmax and log-softmax
    for logarithm in [false, true] {
      let y = counted {
        logarithm
          ? sharded.logSoftmax(shard, rows: rows) : sharded.softmax(shard, rows: rows)
      }
      let name = logarithm ? "log-softmax" : "softmax"
      let floor = logarithm ? 1.0 : 1e-30
      let library =
        logarithm
        ? logSoftmax(batch.logits, shape: shape)
        : softmax(batch.logits, shape: shape, algorithm: .twoPass)
      errors.compare(name, y, batch.columns(library, columns), batch.name, floor: { _ in floor })
      let reference = exactShard { r, c in
        logarithm ? exact.logProbability(r, c) : exact.probability(r, c)
      }
      errors.compareExact(name, y, reference, batch.name, floor: { _ in floor })
      digest.add(y)
    }

    // log-sum-exp
    let lse = counted { sharded.logSumExp(shard, rows: rows) }
    let lseFloat = lse.map { Float($0) }
    errors.compare(
      "log-sum-exp", lseFloat, logSumExp(batch.logits, shape: shape), batch.name, floor: { _ in 1 })
    errors.compareExact(
      "log-sum-exp", lseFloat, (0..<rows).map { exact.isFinite[$0] ? exact.logSum[$0] : nil },
      batch.name, floor: { _ in 1 })
    sharedDigest.add(lseFloat)

    // cross-entropy: each reduction, with and without smoothing and ignored rows
    let variants: [(LossReduction, CrossEntropyOptions)] = [
      (.mean, .init()),
      (.sum, .init(ignoreIndex: -100, labelSmoothing: 0.1)),
      (.none, .init(ignoreIndex: -100)),
      (.mean, .init(ignoreIndex: -100, labelSmoothing: 0.25)),
    ]
    for (reduction, options) in variants {
      let labels = batch.labels.map { $0 == -100 && options.ignoreIndex == nil ? 0 : $0 }
      var gradient = [Float](repeating: 0, count: shard.count)
      var losses = [Float](repeating: 0, count: rows)
      let loss = counted {
        shard.withUnsafeBufferPointer { x in
          labels.withUnsafeBufferPointer { l in
            gradient.withUnsafeMutableBufferPointer { g in
              losses.withUnsafeMutableBufferPointer { ls in
                sharded.crossEntropy(
                  logits: x, rows: rows, labels: l, reduction: reduction, options: options,
                  gradient: g, losses: ls)
              }
            }
          }
        }
      }
      var libraryGradient = [Float](repeating: 0, count: batch.logits.count)
      var libraryLosses = [Float](repeating: 0, count: rows)
      let libraryLoss = batch.logits.withUnsafeBufferPointer { x in
        labels.withUnsafeBufferPointer { l in
          libraryGradient.withUnsafeMutableBufferPointer { g in
            libraryLosses.withUnsafeMutableBufferPointer { ls in
              crossEntropy(
                logits: x, shape: shape, labels: l, reduction: reduction, options: options,
                gradient: g, losses: ls)
            }
          }
        }
      }
      let context = "\(batch.name), \(reduction), ε \(options.labelSmoothing)"
      let ignored = labels.map { $0 == options.ignoreIndex }
      let kept = ignored.filter { !$0 }.count
      let scale = reduction == .mean ? 1 / Double(max(kept, 1)) : 1
      let epsilon = options.labelSmoothing
      let offset = scale * epsilon / Double(classes)
      // The label's entry, scale · (p − 1), against the scale; with smoothing every entry
      // also against the offset (both cancel in Float).
      let gradientFloor = { (i: Int) -> Double in
        let r = i / width
        let isLabel = Int(labels[r]) == columns.lowerBound + i % width
        return max(1e-30, offset, isLabel ? scale : 0)
      }
      errors.compare("cross-entropy", [Float(loss)], [libraryLoss], context, floor: { _ in 1 })
      errors.compare("per-row losses", losses, libraryLosses, context, floor: { _ in 1 })
      errors.compare(
        "gradient", gradient, batch.columns(libraryGradient, columns), context,
        floor: { max(gradientFloor($0), libraryTail * scale) })
      let exactLosses = (0..<rows).map { r -> Double? in
        ignored[r] ? 0 : exact.isFinite[r] ? exact.loss(r, label: Int(labels[r]), epsilon) : nil
      }
      errors.compareExact("per-row losses", losses, exactLosses, context, floor: { _ in 1 })
      if exact.isFinite.allSatisfy({ $0 }) {
        let sum = exactLosses.reduce(0) { $0 + $1! }
        let reduced = reduction == .mean ? (kept > 0 ? sum / Double(kept) : 0) : sum
        errors.compareExact("cross-entropy", [Float(loss)], [reduced], context, floor: { _ in 1 })
      }
      let exactGradient = exactShard { r, c in
        ignored[r] ? 0 : scale * exact.gradient(r, c, label: Int(labels[r]), epsilon)
      }
      errors.compareExact("gradient", gradient, exactGradient, context, floor: gradientFloor)
      digest.add(gradient)
      sharedDigest.add(losses + [Float(loss)])
    }

    // Without per-row losses: from 64 rows on, the target logits travel as one exact sum.
    for reduction in [LossReduction.mean, .sum] {
      let options = CrossEntropyOptions(ignoreIndex: -100)
      var gradient = [Float]()
      let loss = counted {
        sharded.crossEntropy(
          logits: shard, rows: rows, labels: batch.labels, reduction: reduction,
          options: options, gradient: &gradient)
      }
      var libraryGradient = [Float]()
      let libraryLoss = crossEntropy(
        logits: batch.logits, shape: shape, labels: batch.labels, reduction: reduction,
        options: options, gradient: &libraryGradient)
      let context = "\(batch.name), \(reduction), no per-row losses"
      let kept = batch.labels.filter { $0 != -100 }.count
      let scale = reduction == .mean ? 1 / Double(max(kept, 1)) : 1
      errors.compare("cross-entropy", [Float(loss)], [libraryLoss], context, floor: { _ in 1 })
      errors.compare(
        "gradient", gradient, batch.columns(libraryGradient, columns), context,
        floor: { i in
          Int(batch.labels[i / width]) == columns.lowerBound + i % width
            ? scale : libraryTail * scale
        })
      if exact.isFinite.allSatisfy({ $0 }) {
        var sum = 0.0
        for r in 0..<rows where batch.labels[r] != -100 {
          sum += exact.loss(r, label: Int(batch.labels[r]), 0)
        }
        let reduced = reduction == .mean ? (kept > 0 ? sum / Double(kept) : 0) : sum
        errors.compareExact("cross-entropy", [Float(loss)], [reduced], context, floor: { _ in 1 })
      }
      digest.add(gradient)
      sharedDigest.add([Float(loss)])
    }

    // the normalizers themselves, merged across ranks, against the whole rows'
    let normalizers = counted {
      shard.withUnsafeBufferPointer { sharded.normalizers(of: $0, rows: rows) }
    }
    let wholeRows = (0..<rows).map {
      Float(SoftmaxNormalizer(accumulating: Array(batch.row($0))).logSum)
    }
    let exactLogSums = (0..<rows).map { exact.isFinite[$0] ? exact.logSum[$0] : nil }
    let merged = normalizers.map { Float($0.logSum) }
    errors.compare("normalizers", merged, wholeRows, batch.name, floor: { _ in 1 })
    errors.compareExact("normalizers", merged, exactLogSums, batch.name, floor: { _ in 1 })
    for n in normalizers { sharedDigest.add(n) }

    // the data-parallel reduction: each rank accumulates its shard; all-reduce merges them
    var parts = (0..<rows).map { r in
      shard.withUnsafeBufferPointer { x in
        SoftmaxNormalizer(
          accumulating: UnsafeBufferPointer(rebasing: x[(r * width)..<(r * width + width)]))
      }
    }
    counted { sharded.communicator.allReduce(&parts) }
    let reduced = parts.map { Float($0.logSum) }
    errors.compare("allReduce", reduced, wholeRows, batch.name, floor: { _ in 1 })
    errors.compareExact("allReduce", reduced, exactLogSums, batch.name, floor: { _ in 1 })
    for n in parts { sharedDigest.add(n) }
  }
}

/// Below this probability the library's gradient is compared absolutely (against
/// `libraryTail` · scale): its crossEntropy on rows in cache stores e^(x − max) with x − max
/// rounded to Float, |x − max| · 2^-24 relative, which passes 1e-6 below p ≈ e^-16.7. The
/// comparison with exact values stays relative to 1e-30.
let libraryTail = 1e-7

/// The largest error per quantity on this rank, and the first value past the bound of each.
struct CheckErrors {
  static let order = [
    "softmax", "log-softmax", "log-sum-exp", "normalizers", "allReduce", "cross-entropy",
    "per-row losses", "gradient",
  ]
  let bound: Double
  let libraryBound: Double
  var values: [String: Double] = [:]
  var failures: [String: String] = [:]
  /// Sharded calls that did not run exactly one collective.
  var collectiveProblems = 0

  mutating func collectives(_ count: Int) {
    if count != 1 {
      collectiveProblems += 1
      failures["collectives"] =
        failures["collectives"] ?? "a sharded call ran \(count) collectives, not 1"
    }
  }

  /// Against the library: the same special values, else |a − b| / max(|b|, floor(i)).
  mutating func compare(
    _ name: String, _ a: [Float], _ b: [Float], _ context: String, floor: (Int) -> Double
  ) {
    precondition(a.count == b.count, "\(name): \(a.count) values against \(b.count)")
    record("library \(name)", a, b.map { Optional(Double($0)) }, context, floor, "the library's")
  }

  /// Against exact values (nil: a row with special values, which only the library checks).
  mutating func compareExact(
    _ name: String, _ a: [Float], _ b: [Double?], _ context: String, floor: (Int) -> Double
  ) {
    precondition(a.count == b.count, "\(name): \(a.count) values against \(b.count)")
    record("exact \(name)", a, b, context, floor, "the exact")
  }

  private mutating func record(
    _ key: String, _ a: [Float], _ b: [Double?], _ context: String, _ floor: (Int) -> Double,
    _ source: String
  ) {
    var worst = values[key] ?? 0
    for i in a.indices {
      guard let reference = b[i] else { continue }
      let e = error(Double(a[i]), reference, floor: floor(i))
      if e > (key.hasPrefix("library") ? libraryBound : bound) && failures[key] == nil {
        failures[key] = "\(key) [\(context)] element \(i): \(a[i]) against \(source) \(reference)"
      }
      if !(e <= worst) { worst = e }
    }
    values[key] = worst
  }
}

/// |a − b| / max(|b|, floor); 0 for the same value or both NaN; +inf when only one is finite.
func error(_ a: Double, _ b: Double, floor: Double) -> Double {
  if a == b || (a.isNaN && b.isNaN) { return 0 }
  if !a.isFinite || !b.isFinite { return .infinity }
  return abs(a - b) / max(abs(b), floor)
}

/// FNV-1a over the bits of what a rank computed.
struct Digest {
  private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

  mutating func add(_ word: UInt64) {
    value = (value ^ word) &* 0x100_0000_01b3
  }

  mutating func add(_ values: [Float]) {
    for v in values { add(UInt64(v.bitPattern)) }
  }

  mutating func add(_ n: SoftmaxNormalizer) {
    add(n.shift.bitPattern)
    add(n.mantissa.bitPattern)
    add(n.exponent.bitPattern)
    add(UInt64(n.infinityCount))
  }
}

func format(_ x: Double) -> String {
  if x == 0 { return "0" }
  if !x.isFinite { return "\(x)" }
  var exponent = 0
  var m = x
  while m >= 10 {
    m /= 10
    exponent += 1
  }
  while m < 1 {
    m *= 10
    exponent -= 1
  }
  return "\((m * 10).rounded() / 10)e\(exponent)"
}

extension String {
  func padding(_ width: Int) -> String {
    count >= width ? self + " " : self + String(repeating: " ", count: width - count)
  }
}
