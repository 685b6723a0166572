import Foundation
import FoundationXML
import Softmax
import SoftmaxBench
import Testing

/// Runs `softmax bench` in-process on tiny sizes and checks the files it writes. Timing
/// numbers are never asserted: only that they exist, parse and are positive.
@Suite struct BenchCommandTests {
  /// Captures what the runner prints; only touched from the test's own thread.
  final class Lines: @unchecked Sendable {
    var lines: [String] = []
  }

  static func temporaryDirectory() -> String {
    NSTemporaryDirectory() + "softmax-bench-tests-\(UUID().uuidString)"
  }

  static func run(_ arguments: [String], build: BuildConfiguration = .debug) throws -> (
    report: BenchReport, stdout: [String], stderr: [String]
  ) {
    let out = Lines()
    let err = Lines()
    let parsed = try BenchArguments.parse(arguments)
    let runner = BenchRunner(
      arguments: parsed, build: build, standardOutput: { out.lines.append($0) },
      standardError: { err.lines.append($0) })
    let report = try runner.run()
    return (report, out.lines, err.lines)
  }

  static let tinyQuick = [
    "--quick", "--sizes", "1K,4K", "--repetitions", "2", "--min-sample-ms", "0.2",
  ]

  @Test func shapedRunTimesTheArrayAndRecordsItsShape() throws {
    let directory = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let result = try Self.run([
      "--shape", "4x1024", "--axis", "-1", "--repetitions", "2", "--min-sample-ms", "0.2",
      "--allow-debug", "--output", directory,
    ])
    #expect(result.stdout.contains { $0.contains("array of shape [4, 1024]") })
    let csv = try String(contentsOfFile: directory + "/results.csv", encoding: .utf8)
    let lines = csv.split(separator: "\n").map(String.init)
    let header = try #require(lines.first).split(separator: ",").map(String.init)
    let records = lines.dropFirst().map { CSVTestParser.fields($0) }
    let shapeColumn = try #require(header.firstIndex(of: "shape"))
    let nColumn = try #require(header.firstIndex(of: "n"))
    #expect(!records.isEmpty)
    let temperatureColumn = try #require(header.firstIndex(of: "temperature"))
    let maskColumn = try #require(header.firstIndex(of: "mask"))
    for record in records {
      #expect(record[shapeColumn] == "4x1024 axis -1" && record[nColumn] == "4096", "\(record)")
      #expect(record[temperatureColumn] == "1.0" && record[maskColumn] == "none", "\(record)")
    }
    for bad in [["--shape", "4xx8"], ["--shape", "4x0"], ["--shape", "4x8", "--axis", "2"]] {
      #expect(throws: (any Error).self) { try Self.run(bad + ["--allow-debug"]) }
    }
    #expect(throws: (any Error).self) {
      try Self.run(["--shape", "4x8", "--sizes", "1K", "--allow-debug"])
    }
  }

  @Test(arguments: ["none", "causal", "keep", "additive"])
  func shapedRunWithTemperatureAndMaskRecordsThem(_ mask: String) throws {
    let directory = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let result = try Self.run([
      "--shape", "2x4x1000", "--temperature", "0.5", "--mask", mask, "--algorithms",
      "two-pass,online", "--repetitions", "2", "--min-sample-ms", "0.2", "--allow-debug",
      "--output", directory,
    ])
    #expect(result.stdout.contains { $0.contains("temperature 0.5, mask \(mask)") })
    let csv = try String(contentsOfFile: directory + "/results.csv", encoding: .utf8)
    let lines = csv.split(separator: "\n").map(String.init)
    let header = try #require(lines.first).split(separator: ",").map(String.init)
    let temperatureColumn = try #require(header.firstIndex(of: "temperature"))
    let maskColumn = try #require(header.firstIndex(of: "mask"))
    let records = lines.dropFirst().map { CSVTestParser.fields($0) }
    #expect(records.count >= 2)
    for record in records {
      #expect(record[temperatureColumn] == "0.5" && record[maskColumn] == mask, "\(record)")
    }
    let json = try #require(FileManager.default.contents(atPath: directory + "/results.json"))
    let report = try JSONDecoder.snakeCase.decode(BenchReport.self, from: json)
    #expect(report.rows.allSatisfy { $0.temperature == 0.5 && $0.mask == mask })
    #expect(report.configuration.layout?.mask.rawValue == mask)
  }

  @Test func randomMasksAreSeededWithAboutOneInTenDropped() throws {
    var layout = try BenchLayout(parsing: "3x10000", axis: -1)
    try layout.setOptions(temperature: nil, mask: .keep)
    guard case .keep(let keep) = layout.softmaxMask(seed: 7) else {
      Issue.record("--mask keep must give a keep mask")
      return
    }
    #expect(keep.count == 10_000)
    let dropped = keep.filter { !$0 }.count
    #expect((800...1200).contains(dropped), "\(dropped) of 10000 dropped")
    #expect(layout.softmaxMask(seed: 7) == .keep(keep))
    #expect(layout.softmaxMask(seed: 8) != .keep(keep))
    try layout.setOptions(temperature: 2, mask: .additive)
    guard case .additive(let bias) = layout.softmaxMask(seed: 7) else {
      Issue.record("--mask additive must give an additive mask")
      return
    }
    let infinite = bias.filter { $0 == -.infinity }.count
    #expect((800...1200).contains(infinite), "\(infinite) of 10000 are -inf")
    #expect(bias.allSatisfy { $0 == -.infinity || (-1..<1).contains($0) })
    try layout.setOptions(temperature: nil, mask: .causal)
    #expect(layout.softmaxMask(seed: 7) == .causal(offset: 10_000 - 3))
  }

  @Test(arguments: [
    ["--temperature", "0.5"], ["--mask", "keep"], ["--shape", "4x8", "--temperature", "-1"],
    ["--shape", "4x8", "--temperature", "nan"], ["--shape", "8", "--mask", "causal"],
    ["--shape", "4x8", "--axis", "0", "--mask", "keep"],
  ])
  func badShapedOptionsAreOneLineErrors(_ extra: [String]) throws {
    let directory = Self.temporaryDirectory()
    let error = #expect(throws: BenchError.self) {
      try Self.run(["--allow-debug", "--output", directory] + extra)
    }
    #expect(error?.description.contains("\n") == false)
    #expect(!FileManager.default.fileExists(atPath: directory), "nothing written")
    // An unknown mask name is the argument parser's error.
    #expect(throws: (any Error).self) {
      try Self.run(["--allow-debug", "--output", directory, "--shape", "4x8", "--mask", "some"])
    }
  }

  @Test func quickRunWritesCompleteWellFormedFiles() throws {
    let directory = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let result = try Self.run(Self.tinyQuick + ["--allow-debug", "--output", directory])

    #expect(result.stderr.contains { $0.contains("N = 2^12") }, "progress names the size")
    #expect(result.stdout.contains { $0.hasPrefix("Summary") })
    #expect(
      result.stdout.contains { $0.contains("ISA path") && $0.contains(SoftmaxRuntime.kernelPath) })
    for name in BenchRunner.fileNames {
      #expect(FileManager.default.fileExists(atPath: directory + "/" + name), "\(name) written")
    }
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory)
      .filter { $0.contains(".tmp-") || $0.hasPrefix(".") }
    #expect(leftovers.isEmpty)

    // CSV: the header, and one row per size × algorithm with positive figures.
    let csv = try String(contentsOfFile: directory + "/results.csv", encoding: .utf8)
    let lines = csv.split(separator: "\n").map(String.init)
    #expect(lines.first == BenchRow.columns.joined(separator: ","))
    let header = try #require(lines.first).split(separator: ",").map(String.init)
    let records = lines.dropFirst().map { CSVTestParser.fields($0) }
    for record in records { #expect(record.count == header.count, "\(record)") }
    func column(_ name: String, _ record: [String]) -> String {
      record[header.firstIndex(of: name)!]
    }
    for n in [1024, 4096] {
      for algorithm in SoftmaxAlgorithm.allCases {
        let matching = records.filter {
          column("kind", $0) == "algorithm" && column("name", $0) == algorithm.description
            && column("n", $0) == "\(n)"
        }
        #expect(matching.count == 1, "\(algorithm) at \(n)")
        if let row = matching.first {
          #expect((Double(column("median_ns_per_element", row)) ?? 0) > 0)
          #expect((Double(column("gb_per_s", row)) ?? 0) > 0)
          #expect(
            Int(column("bytes_per_element", row))
              == algorithm.resolved(forCount: n).memoryTraffic.bytesPerElement())
          #expect((Double(column("roofline_percent", row)) ?? 0) > 0)
          #expect(!column("cpu", row).isEmpty && column("build", row) == "debug")
        }
      }
      let rooflines = records.filter {
        column("kind", $0) == "roofline" && column("n", $0) == "\(n)"
      }
      #expect(rooflines.contains { column("name", $0) == "read 1R" })
      #expect(rooflines.contains { column("name", $0) == "copy 1R+1W" })
      #expect(rooflines.contains { column("name", $0) == "roofline 2R+1W" })
    }

    // JSON: parses, and holds the same rows.
    let jsonData = try #require(FileManager.default.contents(atPath: directory + "/results.json"))
    let json = try #require(try JSONSerialization.jsonObject(with: jsonData) as? [String: Any])
    let rows = try #require(json["rows"] as? [[String: Any]])
    #expect(rows.count == records.count)
    #expect(json["machine"] is [String: Any])
    #expect((json["summary"] as? [String])?.isEmpty == false)
    let decoded = try JSONDecoder.snakeCase.decode(BenchReport.self, from: jsonData)
    #expect(decoded.rows.count == result.report.rows.count)

    // SVG: parses as XML, is an 800×500 svg with a line per algorithm and a legend entry.
    for chart in ["throughput.svg", "speedup.svg"] {
      let document = try XMLDocument(
        contentsOf: URL(fileURLWithPath: directory + "/" + chart), options: [])
      let root = try #require(document.rootElement())
      #expect(root.name == "svg")
      #expect(root.attributes?.first { $0.name == "width" }?.stringValue == "800")
      let polylines = try root.nodes(forXPath: "//*[local-name()='polyline']")
      let texts = try root.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
      if chart == "throughput.svg" {
        #expect(polylines.count == 2 * SoftmaxAlgorithm.allCases.count, "lines and rooflines")
        for algorithm in SoftmaxAlgorithm.allCases {
          #expect(texts.contains(algorithm.description), "legend names \(algorithm)")
        }
        #expect(texts.contains("throughput (elements/ns)"))
      } else {
        #expect(
          polylines.count
            == SoftmaxAlgorithm.allCases.filter {
              $0.description.hasPrefix("three-pass")
            }.count)
        #expect(texts.contains { $0.contains("break-even") })
      }
      #expect(texts.contains("N (floats per row, log scale)"))
    }
  }

  @Test func mergedPeerRowsReachTheFilesAndCharts() throws {
    let directory = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let peerFile = directory + "/peers.csv"
    let peerCSV = """
      source,kind,name,n,output,threads,median_ns_per_element,min_ns_per_element,cpu
      "numpy 2.0, python",peer,numpy,1024,cold,1,3.5,3.25,"AMD EPYC, 2 cores"
      onnxruntime 1.22,peer,onnxruntime,1024,cold,1,2.0,1.9,AMD EPYC

      """
    try peerCSV.write(toFile: peerFile, atomically: true, encoding: .utf8)
    let output = directory + "/out"
    let result = try Self.run(
      Self.tinyQuick + ["--hot", "--allow-debug", "--output", output, "--merge", peerFile])
    let peers = result.report.rows.filter { $0.kind == "peer" }
    #expect(peers.map(\.name).sorted() == ["numpy", "onnxruntime"])
    #expect(peers.first { $0.name == "numpy" }?.source == "numpy 2.0, python")
    let csv = try String(contentsOfFile: output + "/results.csv", encoding: .utf8)
    #expect(csv.contains("\"numpy 2.0, python\",peer,numpy,1024"))
    let svg = try String(contentsOfFile: output + "/throughput.svg", encoding: .utf8)
    #expect(svg.contains(">numpy</text>") && svg.contains(">onnxruntime</text>"))
    let speedup = try String(contentsOfFile: output + "/speedup.svg", encoding: .utf8)
    #expect(speedup.contains(">vs numpy</text>"))
    #expect(result.stdout.contains { $0.contains("auto vs numpy") })
    #expect(result.stdout.contains { $0.contains("auto vs the fastest peer at each size") })
  }

  @Test func debugBuildIsRefusedWithoutAllowDebug() throws {
    let directory = Self.temporaryDirectory()
    #expect(throws: BenchError.self) {
      try Self.run(Self.tinyQuick + ["--output", directory])
    }
    #expect(!FileManager.default.fileExists(atPath: directory), "nothing written")
  }

  @Test(arguments: [
    ["--sizes", "1K,,4K"], ["--sizes", "12Q"], ["--sizes", "4K..1K"], ["--sizes", "0"],
    ["--sizes", "1K..1M:1"], ["--algorithms", "four-pass"], ["--repetitions", "0"],
    ["--threads", "0"], ["--merge", "/nonexistent/peers.csv"], ["--min-sample-ms", "0"],
  ])
  func userErrorsAreOneLineAndWriteNothing(_ extra: [String]) throws {
    let directory = Self.temporaryDirectory()
    let error = #expect(throws: BenchError.self) {
      try Self.run(["--allow-debug", "--quick", "--output", directory] + extra)
    }
    #expect(error?.description.contains("\n") == false)
    #expect(!FileManager.default.fileExists(atPath: directory), "nothing written")
  }

  @Test(arguments: [
    "kind,name\npeer,numpy\n",  // missing required columns
    "kind,name,n,median_ns_per_element\npeer,numpy,1024\n",  // short record
    "kind,name,n,median_ns_per_element\npeer,numpy,many,1.0\n",  // n not a number
    "kind,name,n,median_ns_per_element\npeer,numpy,1024,-1\n",  // negative time
    "kind,name,n,median_ns_per_element\npeer,\"numpy,1024,1.0\n",  // unterminated quote
    "kind,name,n,median_ns_per_element\n",  // no rows
    "",
  ])
  func malformedMergeFilesAreUserErrors(_ content: String) throws {
    let directory = Self.temporaryDirectory()
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let file = directory + "/bad.csv"
    try content.write(toFile: file, atomically: true, encoding: .utf8)
    let error = #expect(throws: BenchError.self) {
      try Self.run(["--allow-debug", "--quick", "--output", directory + "/out", "--merge", file])
    }
    #expect(error?.description.hasPrefix("--merge") == true)
    #expect(!FileManager.default.fileExists(atPath: directory + "/out"))
  }

  @Test func unwritableOutputIsAUserError() throws {
    let directory = Self.temporaryDirectory()
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let file = directory + "/a-file"
    try "x".write(toFile: file, atomically: true, encoding: .utf8)
    #expect(throws: BenchError.self) {
      try Self.run(["--allow-debug", "--quick", "--output", file])
    }
    #expect(throws: BenchError.self) {
      try Self.run(["--allow-debug", "--quick", "--output", file + "/below"])
    }
  }
}

extension JSONDecoder {
  static var snakeCase: JSONDecoder {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return decoder
  }
}

/// An independent, minimal reading of one CSV line (quotes, doubled quotes), so that the test
/// does not trust the writer's own parser.
enum CSVTestParser {
  static func fields(_ line: String) -> [String] {
    var fields: [String] = []
    var field = ""
    var quoted = false
    var previousQuote = false
    for c in line {
      if quoted {
        if c == "\"" {
          quoted = false
          previousQuote = true
        } else {
          field.append(c)
        }
      } else if c == "\"" {
        if previousQuote { field.append("\"") }
        quoted = true
        previousQuote = false
      } else if c == "," {
        fields.append(field)
        field = ""
        previousQuote = false
      } else {
        field.append(c)
        previousQuote = false
      }
    }
    fields.append(field)
    return fields
  }
}
