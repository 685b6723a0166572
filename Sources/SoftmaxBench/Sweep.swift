import Foundation
import Softmax

/// The timings of one subject at one size.
public struct Measurement: Sendable, Equatable {
  /// What was timed.
  public var subject: BenchSubject
  /// Floats per row.
  public var count: Int
  /// Calls in each timed sample (1 for huge rows).
  public var callsPerSample: Int
  /// Nanoseconds per call.
  public var statistics: SampleStatistics
}

/// A size the sweep did not run, and why.
public struct SkippedSize: Sendable, Codable, Equatable {
  /// Floats per row.
  public var n: Int
  /// Why, for the user: the memory it needed and the budget.
  public var reason: String
}

/// Runs every subject at every size. Within a size, each repetition round times every subject
/// once, starting from a different subject each round, so that drift (thermal, frequency,
/// neighbours on the machine) spreads over all subjects alike instead of biasing the last one.
struct Sweep {
  var configuration: BenchConfiguration
  var machine: MachineInfo
  /// Kernels of `--peer-library`, timed beside the library's.
  var peers: [PeerKernel] = []
  var progress: (String) -> Void

  /// The softmax algorithms, the other operations, then the roofline kernels they need: all
  /// timed in the same rounds.
  var subjects: [BenchSubject] {
    // `auto` moves the bytes of the algorithm it picks for the row length, which the rows'
    // roofline figures follow (Results.rows), so those algorithms' rooflines run too.
    let rowLengths = configuration.layout.map { [$0.rowLength] } ?? configuration.sizes
    let resolved = configuration.algorithms.flatMap { algorithm in
      rowLengths.map { algorithm.resolved(forCount: $0) }
    }
    return configuration.algorithms.map(BenchSubject.algorithm)
      + configuration.timedOperations.map(BenchSubject.operation)
      + peers.map(BenchSubject.peer)
      + RooflineKernel.kernels(
        for: configuration.algorithms + resolved, operations: configuration.timedOperations,
        streamingAvailable: machine.streamingStores
      ).map(BenchSubject.roofline)
  }

  func run() -> (measurements: [Measurement], skipped: [SkippedSize]) {
    let start = Stopwatch.now()
    func log(_ text: String) {
      let seconds = Double(Stopwatch.now() - start) / 1e9
      progress(String(format: "[%6.1f s] ", seconds) + text)
    }
    let stopwatch = Stopwatch(
      minSampleSeconds: configuration.minSampleSeconds, threads: configuration.threads,
      shaped: configuration.layout.map { ShapedCall($0, seed: configuration.seed) })
    let subjects = subjects
    var measurements: [Measurement] = []
    var skipped: [SkippedSize] = []
    let total = configuration.sizes.count
    for (index, n) in configuration.sizes.enumerated() {
      let step = "[\(index + 1)/\(total)] N = \(SizeList.label(n))"
      let operations = configuration.timedOperations
      let needed =
        BenchBuffers.bytesNeeded(count: n, hot: configuration.hotOutput, llcBytes: machine.llcBytes)
        + OperationOperands.bytesNeeded(
          count: n, layout: configuration.layout, operations: operations)
      if needed > machine.allocationBudgetBytes {
        let reason =
          "needs \(Format.bytes(needed)), more than the \(Format.bytes(machine.allocationBudgetBytes))"
          + " of available memory the benchmark allows itself"
        skipped.append(SkippedSize(n: n, reason: reason))
        log("\(step): skipped, \(reason)")
        continue
      }
      let buffers = BenchBuffers(
        count: n, hot: configuration.hotOutput, llcBytes: machine.llcBytes,
        distribution: configuration.distribution, seed: configuration.seed,
        threads: configuration.threads)
      if !operations.isEmpty {
        buffers.operands = OperationOperands(
          logits: UnsafeBufferPointer(start: buffers.input, count: n),
          layout: configuration.layout, operations: operations, seed: configuration.seed,
          threads: configuration.threads)
      }
      let repetitions = configuration.repetitions(for: n)
      let verbose = n >= 1 << 24
      log(
        "\(step) (\(Format.bytes(n * 4)) per row, \(buffers.slots) output row(s)): warming up "
          + "\(subjects.count) kernels")
      var calls: [Int] = []
      for subject in subjects {
        if verbose { log("\(step): warm-up \(subject.name)") }
        calls.append(stopwatch.calibrate(subject, on: buffers))
      }
      var samples = Array(repeating: [Double](), count: subjects.count)
      for round in 0..<repetitions {
        log("\(step): round \(round + 1)/\(repetitions)")
        for offset in 0..<subjects.count {
          let k = (round + offset) % subjects.count
          if verbose { log("\(step): round \(round + 1)/\(repetitions), \(subjects[k].name)") }
          let elapsed = stopwatch.time(subjects[k], on: buffers, calls: calls[k])
          samples[k].append(elapsed / Double(calls[k]))
        }
      }
      for (k, subject) in subjects.enumerated() {
        measurements.append(
          Measurement(
            subject: subject, count: n, callsPerSample: calls[k],
            statistics: SampleStatistics(samples[k])))
      }
    }
    log("done")
    return (measurements, skipped)
  }
}

/// Number formatting shared by the tables, the summary and the charts.
enum Format {
  static func bytes(_ count: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(count)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    return value == value.rounded() || unit == 0
      ? "\(Int(value)) \(units[unit])" : "\(String(format: "%.1f", value)) \(units[unit])"
  }

  static func fixed(_ value: Double?, _ digits: Int) -> String {
    guard let value, value.isFinite else { return "—" }
    return String(format: "%.\(digits)f", value)
  }
}
