import Foundation

/// The text on stdout: the header with the machine facts, then one table per size.
enum Table {
  static func header(
    machine: MachineInfo, configuration: BenchConfiguration, outputDirectory: String
  ) -> [String] {
    func cache(_ bytes: Int) -> String { bytes > 0 ? Format.bytes(bytes) : "unknown" }
    let threads = configuration.threads
    let algorithmThreads = "\(threads) (the library's threads: \(threads), within each row)"
    let output =
      configuration.hotOutput
      ? "hot (every call writes the same output row)"
      : "cold (outputs rotated over ≥ max(8 × LLC, 256 MiB) = "
        + "\(Format.bytes(BenchBuffers.coldSpanBytes(llcBytes: machine.llcBytes))); "
        + "buffers on huge pages)"
    let distribution =
      configuration.distribution == .uniform ? "uniform in [-1000, 1000]" : "standard normal"
    let operations = !configuration.timedOperations.isEmpty
    var layout =
      configuration.layout.map {
        "array of shape \($0.shape), softmax along axis \($0.axis) (N below: all elements), "
          + $0.optionsLabel
      } ?? "one row per call"
    if operations {
      layout =
        configuration.layout.map {
          "array of shape \($0.shape), every operation along axis \($0.axis) (N below: all "
            + "elements), \($0.optionsLabel)"
        } ?? "one row per call (operations: shape [1, N], axis -1)"
    }
    var lines = [
      "softmax bench",
      "  CPU            \(machine.cpu), \(machine.cores) logical CPUs",
      "  caches         L1d \(cache(machine.l1dBytes)), L2 \(cache(machine.l2Bytes)), LLC "
        + "\(Format.bytes(machine.llcBytes))\(machine.llcKnown ? "" : " (assumed: sysfs has none)")",
      "  memory         \(Format.bytes(machine.memoryAvailableBytes)) available",
      "  ISA path       \(machine.isaPath)",
      "  streaming      "
        + (machine.streamingStores
          ? "non-temporal stores available (roofline kernels marked nt)" : "not available"),
      "  build          \(machine.build.rawValue)",
      "  threads        algorithms: \(algorithmThreads); roofline kernels: \(threads)",
      "  layout         \(layout)",
      "  inputs         \(distribution), seed \(configuration.seed); FP mode left at the "
        + "default (no FTZ/DAZ)",
      "  output         \(output)",
      "  method         warm-up, then per size \(repetitionSummary(configuration)) rounds "
        + "timing every kernel once each, order rotated per round; each sample ≥ "
        + "\(Format.fixed(configuration.minSampleSeconds * 1000, 0)) ms (or one call); "
        + "median and min–max",
      "  GB/s           bytes each kernel really moves: reads + writes × 4 bytes per element",
      "  roofline       \(Results.rooflineMethod)",
      "  results        \(outputDirectory)",
    ]
    if operations {
      // The operations after the layout, their operands after the inputs (the logits), their
      // rooflines after the algorithms'.
      let afterLayout = (lines.firstIndex { $0.hasPrefix("  layout") } ?? 0) + 1
      lines.insert("  operations     " + operationsSummary(configuration), at: afterLayout)
      let afterInputs = (lines.firstIndex { $0.hasPrefix("  inputs") } ?? 0) + 1
      lines.insert(
        "  operands       the inputs are the logits; y = softmax(logits), log y = "
          + "logSoftmax(logits) (by the library, once per size); dy standard normal, labels "
          + "uniform over the classes, from the seed; read every call like the logits",
        at: afterInputs)
      let afterRoofline = (lines.firstIndex { $0.hasPrefix("  roofline") } ?? 0) + 1
      lines.insert("                 \(Results.operationRooflineMethod)", at: afterRoofline)
    }
    return lines
  }

  /// "softmax (auto, two-pass), cross-entropy (value + gradient; value only), logsumexp".
  static func operationsSummary(_ configuration: BenchConfiguration) -> String {
    configuration.operations.map { operation in
      switch operation {
      case .softmax:
        "softmax (\(configuration.algorithms.map(\.description).joined(separator: ", ")))"
      case .crossEntropy: "cross-entropy (mean; value + gradient, and value only)"
      default: operation.rawValue
      }
    }.joined(separator: ", ") + "; on \(configuration.threads) thread(s), Float"
  }

  static func repetitionSummary(_ configuration: BenchConfiguration) -> String {
    let counts = Set(configuration.sizes.map(configuration.repetitions(for:))).sorted()
    return counts.count == 1 ? "\(counts[0])" : "\(counts.last!)…\(counts.first!)"
  }

  static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let count = text.count
    guard count < width else { return text }
    let padding = String(repeating: " ", count: width - count)
    return right ? padding + text : text + padding
  }

  /// The table for one size: algorithms, merged peers, then the roofline kernels.
  static func sizeTable(n: Int, rows: [BenchRow], skippedReason: String? = nil) -> [String] {
    let first = rows.first
    var lines = [
      "",
      "N = \(SizeList.label(n)) (\(n) floats, \(Format.bytes(n * 4)) per row)"
        + (first.map { ", \($0.output) output, \($0.repetitions) samples" } ?? ""),
    ]
    // Runs with operations add two columns: the time over softmax's and the roofline kernel.
    let operations = rows.contains { $0.kind == "operation" }
    let reference = operations ? Results.softmaxReference(rows)?.name : nil
    var columns = [
      pad("kernel", 24), pad("ns/elem", 8, right: true), pad("min–max", 15, right: true),
      pad("GB/s", 7, right: true), pad("vs best 3P", 11, right: true),
      pad("roofline ns/elem", 17, right: true), pad("% roofline", 11, right: true),
    ]
    if operations {
      columns += [pad("÷ softmax", 10, right: true), "  roofline kernel"]
    }
    lines.append("  " + columns.joined(separator: " "))
    let ordered =
      rows.filter { $0.kind == "algorithm" } + rows.filter { $0.kind == "operation" }
      + rows.filter { $0.kind == "peer" } + rows.filter { $0.kind == "roofline" }
    for row in ordered {
      let spread = "\(Format.fixed(row.minNsPerElement, 3))–\(Format.fixed(row.maxNsPerElement, 3))"
      let speedup = row.speedupVsBestThreePass.map { Format.fixed($0, 2) + "×" } ?? ""
      var roofline = ""
      if row.rooflineNsPerElement != nil || row.rooflineNtNsPerElement != nil {
        roofline =
          "\(Format.fixed(row.rooflineNsPerElement, 3)) / \(Format.fixed(row.rooflineNtNsPerElement, 3))"
      }
      let percent = row.rooflinePercent.map { Format.fixed($0, 0) + "%" } ?? ""
      var fields = [
        pad(row.kind == "roofline" ? "  " + row.name : row.name, 24),
        pad(Format.fixed(row.medianNsPerElement, 3), 8, right: true), pad(spread, 15, right: true),
        pad(row.gbPerS.map { Format.fixed($0, 1) } ?? "", 7, right: true),
        pad(speedup, 11, right: true), pad(roofline, 17, right: true),
        pad(percent, 11, right: true),
      ]
      if operations {
        let ratio =
          row.timeVsSoftmax.map { Format.fixed($0, 2) + "×" }
          ?? (row.kind == "algorithm" && row.name == reference ? "ref" : "")
        fields += [pad(ratio, 10, right: true), "  " + (row.roofline ?? "")]
      }
      let line = "  " + fields.joined(separator: " ")
      lines.append(operations ? line.trimmingTrailingSpaces() : line)
    }
    let example = rows.first { $0.kind == "algorithm" } ?? rows.first { $0.kind == "operation" }
    if let row = example, let plain = row.roofline {
      lines.append(
        "  (roofline ns/elem: ordinary / streaming stores of the kernel with the same traffic, "
          + "e.g. \(plain) for \(row.name))")
    }
    if let reference {
      lines.append(
        "  (÷ softmax: the operation's time ÷ that of softmax \(reference) (ref) on the same "
          + "array in the same run)")
    }
    return lines
  }
}

extension String {
  /// The string without trailing spaces, so that a table's last, sometimes empty, column
  /// leaves none behind.
  fileprivate func trimmingTrailingSpaces() -> String {
    var text = self
    while text.last == " " { text.removeLast() }
    return text
  }
}
