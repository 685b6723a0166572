import Softmax

/// Everything one run produced; results.json is this, encoded.
public struct BenchReport: Sendable, Codable, Equatable {
  /// What wrote the file.
  public var tool = "softmax bench"
  /// When the run started (ISO 8601).
  public var timestamp: String
  /// The machine and build the numbers come from.
  public var machine: MachineInfo
  /// The settings of the run.
  public var configuration: BenchConfiguration
  /// Threads the softmax algorithms ran on (the library's `threads:`).
  public var algorithmThreads: Int
  /// How the "% of roofline" column is obtained.
  public var rooflineMethod: String
  /// One per size and subject, merged peers included.
  public var rows: [BenchRow]
  /// Sizes not run for lack of memory.
  public var skipped: [SkippedSize]
  /// The summary sentences printed after the tables.
  public var summary: [String]
  /// Wall time of the sweep itself, in seconds.
  public var sweepSeconds: Double
}

enum Results {
  static let source = "swift-softmax"
  static let rooflineMethod =
    "explicit same-binary kernel per traffic pattern (R reads + W writes, as the algorithm); "
    + "% = faster of ordinary/streaming-store roofline time ÷ algorithm time"
  /// The same for the operations of `--operation`, printed only when they run.
  static let operationRooflineMethod =
    "operations: backward passes the by-rows kernel (each row's inputs read, then read again "
    + "with the output written: 4R+1W, or 3R+1W with dy alone first), log-softmax and cross-entropy the 2R+1W kernel, value-only cross-entropy and "
    + "logsumexp and gating the read kernel 1R"

  /// Rows for the sweep's measurements, with the per-size comparisons filled in.
  static func rows(
    _ measurements: [Measurement], configuration: BenchConfiguration, machine: MachineInfo,
    timestamp: String
  ) -> [BenchRow] {
    let rows = measurements.map { measurement -> BenchRow in
      let kind: String
      switch measurement.subject {
      case .algorithm: kind = "algorithm"
      case .operation: kind = "operation"
      case .roofline: kind = "roofline"
      case .peer: kind = "peer"
      }
      // `.auto` decides by the length of one row, which for a shaped array is its axis.
      let rowLength = configuration.layout?.rowLength ?? measurement.count
      let traffic = measurement.subject.traffic(forCount: rowLength)
      var row = BenchRow(
        source: source, kind: kind,
        name: measurement.subject.name, n: measurement.count,
        output: configuration.hotOutput ? "hot" : "cold",
        threads: configuration.threads,
        repetitions: measurement.statistics.count, callsPerSample: measurement.callsPerSample,
        statistics: measurement.statistics,
        traffic: MemoryTrafficFigures(reads: traffic.reads, writes: traffic.writes),
        distribution: configuration.distribution.rawValue, seed: configuration.seed,
        machine: machine, timestamp: timestamp)
      row.shape = configuration.layout?.label ?? ""
      row.temperature = configuration.layout?.temperature
      row.mask = configuration.layout?.mask.rawValue ?? ""
      if case .peer(let kernel) = measurement.subject {
        row.source = kernel.detail
        row.isaPath = kernel.library
      }
      return row
    }
    return withComparisons(rows)
  }

  /// Whether an algorithm name is one of the library's Three-Pass variants, which the speedup
  /// column compares against; the library says which, so new variants count without edits.
  static func isThreePass(_ name: String) -> Bool {
    SoftmaxAlgorithm(name: name)?.isThreePass ?? false
  }

  /// The softmax row operation rows are divided by, among `sameSize`: auto (what `softmax`
  /// runs by default) if it was timed, else the fastest algorithm.
  static func softmaxReference(_ sameSize: [BenchRow]) -> BenchRow? {
    let algorithms = sameSize.filter { $0.kind == "algorithm" && $0.source == source }
    return algorithms.first { $0.name == SoftmaxAlgorithm.auto.description }
      ?? algorithms.min { $0.medianNsPerElement < $1.medianNsPerElement }
  }

  /// Fills in speedup and roofline figures of the algorithm rows, and roofline figures and the
  /// ratio to softmax of the operation rows, from the other rows of the same size.
  static func withComparisons(_ rows: [BenchRow]) -> [BenchRow] {
    var result = rows
    let ownRows = rows.filter { $0.source == source }
    let bySize = Dictionary(grouping: ownRows, by: \.n)
    for index in result.indices
    where (result[index].kind == "algorithm" || result[index].kind == "operation")
      && result[index].source == source
    {
      let row = result[index]
      let sameSize = bySize[row.n] ?? []
      let plain: String
      let streaming: String
      if row.kind == "operation" {
        guard let operation = TimedOperation(rawValue: row.name) else { continue }
        let kernel = operation.roofline
        plain = kernel.name
        streaming = kernel.withStreaming(true).name
        if let reference = softmaxReference(sameSize) {
          result[index].softmaxReference = reference.name
          result[index].timeVsSoftmax = row.medianNsPerElement / reference.medianNsPerElement
        }
      } else {
        let bestThreePass = sameSize.filter { $0.kind == "algorithm" && isThreePass($0.name) }
          .map(\.medianNsPerElement).min()
        result[index].speedupVsBestThreePass = bestThreePass.map { $0 / row.medianNsPerElement }
        guard let reads = row.readsPerElement, let writes = row.writesPerElement else { continue }
        let traffic = MemoryTraffic(reads: reads, writes: writes)
        plain = RooflineKernel(traffic: traffic, streaming: false).name
        streaming = RooflineKernel(traffic: traffic, streaming: true).name
      }
      let plainTime = sameSize.first { $0.kind == "roofline" && $0.name == plain }?
        .medianNsPerElement
      let streamingTime = sameSize.first { $0.kind == "roofline" && $0.name == streaming }?
        .medianNsPerElement
      result[index].roofline = plainTime == nil ? nil : plain
      result[index].rooflineNsPerElement = plainTime
      result[index].rooflineNt = streamingTime == nil ? nil : streaming
      result[index].rooflineNtNsPerElement = streamingTime
      if let best = [plainTime, streamingTime].compactMap({ $0 }).min() {
        result[index].rooflinePercent = 100 * best / row.medianNsPerElement
      }
    }
    return result
  }
}
