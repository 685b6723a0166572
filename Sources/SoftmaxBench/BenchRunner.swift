import Foundation

/// Runs `softmax bench` from parsed arguments: checks everything the user gave first (so a
/// mistake costs no time and leaves no files), then sweeps, prints the tables and the summary,
/// and writes results.csv, results.json, report.txt and the two charts.
public struct BenchRunner {
  public var arguments: BenchArguments
  public var build: BuildConfiguration
  /// Receives stdout lines (tables, summary); tests capture them.
  public var standardOutput: (String) -> Void
  /// Receives progress lines.
  public var standardError: (String) -> Void

  /// A runner printing to the process's stdout and stderr.
  public init(
    arguments: BenchArguments, build: BuildConfiguration,
    standardOutput: @escaping (String) -> Void = { print($0) },
    standardError: @escaping (String) -> Void = {
      FileHandle.standardError.write(Data(($0 + "\n").utf8))
    }
  ) {
    self.arguments = arguments
    self.build = build
    self.standardOutput = standardOutput
    self.standardError = standardError
  }

  /// The files a run writes into its output directory.
  public static let fileNames = [
    "results.csv", "results.json", "throughput.svg", "speedup.svg", "report.txt",
  ]

  /// Runs the benchmark; throws ``BenchError`` for every user mistake.
  @discardableResult
  public func run() throws -> BenchReport {
    let configuration = try BenchConfiguration(arguments)
    if build == .debug && !configuration.allowDebug {
      throw BenchError(
        "refusing to time a debug build: unoptimized code is many times slower and the "
          + "numbers would mislead; run `swift run -c release softmax bench` (or pass --allow-debug)"
      )
    }
    var peers: [PeerKernel] = []
    for path in configuration.peerLibraries {
      let loaded = try PeerKernel.load(path: path)
      if !loaded.unsupported.isEmpty {
        standardError(
          "softmax bench: this CPU cannot run \(loaded.unsupported.joined(separator: ", ")) "
            + "of \(path); skipped")
      }
      peers += loaded.kernels
    }
    var merged: [BenchRow] = []
    for path in configuration.mergeFiles {
      merged += Self.relabel(try CSV.loadRows(path: path), file: path)
    }
    let machine = MachineInfo.current(build: build)
    let now = Date()
    let timestamp = Self.timestamp(now)
    let directory = try Self.prepareDirectory(
      configuration.outputDirectory ?? "bench-results/\(Self.folderName(now))")

    var report: [String] = []
    func out(_ line: String) {
      report.append(line)
      standardOutput(line)
    }
    Table.header(machine: machine, configuration: configuration, outputDirectory: directory)
      .forEach(out)

    let start = Stopwatch.now()
    let sweep = Sweep(
      configuration: configuration, machine: machine, peers: peers, progress: standardError
    ).run()
    let seconds = Double(Stopwatch.now() - start) / 1e9

    let rows =
      Results.rows(
        sweep.measurements, configuration: configuration, machine: machine, timestamp: timestamp)
      + merged
    for n in configuration.sizes where sweep.measurements.contains(where: { $0.count == n }) {
      Table.sizeTable(n: n, rows: rows.filter { $0.n == n }).forEach(out)
    }
    let summary = Summary.lines(rows: rows, skipped: sweep.skipped, llcBytes: machine.llcBytes)
    out("")
    out("Summary (sweep took \(Format.fixed(seconds, 1)) s)")
    summary.forEach { out("  " + $0) }

    let result = BenchReport(
      timestamp: timestamp, machine: machine, configuration: configuration,
      algorithmThreads: configuration.threads,
      rooflineMethod: Results.rooflineMethod
        + (configuration.timedOperations.isEmpty ? "" : "; " + Results.operationRooflineMethod),
      rows: rows, skipped: sweep.skipped,
      summary: summary, sweepSeconds: seconds)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    out("")
    out("Wrote \(Self.fileNames.joined(separator: ", ")) to \(directory)")
    let files: [(String, Data)] = [
      ("results.csv", Data(CSV.document(rows).utf8)),
      ("results.json", try encoder.encode(result)),
      ("throughput.svg", Data(Charts.throughput(rows: rows, llcBytes: machine.llcBytes).utf8)),
      ("speedup.svg", Data(Charts.speedup(rows: rows, llcBytes: machine.llcBytes).utf8)),
      ("report.txt", Data((report.joined(separator: "\n") + "\n").utf8)),
    ]
    for (name, data) in files {
      try Self.writeAtomically(data, to: directory + "/" + name)
    }
    return result
  }

  /// Merged rows become peers on the charts; rows of another swift-softmax run keep their
  /// name with the file's name added, and their rooflines are dropped (ours are measured now).
  static func relabel(_ rows: [BenchRow], file: String) -> [BenchRow] {
    let fileName = (file as NSString).lastPathComponent
    return rows.filter { $0.kind != "roofline" }.map { row in
      var peer = row
      if row.kind != "peer" {
        peer.kind = "peer"
        peer.name = "\(row.name) (\(fileName))"
        peer.source = "\(row.source) (\(fileName))"
      }
      return peer
    }
  }

  static func timestamp(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    return formatter.string(from: date)
  }

  static func folderName(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyy-MM-dd'T'HH-mm-ss"
    return formatter.string(from: date)
  }

  /// Creates the directory if needed and proves it writable before any time is spent.
  static func prepareDirectory(_ path: String) throws -> String {
    let manager = FileManager.default
    var isDirectory: ObjCBool = false
    if manager.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
      throw BenchError("--output: '\(path)' exists and is not a directory")
    }
    do {
      try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
      throw BenchError("--output: cannot create directory '\(path)'")
    }
    let probe = path + "/.softmax-bench-probe-\(getpid())"
    guard manager.createFile(atPath: probe, contents: Data()) else {
      throw BenchError("--output: cannot write into '\(path)'")
    }
    try? manager.removeItem(atPath: probe)
    return path
  }

  /// Writes to a temporary name in the same directory and renames, so that a reader (or an
  /// interrupted run) never sees half a file.
  static func writeAtomically(_ data: Data, to path: String) throws {
    let temporary = path + ".tmp-\(getpid())"
    do {
      try data.write(to: URL(fileURLWithPath: temporary))
    } catch {
      throw BenchError("cannot write '\(path)': \(error.localizedDescription)")
    }
    guard rename(temporary, path) == 0 else {
      try? FileManager.default.removeItem(atPath: temporary)
      throw BenchError("cannot rename '\(temporary)' to '\(path)'")
    }
  }
}
