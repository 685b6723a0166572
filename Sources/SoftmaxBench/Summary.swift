import Softmax

/// The few sentences after the tables: where Two-Pass wins and by how much, how close each
/// algorithm gets to its roofline, how the merged peers compare, and what was skipped.
enum Summary {
  /// Speedups within this band around 1 count as ties: the samples' noise is about that large.
  static let tieBand = 0.02

  static func lines(rows: [BenchRow], skipped: [SkippedSize], llcBytes: Int) -> [String] {
    var lines: [String] = []
    let own = rows.filter { $0.source == Results.source && $0.kind == "algorithm" }
    let twoPassName = SoftmaxAlgorithm.twoPass.description
    let twoPass = own.filter { $0.name == twoPassName }.sorted { $0.n < $1.n }
    let compared = twoPass.compactMap { row in row.speedupVsBestThreePass.map { (row.n, $0) } }
    if own.isEmpty {
      // An --operation run without softmax: nothing to compare.
    } else if compared.isEmpty {
      lines.append("Two-Pass vs Three-Pass: not compared (both must be among --algorithms).")
    } else {
      let wins = compared.filter { $0.1 > 1 + tieBand }
      let losses = compared.filter { $0.1 < 1 - tieBand }
      let ties = compared.filter { abs($0.1 - 1) <= tieBand }
      var parts: [String] = []
      if let best = wins.max(by: { $0.1 < $1.1 }) {
        parts.append(
          "faster at \(sizes(wins.map(\.0))) (up to \(Format.fixed(best.1, 2))×, "
            + "\(Format.fixed((best.1 - 1) * 100, 0))% at \(SizeList.label(best.0)))")
      }
      if !ties.isEmpty { parts.append("within ±2% at \(sizes(ties.map(\.0)))") }
      if let worst = losses.min(by: { $0.1 < $1.1 }) {
        parts.append(
          "slower at \(sizes(losses.map(\.0))) (down to \(Format.fixed(worst.1, 2))× at "
            + "\(SizeList.label(worst.0)))")
      }
      lines.append("Two-Pass vs best Three-Pass: " + parts.joined(separator: "; ") + ".")
      // Input plus output past the LLC: the regime the paper's claim is about.
      let outOfCache = compared.filter { $0.0 * 8 > llcBytes }.map(\.1)
      if !outOfCache.isEmpty {
        let median = outOfCache.sorted()[outOfCache.count / 2]
        lines.append(
          "  Out of cache (input + output > LLC, \(outOfCache.count) sizes): median speedup "
            + "\(Format.fixed(median, 2))× (paper: up to 1.28× with AVX-512, 1.18× AVX2).")
      }
    }
    for name in Set(own.map(\.name)).sorted(by: orderOfAlgorithms) {
      let series = own.filter { $0.name == name && $0.rooflinePercent != nil }
        .sorted { $0.n < $1.n }
      guard let last = series.last, let percent = last.rooflinePercent else { continue }
      let roofline = [last.rooflineNsPerElement, last.rooflineNtNsPerElement].compactMap { $0 }
        .min()
      var line =
        "\(name): \(Format.fixed(percent, 0))% of its roofline at \(SizeList.label(last.n)) "
        + "(\(Format.fixed(last.medianNsPerElement, 3)) vs \(Format.fixed(roofline, 3)) ns/elem)"
      let cold = series.filter { $0.n * 8 > llcBytes }
      if let best = cold.max(by: { ($0.rooflinePercent ?? 0) < ($1.rooflinePercent ?? 0) }),
        best.n != last.n
      {
        line +=
          "; best out of cache \(Format.fixed(best.rooflinePercent, 0))% at \(SizeList.label(best.n))"
      }
      lines.append(line + ".")
    }
    lines += operationLines(rows)
    lines += peerLines(rows, own: own)
    for skip in skipped {
      lines.append("Skipped N = \(SizeList.label(skip.n)): \(skip.reason).")
    }
    return lines
  }

  /// Each peer's time over the library's (auto if it was timed, else two-pass) across the
  /// sizes, then, with several peers, the library against the fastest of them at each size.
  static func peerLines(_ rows: [BenchRow], own: [BenchRow]) -> [String] {
    let autoName = SoftmaxAlgorithm.auto.description
    let referenceName =
      own.contains { $0.name == autoName } ? autoName : SoftmaxAlgorithm.twoPass.description
    let reference = Dictionary(
      own.filter { $0.name == referenceName }.map { ($0.n, $0.medianNsPerElement) },
      uniquingKeysWith: { first, _ in first })
    let peers = rows.filter { $0.kind == "peer" }
    var lines: [String] = []
    func range(_ ratios: [(Int, Double)]) -> String? {
      let sorted = ratios.sorted { $0.0 < $1.0 }
      guard let low = sorted.min(by: { $0.1 < $1.1 }), let high = sorted.max(by: { $0.1 < $1.1 }),
        let last = sorted.last
      else { return nil }
      return "\(Format.fixed(low.1, 2))× at \(SizeList.label(low.0)) to "
        + "\(Format.fixed(high.1, 2))× at \(SizeList.label(high.0)); "
        + "\(Format.fixed(last.1, 2))× at the largest common size \(SizeList.label(last.0))"
    }
    for name in Set(peers.map(\.name)).sorted() {
      let ratios = peers.filter { $0.name == name }.compactMap { peer -> (Int, Double)? in
        reference[peer.n].map { (peer.n, peer.medianNsPerElement / $0) }
      }
      guard let text = range(ratios) else {
        lines.append("\(name): no size in common with \(referenceName).")
        continue
      }
      lines.append(
        "\(referenceName) vs \(name) (its time ÷ \(referenceName) time, > 1: "
          + "\(referenceName) faster): \(text).")
    }
    if Set(peers.map(\.name)).count > 1 {
      let fastest = Dictionary(grouping: peers, by: \.n).compactMap {
        n, sameSize -> (Int, Double)? in
        guard let mine = reference[n], let best = sameSize.map(\.medianNsPerElement).min()
        else { return nil }
        return (n, best / mine)
      }
      if let text = range(fastest) {
        lines.append("\(referenceName) vs the fastest peer at each size: \(text).")
      }
    }
    return lines
  }

  /// The issue's bound on fused cross-entropy (value and gradient): at most this many times
  /// the softmax forward's time on the same array.
  static let crossEntropyTarget = 1.15

  /// For `--operation` runs: how close each operation gets to its roofline (naming the
  /// kernel), then each operation's time over softmax's.
  static func operationLines(_ rows: [BenchRow]) -> [String] {
    let operations = rows.filter { $0.source == Results.source && $0.kind == "operation" }
    guard !operations.isEmpty else { return [] }
    var lines: [String] = []
    for operation in TimedOperation.allCases {
      let series = operations.filter { $0.name == operation.name && $0.rooflinePercent != nil }
        .sorted { $0.n < $1.n }
      guard let last = series.last, let percent = last.rooflinePercent else { continue }
      let useStreaming =
        (last.rooflineNtNsPerElement ?? .infinity) < (last.rooflineNsPerElement ?? .infinity)
      let kernel = (useStreaming ? last.rooflineNt : last.roofline) ?? operation.roofline.name
      let time = useStreaming ? last.rooflineNtNsPerElement : last.rooflineNsPerElement
      lines.append(
        "\(operation.name): \(Format.fixed(percent, 0))% of its roofline (\(kernel): "
          + "\(operation.trafficDescription)) at \(place(last)) "
          + "(\(Format.fixed(last.medianNsPerElement, 3)) vs \(Format.fixed(time, 3)) ns/elem).")
    }
    let ratios = operations.filter { $0.timeVsSoftmax != nil }
    guard !ratios.isEmpty else {
      lines.append(
        "Time ÷ softmax: not formed (add softmax to --operation to time it in the same run).")
      return lines
    }
    var references: [String] = []
    for name in ratios.compactMap(\.softmaxReference) where !references.contains(name) {
      references.append(name)
    }
    lines.append(
      "Time ÷ softmax \(references.joined(separator: "/")) on the same array in the same run "
        + "(< 1: faster than that softmax forward):")
    for operation in TimedOperation.allCases {
      let series = ratios.filter { $0.name == operation.name }.sorted { $0.n < $1.n }
      guard !series.isEmpty else { continue }
      var line = "  \(operation.name): " + ratioList(series)
      if operation == .crossEntropy {
        let target = Format.fixed(crossEntropyTarget, 2)
        let missed = series.filter { ($0.timeVsSoftmax ?? 0) > crossEntropyTarget }
        line +=
          missed.isEmpty
          ? " (target ≤ \(target)×: met)"
          : " (target ≤ \(target)×: missed at \(missed.map(place).joined(separator: ", ")))"
      }
      lines.append(line + ".")
    }
    return lines
  }

  /// "1.08× at 64x4096 axis -1", "1.02× at 2^10, 1.10× at 2^12", or for long sweeps the
  /// lowest, the highest and the largest size.
  static func ratioList(_ series: [BenchRow]) -> String {
    func item(_ row: BenchRow) -> String {
      "\(Format.fixed(row.timeVsSoftmax, 2))× at \(place(row))"
    }
    if series.count <= 4 { return series.map(item).joined(separator: ", ") }
    let low = series.min { ($0.timeVsSoftmax ?? 0) < ($1.timeVsSoftmax ?? 0) }!
    let high = series.max { ($0.timeVsSoftmax ?? 0) < ($1.timeVsSoftmax ?? 0) }!
    return "\(item(low)) to \(item(high)); largest size: \(item(series.last!))"
  }

  /// Where a row was measured: the shape when the run had one, else the size.
  static func place(_ row: BenchRow) -> String {
    row.shape.isEmpty ? SizeList.label(row.n) : row.shape
  }

  static func orderOfAlgorithms(_ a: String, _ b: String) -> Bool {
    let order = SoftmaxAlgorithm.allCases.map(\.description)
    return (order.firstIndex(of: a) ?? order.count) < (order.firstIndex(of: b) ?? order.count)
  }

  /// "2^10, 2^12, 2^14" or, for long lists, "2^10 … 2^28 (12 sizes)".
  static func sizes(_ list: [Int]) -> String {
    let labels = list.sorted().map(SizeList.label)
    if labels.count <= 4 { return labels.joined(separator: ", ") }
    return "\(labels.first!) … \(labels.last!) (\(labels.count) sizes)"
  }
}
