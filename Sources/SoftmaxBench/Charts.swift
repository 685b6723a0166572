import Softmax

/// The two charts of a run, built from its rows (merged peers included).
enum Charts {
  /// Elements per nanosecond against N: one solid line per algorithm and peer, and each
  /// algorithm's roofline (the faster store flavour) dashed in the algorithm's colour.
  static func throughput(rows: [BenchRow], llcBytes: Int) -> String {
    let algorithms = algorithmNames(rows)
    var series: [ChartSeries] = []
    for (index, name) in algorithms.enumerated() {
      let color = SVGChart.palette[index % SVGChart.palette.count]
      let own = rows.filter { $0.kind == "algorithm" && $0.name == name }
      series.append(
        ChartSeries(
          name: name, points: own.map { (Double($0.n), 1 / $0.medianNsPerElement) }, color: color))
      let roofline = own.compactMap { row -> (x: Double, y: Double)? in
        let best = [row.rooflineNsPerElement, row.rooflineNtNsPerElement].compactMap { $0 }.min()
        return best.map { (Double(row.n), 1 / $0) }
      }
      let label = own.first.flatMap { row in
        row.readsPerElement.flatMap { reads in
          row.writesPerElement.map {
            RooflineKernel.trafficLabel(MemoryTraffic(reads: reads, writes: $0))
          }
        }
      }
      series.append(
        ChartSeries(
          name: "roofline \(label ?? "") (\(short(name)))", points: roofline, color: color,
          dashed: true, markers: false))
    }
    // Operations of --operation: their own line and their roofline kernel's, named.
    let operations = operationNames(rows)
    for (offset, name) in operations.enumerated() {
      let color = SVGChart.palette[(algorithms.count + offset) % SVGChart.palette.count]
      let own = rows.filter { $0.kind == "operation" && $0.name == name }
      series.append(
        ChartSeries(
          name: name, points: own.map { (Double($0.n), 1 / $0.medianNsPerElement) }, color: color))
      let roofline = own.compactMap { row -> (x: Double, y: Double)? in
        let best = [row.rooflineNsPerElement, row.rooflineNtNsPerElement].compactMap { $0 }.min()
        return best.map { (Double(row.n), 1 / $0) }
      }
      let kernel = TimedOperation(rawValue: name)?.roofline.name ?? "roofline"
      series.append(
        ChartSeries(
          name: "\(kernel) (\(name))", points: roofline, color: color, dashed: true,
          markers: false))
    }
    series += peerSeries(rows, offset: algorithms.count + operations.count) { row in
      1 / row.medianNsPerElement
    }
    return SVGChart(
      title: "Softmax throughput (one row, \(outputMode(rows)) output)",
      xLabel: "N (floats per row, log scale)", yLabel: "throughput (elements/ns)",
      series: series, marker: (Double(llcBytes) / 8, "input + output = LLC")
    ).render()
  }

  /// Two-Pass's speedup (other time ÷ Two-Pass time) over each Three-Pass variant and each
  /// peer, against N, with the break-even line at 1.
  static func speedup(rows: [BenchRow], llcBytes: Int) -> String {
    let twoPassName = SoftmaxAlgorithm.twoPass.description
    let twoPass = Dictionary(
      rows.filter { $0.kind == "algorithm" && $0.name == twoPassName }.map {
        ($0.n, $0.medianNsPerElement)
      }, uniquingKeysWith: { first, _ in first })
    var series: [ChartSeries] = []
    for (index, name) in algorithmNames(rows).enumerated() where Results.isThreePass(name) {
      let points = rows.filter { $0.kind == "algorithm" && $0.name == name }.compactMap {
        row -> (x: Double, y: Double)? in
        twoPass[row.n].map { (Double(row.n), row.medianNsPerElement / $0) }
      }
      series.append(
        ChartSeries(
          name: "vs \(name)", points: points,
          color: SVGChart.palette[index % SVGChart.palette.count]))
    }
    series += peerSeries(rows, offset: algorithmNames(rows).count, prefix: "vs ") { row in
      twoPass[row.n].map { row.medianNsPerElement / $0 } ?? .nan
    }
    let values = series.flatMap(\.points).map(\.y).filter { $0.isFinite && $0 > 0 }
    let spread = (values.max() ?? 1) / (values.min() ?? 1)
    return SVGChart(
      title: "Two-Pass speedup (\(outputMode(rows)) output)",
      xLabel: "N (floats per row, log scale)",
      yLabel: "two-pass speedup (other time ÷ two-pass time, ×"
        + (spread > 4 ? ", log scale)" : ")"), series: series, logY: spread > 4,
      includeZero: false, reference: (1, "1.0 = break-even"),
      marker: (Double(llcBytes) / 8, "input + output = LLC")
    ).render()
  }

  static func algorithmNames(_ rows: [BenchRow]) -> [String] {
    let present = Set(rows.filter { $0.kind == "algorithm" }.map(\.name))
    return SoftmaxAlgorithm.allCases.map(\.description).filter(present.contains)
      + present.subtracting(SoftmaxAlgorithm.allCases.map(\.description)).sorted()
  }

  /// The operations of the rows, in the order of ``TimedOperation/allCases``.
  static func operationNames(_ rows: [BenchRow]) -> [String] {
    let present = Set(rows.filter { $0.kind == "operation" }.map(\.name))
    return TimedOperation.allCases.map(\.name).filter(present.contains)
  }

  static func peerSeries(
    _ rows: [BenchRow], offset: Int, prefix: String = "", value: (BenchRow) -> Double
  ) -> [ChartSeries] {
    let peers = rows.filter { $0.kind == "peer" }
    var names: [String] = []
    for row in peers where !names.contains(row.name) { names.append(row.name) }
    return names.enumerated().map { index, name in
      ChartSeries(
        name: prefix + name,
        points: peers.filter { $0.name == name }.map { (Double($0.n), value($0)) },
        color: SVGChart.palette[(offset + index) % SVGChart.palette.count])
    }
  }

  static func short(_ name: String) -> String {
    name.replacingOccurrences(of: "three-pass-", with: "3P-")
      .replacingOccurrences(of: "two-pass", with: "2P")
  }

  static func outputMode(_ rows: [BenchRow]) -> String {
    rows.first { $0.kind == "algorithm" }?.output ?? "cold"
  }
}
