import Foundation

/// A line of an ``SVGChart``.
struct ChartSeries {
  var name: String
  var points: [(x: Double, y: Double)]
  var color: String
  var dashed = false
  var markers = true
}

/// A small line chart written as SVG 1.1 by hand: 800×500, a log₂ x axis, a linear or log₂ y
/// axis, a legend to the right of the plot, optional horizontal reference line and vertical
/// marker. Only what the two benchmark charts need; no dependency.
struct SVGChart {
  var title: String
  var xLabel: String
  var yLabel: String
  var series: [ChartSeries]
  var logY = false
  var includeZero = true
  var reference: (y: Double, label: String)?
  var marker: (x: Double, label: String)?

  static let width = 800.0
  static let height = 500.0
  let plotLeft = 78.0
  let plotRight = 548.0
  let plotTop = 52.0
  let plotBottom = 420.0

  static let palette = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22",
  ]

  static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }

  static func number(_ value: Double) -> String { String(format: "%.1f", value) }

  func render() -> String {
    let points = series.flatMap(\.points).filter { $0.x > 0 && $0.y.isFinite && $0.y > 0 }
    var svg = [
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"500\" "
        + "viewBox=\"0 0 800 500\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">",
      "<rect width=\"800\" height=\"500\" fill=\"white\"/>",
      text(Self.width / 2, 28, title, size: 17, anchor: "middle", weight: "bold"),
    ]
    guard !points.isEmpty else {
      svg.append(text(Self.width / 2, 250, "no data", size: 14, anchor: "middle"))
      svg.append("</svg>")
      return svg.joined(separator: "\n") + "\n"
    }
    // x: whole powers of two around the data.
    let xMin = floor(log2(points.map(\.x).min()!))
    let xMax = max(ceil(log2(points.map(\.x).max()!)), xMin + 1)
    var yValues = points.map(\.y)
    if let reference { yValues.append(reference.y) }
    let (yMin, yMax, yTicks) = yAxis(yValues)
    func px(_ x: Double) -> Double {
      plotLeft + (log2(x) - xMin) / (xMax - xMin) * (plotRight - plotLeft)
    }
    func py(_ y: Double) -> Double {
      let t = logY ? (log2(y) - log2(yMin)) / (log2(yMax) - log2(yMin)) : (y - yMin) / (yMax - yMin)
      return plotBottom - t * (plotBottom - plotTop)
    }
    // Grid and ticks.
    let xStep = xMax - xMin > 10 ? 2.0 : 1.0
    for e in stride(from: xMin, through: xMax, by: 1) {
      let x = px(exp2(e))
      svg.append(line(x, plotTop, x, plotBottom, stroke: "#e4e4e4"))
      if Int(e - xMin) % Int(xStep) == 0 {
        svg.append(
          text(x, plotBottom + 18, SizeList.shortLabel(Int(exp2(e))), size: 12, anchor: "middle"))
      }
    }
    for tick in yTicks {
      let y = py(tick)
      svg.append(line(plotLeft, y, plotRight, y, stroke: "#e4e4e4"))
      svg.append(text(plotLeft - 8, y + 4, tickLabel(tick), size: 12, anchor: "end"))
    }
    svg.append(
      "<rect x=\"\(Self.number(plotLeft))\" y=\"\(Self.number(plotTop))\" "
        + "width=\"\(Self.number(plotRight - plotLeft))\" "
        + "height=\"\(Self.number(plotBottom - plotTop))\" fill=\"none\" stroke=\"#444\"/>")
    svg.append(
      text((plotLeft + plotRight) / 2, plotBottom + 44, xLabel, size: 13, anchor: "middle"))
    svg.append(
      "<text x=\"0\" y=\"0\" font-size=\"13\" text-anchor=\"middle\" transform=\"translate(20,"
        + "\(Self.number((plotTop + plotBottom) / 2))) rotate(-90)\">\(Self.escape(yLabel))</text>")
    if let reference, reference.y >= yMin, reference.y <= yMax {
      let y = py(reference.y)
      svg.append(line(plotLeft, y, plotRight, y, stroke: "#000", width: 1.5, dash: "2,3"))
      svg.append(text(plotRight - 4, y - 5, reference.label, size: 11, anchor: "end"))
    }
    if let marker, log2(marker.x) >= xMin, log2(marker.x) <= xMax {
      let x = px(marker.x)
      svg.append(line(x, plotTop, x, plotBottom, stroke: "#888", width: 1, dash: "1,3"))
      svg.append(text(x + 4, plotTop + 14, marker.label, size: 11, anchor: "start", fill: "#555"))
    }
    // Lines, then the legend.
    for entry in series {
      let visible = entry.points.filter { $0.x > 0 && $0.y.isFinite && $0.y > 0 }
        .sorted { $0.x < $1.x }
      guard !visible.isEmpty else { continue }
      let path = visible.map {
        "\(Self.number(px($0.x))),\(Self.number(py(min(max($0.y, yMin), yMax))))"
      }
      .joined(separator: " ")
      svg.append(
        "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(entry.color)\" stroke-width=\"2\""
          + (entry.dashed ? " stroke-dasharray=\"7,4\"" : "") + "/>")
      if entry.markers {
        for point in visible {
          svg.append(
            "<circle cx=\"\(Self.number(px(point.x)))\" "
              + "cy=\"\(Self.number(py(min(max(point.y, yMin), yMax))))\" r=\"3\" "
              + "fill=\"\(entry.color)\"/>")
        }
      }
    }
    var legendY = plotTop + 8
    for entry in series where !entry.points.isEmpty {
      let x = plotRight + 16
      svg.append(
        line(
          x, legendY, x + 26, legendY, stroke: entry.color, width: 2.5,
          dash: entry.dashed ? "7,4" : nil))
      if entry.markers {
        svg.append(
          "<circle cx=\"\(Self.number(x + 13))\" cy=\"\(Self.number(legendY))\" r=\"3\" "
            + "fill=\"\(entry.color)\"/>")
      }
      svg.append(text(x + 32, legendY + 4, entry.name, size: 11, anchor: "start"))
      legendY += 21
    }
    svg.append("</svg>")
    return svg.joined(separator: "\n") + "\n"
  }

  /// The y range and tick values: "nice" steps for a linear axis, powers of two for log₂.
  func yAxis(_ values: [Double]) -> (Double, Double, [Double]) {
    let low = values.min()!
    let high = values.max()!
    if logY {
      let lowExponent = floor(log2(low))
      let highExponent = max(ceil(log2(high)), lowExponent + 1)
      let ticks = stride(from: lowExponent, through: highExponent, by: 1).map { exp2($0) }
      return (exp2(lowExponent), exp2(highExponent), ticks)
    }
    var minimum = includeZero ? 0 : low
    var maximum = high
    if maximum - minimum < 1e-12 {
      minimum -= 0.5
      maximum += 0.5
    }
    let rough = (maximum - minimum) / 6
    let magnitude = pow(10, floor(log10(rough)))
    let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? rough
    minimum = floor(minimum / step) * step
    maximum = ceil(maximum / step) * step
    let ticks = stride(from: minimum, through: maximum + step / 2, by: step).map { $0 }
    return (minimum, maximum, ticks)
  }

  func tickLabel(_ value: Double) -> String {
    if value == value.rounded() && abs(value) < 1e6 { return String(Int(value)) }
    if abs(value) >= 0.1 { return String(format: "%g", value) }
    return String(format: "%.3g", value)
  }

  func text(
    _ x: Double, _ y: Double, _ content: String, size: Int, anchor: String,
    weight: String = "normal", fill: String = "#222"
  ) -> String {
    "<text x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" font-size=\"\(size)\" "
      + "text-anchor=\"\(anchor)\" font-weight=\"\(weight)\" fill=\"\(fill)\">"
      + "\(Self.escape(content))</text>"
  }

  func line(
    _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1,
    dash: String? = nil
  ) -> String {
    "<line x1=\"\(Self.number(x1))\" y1=\"\(Self.number(y1))\" x2=\"\(Self.number(x2))\" "
      + "y2=\"\(Self.number(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(width)\""
      + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + "/>"
  }
}
