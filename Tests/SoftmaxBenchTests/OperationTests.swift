import Foundation
import FoundationXML
import Softmax
import Testing

@testable import SoftmaxBench

/// `softmax bench --operation`: parsing, the traffic and roofline of each operation, the
/// operands, and tiny in-process runs. Timings are never asserted beyond being positive.
@Suite struct OperationTests {
  static func configuration(_ arguments: [String]) throws -> BenchConfiguration {
    try BenchConfiguration(BenchArguments.parse(arguments))
  }

  // MARK: Parsing

  @Test func defaultIsTheSoftmaxAlgorithmsAlone() throws {
    let configuration = try Self.configuration([])
    #expect(configuration.operations == [.softmax])
    #expect(configuration.timedOperations.isEmpty)
    #expect(configuration.algorithms == SoftmaxAlgorithm.allCases)
    #expect(try Self.configuration(["--operation", "softmax"]) == configuration)
  }

  @Test func operationsAreListedInACanonicalOrderWithoutDuplicates() throws {
    let configuration = try Self.configuration([
      "--operation", "cross-entropy, softmax,backward,cross-entropy", "--shape", "4x8",
    ])
    #expect(configuration.operations == [.softmax, .backward, .crossEntropy])
    #expect(configuration.timedOperations == [.backward, .crossEntropy, .crossEntropyValue])
    #expect(configuration.algorithms == SoftmaxAlgorithm.allCases)
    let all = try Self.configuration(["--operation", "all", "--algorithms", "auto"])
    #expect(all.operations == BenchOperation.allCases)
    #expect(all.timedOperations == TimedOperation.allCases)
    #expect(all.algorithms == [.auto])
    // Without softmax no algorithm runs.
    let alone = try Self.configuration(["--operation", "logsumexp", "--sizes", "1K"])
    #expect(alone.algorithms.isEmpty && alone.timedOperations == [.logSumExp])
    // log-softmax takes the softmax's temperature and mask.
    let options = try Self.configuration([
      "--operation", "softmax,log-softmax", "--shape", "4x8", "--temperature", "0.5",
      "--mask", "keep",
    ])
    #expect(options.layout?.temperature == 0.5 && options.layout?.mask == .keep)
  }

  @Test(arguments: ["softmax,crossentropy", "all,backward", "Backward", "backward;logsumexp"])
  func unknownOperationsNameTheKnownOnes(_ list: String) throws {
    let error = #expect(throws: BenchError.self) {
      try Self.configuration(["--operation", list])
    }
    let message = try #require(error?.description)
    #expect(!message.contains("\n"))
    #expect(message.hasPrefix("--operation: unknown operation '"))
    #expect(
      message.contains(
        "(known: softmax, log-softmax, backward, log-backward, cross-entropy, logsumexp, sampling, "
          + "gating, "
          + "or all)"))
  }

  @Test(arguments: [
    // An empty item.
    (["--operation", "softmax,,backward"], "--operation: empty item"),
    (["--operation", ""], "--operation: empty item"),
    // Algorithms without softmax to run them.
    (["--operation", "backward", "--algorithms", "two-pass"], "--algorithms two-pass chooses"),
    // Temperature and mask only mean something to softmax and log-softmax.
    (
      ["--operation", "softmax,cross-entropy", "--shape", "4x8", "--mask", "causal"],
      "--temperature and --mask apply to softmax and log-softmax only"
    ),
    (
      ["--operation", "backward", "--shape", "4x8", "--temperature", "2"],
      "--operation backward has neither"
    ),
    // An axis without a shape: each size is one row.
    (["--operation", "logsumexp", "--axis", "0"], "--axis needs --shape"),
    // A shape fixes the size.
    (["--operation", "backward", "--shape", "4x8", "--sizes", "1K"], "--shape and --sizes"),
  ])
  func senselessCombinationsAreOneLineErrors(_ arguments: [String], _ expected: String) throws {
    let directory = BenchCommandTests.temporaryDirectory()
    let error = #expect(throws: BenchError.self) {
      try BenchCommandTests.run(arguments + ["--allow-debug", "--quick", "--output", directory])
    }
    let message = try #require(error?.description)
    #expect(!message.contains("\n"))
    #expect(message.contains(expected), "\(message)")
    #expect(!FileManager.default.fileExists(atPath: directory), "nothing written")
  }

  // MARK: Traffic and rooflines

  @Test func eachOperationHasTheTrafficAndRooflineItMoves() {
    let twoReadsOneWrite = MemoryTraffic(reads: 2, writes: 1)
    let oneRead = MemoryTraffic(reads: 1, writes: 0)
    let expected: [TimedOperation: (MemoryTraffic, String)] = [
      .logSoftmax: (twoReadsOneWrite, "roofline 2R+1W"),
      .backward: (twoReadsOneWrite, "by rows 4R+1W"),
      .logBackward: (twoReadsOneWrite, "by rows 3R+1W"),
      .crossEntropy: (twoReadsOneWrite, "roofline 2R+1W"),
      .crossEntropyValue: (oneRead, "read 1R"),
      .logSumExp: (oneRead, "read 1R"),
      .sampleTopK: (oneRead, "read 1R"),
      .sampleFull: (oneRead, "read 1R"),
      .sampleTopP: (oneRead, "read 1R"),
      .sampleMinP: (oneRead, "read 1R"),
      .gating: (oneRead, "read 1R"),
    ]
    for operation in TimedOperation.allCases {
      let (traffic, roofline) = expected[operation]!
      #expect(operation.traffic == traffic, "\(operation)")
      #expect(operation.roofline.name == roofline, "\(operation)")
      #expect(operation.rooflines.first == operation.roofline, "\(operation)")
      if operation == .backward || operation == .logBackward {
        // Row by row: the first sweep's reads on top of the 2R+1W sweep; the two-input kernel
        // that reads each input once is timed beside it.
        let reads = operation == .backward ? 4 : 3
        #expect(operation.roofline.traffic == MemoryTraffic(reads: reads, writes: 1))
        #expect(operation.rooflines.map(\.name) == [roofline, "two-input 2R+1W"])
      } else {
        #expect(operation.roofline.traffic == operation.traffic, "\(operation)")
        #expect(operation.rooflines.count == 1, "\(operation)")
      }
      #expect(BenchSubject.operation(operation).traffic(forCount: 4096) == traffic)
    }
    // Cross-entropy (value and gradient) shares Two-Pass's roofline.
    #expect(TimedOperation.crossEntropy.roofline.traffic == SoftmaxAlgorithm.twoPass.memoryTraffic)
    #expect(
      BenchOperation.allCases.map(\.timed) == [
        [], [.logSoftmax], [.backward], [.logBackward], [.crossEntropy, .crossEntropyValue],
        [.logSumExp], [.sampleTopK, .sampleFull, .sampleTopP, .sampleMinP], [.gating],
      ])
  }

  @Test func kernelSetAddsTheOperationsRooflines() {
    let names = { (algorithms: [SoftmaxAlgorithm], operations: [TimedOperation]) in
      RooflineKernel.kernels(for: algorithms, operations: operations, streamingAvailable: true)
        .map(\.name)
    }
    // Softmax alone: unchanged.
    #expect(
      names([.twoPass], [])
        == RooflineKernel.kernels(for: [.twoPass], streamingAvailable: true).map(\.name))
    #expect(names([.twoPass], []).contains("two-input 2R+1W") == false)
    #expect(
      names([], [.backward])
        == ["by rows 4R+1W", "by rows 4R+1W nt", "two-input 2R+1W", "two-input 2R+1W nt"])
    #expect(
      names([], [.crossEntropy, .crossEntropyValue])
        == ["roofline 2R+1W", "roofline 2R+1W nt", "read 1R"])
    #expect(
      names([.twoPass], [.backward, .logBackward, .logSumExp])
        == [
          "read 1R", "copy 1R+1W", "copy 1R+1W nt", "roofline 2R+1W", "roofline 2R+1W nt",
          "by rows 4R+1W", "by rows 4R+1W nt", "two-input 2R+1W", "two-input 2R+1W nt",
          "by rows 3R+1W", "by rows 3R+1W nt",
        ])
    let noStreaming = RooflineKernel.kernels(
      for: [], operations: [.backward], streamingAvailable: false)
    #expect(noStreaming.map(\.name) == ["by rows 4R+1W", "two-input 2R+1W"])
  }

  /// Runs each two-input `kernel` over `count` floats (in rows of `rowLength` for the by-rows
  /// ones) on `threads` threads: every output must be the product of the two inputs.
  func expectProducts(
    _ kernels: [RooflineKernel], count: Int, rowLength: Int? = nil, threads: Int
  ) {
    let buffers = BenchBuffers(
      count: count, hot: true, llcBytes: 1 << 20, distribution: .normal, seed: 7,
      threads: threads)
    var second = [Float](repeating: 0, count: count)
    second.withUnsafeMutableBufferPointer { InputDistribution.normal.fill($0, seed: 9) }
    let expected = (0..<count).map { buffers.input[$0] * second[$0] }
    for kernel in kernels {
      let output = buffers.nextOutput()
      output.update(repeating: .nan, count: count)
      second.withUnsafeBufferPointer {
        kernel.run(
          input: buffers.input, output: output, count: count, threads: threads,
          sink: buffers.sink, second: $0.baseAddress!, rowLength: rowLength)
      }
      #expect(
        Array(UnsafeBufferPointer(start: output, count: count)) == expected,
        "\(kernel.name), \(count) floats in rows of \(rowLength ?? count), \(threads) threads")
    }
  }

  @Test(arguments: [1, 2, 3])
  func twoInputKernelReadsBothArraysAndWritesTheProduct(threads: Int) {
    let kernels = [false, true].map {
      RooflineKernel(traffic: MemoryTraffic(reads: 2, writes: 1), streaming: $0, inputs: 2)
    }
    for count in [1, 17, 1000, 5000, 65_537] {
      expectProducts(kernels, count: count, threads: threads)
    }
  }

  @Test(arguments: [1, 2, 3])
  func byRowsKernelsWriteTheProductOverEveryRow(threads: Int) {
    let kernels = [1, 2].flatMap { first in
      [false, true].map { RooflineKernel.byRows(firstSweepInputs: first, streaming: $0) }
    }
    for (count, rowLength) in [(17, 17), (5000, 1000), (5000, 3), (65_537, 4096), (12_000, 6000)] {
      expectProducts(kernels, count: count, rowLength: rowLength, threads: threads)
    }
  }

  // MARK: Operands

  @Test(arguments: [("3x1000", -1), ("6x5x7", 1), ("1000", 0)])
  func operandsAreTheLibrarysOutputsAndSeededDraws(_ shape: String, _ axis: Int) throws {
    let layout = try BenchLayout(parsing: shape, axis: axis)
    let count = layout.count
    let buffers = BenchBuffers(
      count: count, hot: true, llcBytes: 1 << 20, distribution: .uniform, seed: 5, threads: 1)
    let logits = UnsafeBufferPointer(start: buffers.input, count: count)
    let operands = OperationOperands(
      logits: logits, layout: layout, operations: TimedOperation.allCases, seed: 5, threads: 1)
    #expect(operands.shape == layout.shape && operands.axis == axis)
    #expect(operands.rows * operands.rowLength == count && operands.rowLength == layout.rowLength)
    let x = Array(logits)
    #expect(
      Array(operands.buffer(operands.y))
        == softmax(x, shape: layout.shape, axis: axis))
    #expect(
      Array(operands.buffer(operands.logY))
        == logSoftmax(x, shape: layout.shape, axis: axis))
    let dy = Array(operands.buffer(operands.dy))
    #expect(dy.allSatisfy(\.isFinite) && abs(dy.reduce(0, +) / Float(count)) < 0.2)
    let labels = Array(UnsafeBufferPointer(start: operands.labels, count: operands.rows))
    #expect(labels.allSatisfy { (0..<Int32(operands.rowLength)).contains($0) })
    // Same seed, same operands.
    let again = OperationOperands(
      logits: logits, layout: layout, operations: [.backward, .crossEntropy], seed: 5,
      threads: 1)
    #expect(Array(again.buffer(again.dy)) == dy)
    #expect(Array(UnsafeBufferPointer(start: again.labels, count: again.rows)) == labels)
    #expect(again.logY == nil, "log y only for log-backward")
  }

  @Test func withoutAShapeEachSizeIsOneRow() {
    let layout = OperationOperands.layout(count: 4096, layout: nil)
    #expect(layout.shape == [1, 4096] && layout.axis == -1)
    let needs = OperationOperands.bytesNeeded(count: 4096, layout: nil, operations: [.backward])
    #expect(needs == 2 * 4096 * 4, "y and dy")
    #expect(
      OperationOperands.bytesNeeded(count: 4096, layout: nil, operations: [.logSumExp]) == 0)
    #expect(
      OperationOperands.bytesNeeded(count: 4096, layout: nil, operations: [.crossEntropy]) == 4,
      "one label")
  }

  // MARK: In-process runs

  @Test func everyOperationRunsInOneRunWithRatiosAndRooflines() throws {
    let directory = BenchCommandTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let result = try BenchCommandTests.run([
      "--operation", "all", "--algorithms", "auto,two-pass", "--shape", "4x1000", "--quick",
      "--repetitions", "2", "--min-sample-ms", "0.2", "--allow-debug", "--output", directory,
    ])
    let rows = result.report.rows
    let operations = rows.filter { $0.kind == "operation" }
    #expect(operations.map(\.name) == TimedOperation.allCases.map(\.name))
    for row in operations {
      let operation = try #require(TimedOperation(rawValue: row.name))
      #expect(row.n == 4000 && row.shape == "4x1000 axis -1", "\(row.name)")
      #expect(row.medianNsPerElement > 0 && row.minNsPerElement <= row.maxNsPerElement)
      #expect(row.repetitions == 2 && row.callsPerSample >= 1)
      #expect(row.readsPerElement == operation.traffic.reads)
      #expect(row.writesPerElement == operation.traffic.writes)
      #expect((row.gbPerS ?? 0) > 0)
      #expect(row.roofline == operation.roofline.name, "\(row.name)")
      #expect((row.rooflinePercent ?? 0) > 0, "\(row.name)")
      #expect(row.softmaxReference == "auto")
      let auto = try #require(rows.first { $0.kind == "algorithm" && $0.name == "auto" })
      let ratio = try #require(row.timeVsSoftmax)
      #expect(abs(ratio - row.medianNsPerElement / auto.medianNsPerElement) < 1e-9)
    }
    #expect(rows.filter { $0.kind == "algorithm" }.map(\.name) == ["auto", "two-pass"])
    // The reference has a roofline too: that of the algorithm auto picks for rows of 1000.
    let auto = try #require(rows.first { $0.kind == "algorithm" && $0.name == "auto" })
    let picked = SoftmaxAlgorithm.auto.resolved(forCount: 1000).memoryTraffic
    #expect(auto.roofline == RooflineKernel(traffic: picked, streaming: false).name)
    #expect((auto.rooflinePercent ?? 0) > 0)
    #expect(rows.contains { $0.kind == "roofline" && $0.name == "two-input 2R+1W" })

    // The table has the two extra columns; the summary names every roofline and ratio.
    #expect(result.stdout.contains { $0.contains("÷ softmax") && $0.contains("roofline kernel") })
    #expect(
      result.stdout.contains {
        $0.hasPrefix("  backward ") && $0.hasSuffix("by rows 4R+1W")
      })
    #expect(
      result.stdout.contains {
        $0.hasPrefix("  auto ") && $0.split(separator: " ").contains("ref")
      })
    #expect(result.stdout.contains { $0.hasPrefix("  operations     softmax (auto, two-pass)") })
    let summary = result.report.summary
    for operation in TimedOperation.allCases {
      #expect(
        summary.contains {
          $0.hasPrefix("\(operation.name): ") && $0.contains("(\(operation.roofline.name)")
        }, "\(operation.name)'s roofline line")
      #expect(
        summary.contains { $0.hasPrefix("  \(operation.name): ") && $0.contains("× at 4x1000") },
        "\(operation.name)'s ratio line")
    }
    #expect(summary.contains { $0.hasPrefix("Time ÷ softmax auto on the same array") })
    #expect(summary.contains { $0.hasPrefix("  cross-entropy: ") && $0.contains("target ≤ 1.15×") })
    #expect(result.report.rooflineMethod.contains("by-rows kernel"))

    // The files: CSV rows of kind operation, JSON with the ratios, the chart's legend.
    let csv = try String(contentsOfFile: directory + "/results.csv", encoding: .utf8)
    let lines = csv.split(separator: "\n").map(String.init)
    #expect(lines.first == BenchRow.columns.joined(separator: ","))
    let records = lines.dropFirst().map { CSVTestParser.fields($0) }
    #expect(records.filter { $0[1] == "operation" }.map { $0[2] } == operations.map(\.name))
    let json = try #require(FileManager.default.contents(atPath: directory + "/results.json"))
    let decoded = try JSONDecoder.snakeCase.decode(BenchReport.self, from: json)
    #expect(decoded.configuration.operations == BenchOperation.allCases)
    #expect(decoded.rows.filter { $0.timeVsSoftmax != nil }.count == operations.count)
    let svg = try String(contentsOfFile: directory + "/throughput.svg", encoding: .utf8)
    #expect(svg.contains(">cross-entropy</text>") && svg.contains(">by rows 4R+1W (backward)<"))
    _ = try XMLDocument(contentsOf: URL(fileURLWithPath: directory + "/throughput.svg"))
  }

  @Test func operationsWithoutShapeOrSoftmaxRunOneRowPerSize() throws {
    let directory = BenchCommandTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let result = try BenchCommandTests.run([
      "--operation", "cross-entropy,logsumexp", "--sizes", "1K,4K", "--hot", "--repetitions",
      "2", "--min-sample-ms", "0.2", "--allow-debug", "--output", directory,
    ])
    let rows = result.report.rows
    #expect(!rows.contains { $0.kind == "algorithm" })
    #expect(
      Set(rows.filter { $0.kind == "roofline" }.map(\.name))
        == ["roofline 2R+1W", "roofline 2R+1W nt", "read 1R"]
        || Set(rows.filter { $0.kind == "roofline" }.map(\.name))
          == ["roofline 2R+1W", "read 1R"]
    )
    for n in [1024, 4096] {
      let names = rows.filter { $0.kind == "operation" && $0.n == n }.map(\.name)
      #expect(names == ["cross-entropy", "cross-entropy value", "logsumexp"], "\(n)")
    }
    #expect(rows.allSatisfy { $0.shape.isEmpty && $0.output == "hot" })
    #expect(rows.filter { $0.kind == "operation" }.allSatisfy { $0.timeVsSoftmax == nil })
    #expect(result.report.summary.contains { $0.hasPrefix("Time ÷ softmax: not formed") })
    #expect(!result.report.summary.contains { $0.hasPrefix("Two-Pass") })
    #expect(
      result.stdout.contains {
        $0.contains("layout") && $0.contains("operations: shape [1, N], axis -1")
      })
  }
}
