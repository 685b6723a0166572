/// One line of results.csv and one entry of results.json: a subject at one size with every
/// figure and the machine facts, so that a row still means something when copied elsewhere.
/// Rows merged from peers (`--merge`) use the same type with `kind == "peer"`.
public struct BenchRow: Sendable, Codable, Equatable {
  /// Who produced the row: "swift-softmax", or a peer such as "onnxruntime 1.22.0".
  public var source: String
  /// "algorithm", "operation" (`--operation` other than softmax), "roofline" or "peer".
  public var kind: String
  /// The algorithm, operation, roofline kernel or peer.
  public var name: String
  /// Floats per row.
  public var n: Int
  /// "cold" (outputs rotated past the LLC) or "hot" (one output row).
  public var output: String
  /// Threads this subject actually ran on.
  public var threads: Int
  /// Timed samples.
  public var repetitions: Int
  /// Calls per sample.
  public var callsPerSample: Int
  /// Median time per call divided by n.
  public var medianNsPerElement: Double
  /// Fastest sample per element.
  public var minNsPerElement: Double
  /// Slowest sample per element.
  public var maxNsPerElement: Double
  /// Throughput at the median: n ÷ median time.
  public var elementsPerNs: Double
  /// Whole-row reads per element (nil when unknown, e.g. for some peers).
  public var readsPerElement: Int?
  /// Whole-row writes per element.
  public var writesPerElement: Int?
  /// (reads + writes) × 4.
  public var bytesPerElement: Int?
  /// Bytes really moved (reads + writes of 4-byte floats) per second, in 10^9 bytes.
  public var gbPerS: Double?
  /// The best Three-Pass variant's median time over this row's, at the same size.
  public var speedupVsBestThreePass: Double?
  /// The matching roofline kernel with ordinary stores, and its time.
  public var roofline: String?
  public var rooflineNsPerElement: Double?
  /// The matching roofline kernel with streaming stores, and its time.
  public var rooflineNt: String?
  public var rooflineNtNsPerElement: Double?
  /// The faster of the two matching rooflines' time over this row's, in percent.
  public var rooflinePercent: Double?
  /// "uniform" or "normal".
  public var distribution: String
  /// Seed of the inputs.
  public var seed: UInt64?
  /// Machine facts (see ``MachineInfo``), repeated on every row.
  public var cpu: String
  /// Logical CPUs.
  public var cores: Int?
  /// L1 data cache bytes.
  public var l1dBytes: Int?
  /// L2 cache bytes.
  public var l2Bytes: Int?
  /// Last-level cache bytes.
  public var llcBytes: Int?
  /// The kernel path of the library (or the peer's version).
  public var isaPath: String
  /// "release" or "debug".
  public var build: String
  /// When the run started.
  public var timestamp: String
  /// The array shape and axis (`4096x1024 axis -1`) when `--shape` was given; empty for one row.
  public var shape: String = ""
  /// The shaped call's `temperature:` (`--temperature`); nil for one row.
  public var temperature: Float? = nil
  /// The shaped call's mask (`--mask`: none, causal, keep or additive); empty for one row.
  public var mask: String = ""
  /// For an operation row (`kind == "operation"`): the softmax row its time is divided by,
  /// at the same size in the same run ("auto", else the fastest algorithm timed). In
  /// results.json only, not a CSV column (the CSV's rows give both times).
  public var softmaxReference: String? = nil
  /// For an operation row: its median time over that softmax row's.
  public var timeVsSoftmax: Double? = nil

  /// The CSV header, in column order.
  public static let columns = [
    "source", "kind", "name", "n", "output", "threads", "repetitions", "calls_per_sample",
    "median_ns_per_element", "min_ns_per_element", "max_ns_per_element", "elements_per_ns",
    "reads_per_element", "writes_per_element", "bytes_per_element", "gb_per_s",
    "speedup_vs_best_three_pass", "roofline", "roofline_ns_per_element", "roofline_nt",
    "roofline_nt_ns_per_element", "roofline_percent", "distribution", "seed", "cpu", "cores",
    "l1d_bytes", "l2_bytes", "llc_bytes", "isa_path", "build", "timestamp", "shape",
    "temperature", "mask",
  ]

  /// Columns a merged file must have; the others may be missing or empty.
  static let requiredColumns = ["kind", "name", "n", "median_ns_per_element"]

  /// The row's fields in ``columns`` order; absent values are empty.
  public var csvFields: [String] {
    func text(_ value: Double?) -> String {
      guard let value, value.isFinite else { return "" }
      return "\(value)"
    }
    func text(_ value: Int?) -> String { value.map(String.init) ?? "" }
    return [
      source, kind, name, "\(n)", output, "\(threads)", "\(repetitions)", "\(callsPerSample)",
      text(medianNsPerElement), text(minNsPerElement), text(maxNsPerElement),
      text(elementsPerNs), text(readsPerElement), text(writesPerElement), text(bytesPerElement),
      text(gbPerS), text(speedupVsBestThreePass), roofline ?? "", text(rooflineNsPerElement),
      rooflineNt ?? "", text(rooflineNtNsPerElement), text(rooflinePercent), distribution,
      seed.map(String.init) ?? "", cpu, text(cores), text(l1dBytes), text(l2Bytes),
      text(llcBytes), isaPath, build, timestamp, shape, temperature.map { "\($0)" } ?? "", mask,
    ]
  }

  /// A row from CSV fields keyed by column name; throws a message (without the file and line,
  /// which the caller adds) when a required field is missing or a number does not parse.
  init(csv fields: [String: String]) throws {
    func string(_ key: String) -> String { fields[key] ?? "" }
    func optionalDouble(_ key: String) throws -> Double? {
      let value = string(key)
      if value.isEmpty { return nil }
      guard let number = Double(value) else {
        throw BenchError("\(key) '\(value)' is not a number")
      }
      return number
    }
    func optionalInt(_ key: String) throws -> Int? {
      let value = string(key)
      if value.isEmpty { return nil }
      guard let number = Int(value) else { throw BenchError("\(key) '\(value)' is not an integer") }
      return number
    }
    func required<T>(_ key: String, _ value: T?) throws -> T {
      guard let value else { throw BenchError("\(key) is missing") }
      return value
    }
    kind = try required("kind", fields["kind"].flatMap { $0.isEmpty ? nil : $0 })
    name = try required("name", fields["name"].flatMap { $0.isEmpty ? nil : $0 })
    n = try required("n", try optionalInt("n"))
    guard n >= 1 else { throw BenchError("n must be at least 1 (got \(n))") }
    medianNsPerElement = try required(
      "median_ns_per_element", try optionalDouble("median_ns_per_element"))
    guard medianNsPerElement > 0, medianNsPerElement.isFinite else {
      throw BenchError("median_ns_per_element must be a positive number")
    }
    source = string("source").isEmpty ? name : string("source")
    output = string("output")
    threads = try optionalInt("threads") ?? 1
    repetitions = try optionalInt("repetitions") ?? 0
    callsPerSample = try optionalInt("calls_per_sample") ?? 0
    minNsPerElement = try optionalDouble("min_ns_per_element") ?? medianNsPerElement
    maxNsPerElement = try optionalDouble("max_ns_per_element") ?? medianNsPerElement
    elementsPerNs = try optionalDouble("elements_per_ns") ?? 1 / medianNsPerElement
    readsPerElement = try optionalInt("reads_per_element")
    writesPerElement = try optionalInt("writes_per_element")
    bytesPerElement = try optionalInt("bytes_per_element")
    gbPerS = try optionalDouble("gb_per_s")
    speedupVsBestThreePass = try optionalDouble("speedup_vs_best_three_pass")
    roofline = fields["roofline"].flatMap { $0.isEmpty ? nil : $0 }
    rooflineNsPerElement = try optionalDouble("roofline_ns_per_element")
    rooflineNt = fields["roofline_nt"].flatMap { $0.isEmpty ? nil : $0 }
    rooflineNtNsPerElement = try optionalDouble("roofline_nt_ns_per_element")
    rooflinePercent = try optionalDouble("roofline_percent")
    distribution = string("distribution")
    seed = fields["seed"].flatMap { UInt64($0) }
    cpu = string("cpu")
    cores = try optionalInt("cores")
    l1dBytes = try optionalInt("l1d_bytes")
    l2Bytes = try optionalInt("l2_bytes")
    llcBytes = try optionalInt("llc_bytes")
    isaPath = string("isa_path")
    build = string("build")
    timestamp = string("timestamp")
    shape = string("shape")
    temperature = try optionalDouble("temperature").map(Float.init)
    mask = string("mask")
  }

  init(
    source: String, kind: String, name: String, n: Int, output: String, threads: Int,
    repetitions: Int, callsPerSample: Int, statistics: SampleStatistics,
    traffic: MemoryTrafficFigures?, distribution: String, seed: UInt64, machine: MachineInfo,
    timestamp: String
  ) {
    self.source = source
    self.kind = kind
    self.name = name
    self.n = n
    self.output = output
    self.threads = threads
    self.repetitions = repetitions
    self.callsPerSample = callsPerSample
    medianNsPerElement = statistics.median / Double(n)
    minNsPerElement = statistics.minimum / Double(n)
    maxNsPerElement = statistics.maximum / Double(n)
    elementsPerNs = Double(n) / statistics.median
    readsPerElement = traffic?.reads
    writesPerElement = traffic?.writes
    bytesPerElement = traffic.map { ($0.reads + $0.writes) * MemoryLayout<Float>.size }
    gbPerS = bytesPerElement.map { Double($0 * n) / statistics.median }
    self.distribution = distribution
    self.seed = seed
    cpu = machine.cpu
    cores = machine.cores
    l1dBytes = machine.l1dBytes
    l2Bytes = machine.l2Bytes
    llcBytes = machine.llcBytes
    isaPath = machine.isaPath
    build = machine.build.rawValue
    self.timestamp = timestamp
  }
}

/// Reads and writes per element, without importing the library's type into the row's API.
struct MemoryTrafficFigures {
  var reads: Int
  var writes: Int
}
