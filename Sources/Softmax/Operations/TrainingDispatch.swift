// From a checked `_TrainingCall` to the engine: the checks every training function shares, the
// per-row value buffer, the row operation, and the reduction in row order.

extension _TrainingCall {
  /// Checks the call, runs its operation in `Compute` on the engine, writes the per-row
  /// outputs, and returns the reduced loss (0 for operations without one).
  func run<Compute: TrainingCompute>(computingIn _: Compute.Type) -> Double {
    checkBuffers()
    let layout =
      shape.map { AxisLayout(shape: $0, axis: axis, count: input.count, function: function) }
      ?? AxisLayout(row: input.count)
    let rows =
      shape.map { _rowCount(shape: $0, axis: axis, count: input.count, function: function) } ?? 1
    let length = layout.length
    checkPerRow(losses, "losses", rows: rows)
    checkPerRow(logSums, "logSumExp", rows: rows)
    if reduction == .none && losses == nil && !isLogSumExp {
      fatalError("\(function): reduction .none writes one loss per row: pass a losses buffer")
    }
    let kept = checkLabels(rows: rows, classes: length)
    let weight = reduction == .mean ? (kept > 0 ? 1 / Double(kept) : 0) : 1
    let threads = validatedThreads(self.threads, count: input.count)
    let wantsLogSums = logSums != nil || isLogSumExp
    return withScratch(of: Double.self, count: Swift.max(1, rows * (wantsLogSums ? 2 : 1))) {
      values in
      let rowLosses = values
      let rowLogSums = wantsLogSums ? values + rows : nil
      rowLosses.update(repeating: 0, count: rows)
      if length == 0 {
        // Rows of no classes: Σ e^x is empty. Only ignored labels can point into them.
        rowLogSums?.update(repeating: -.infinity, count: rows)
      } else if rows > 0 {
        let call = AxisCall(layout: layout, threads: threads)
        runRows(
          Compute.self, call: call, weight: weight, losses: rowLosses, logSums: rowLogSums)
      }
      if let losses {
        for r in 0..<rows { losses[r] = Element(rowLosses[r]) }
      }
      if let logSums, let rowLogSums {
        for r in 0..<rows { logSums[r] = Element(rowLogSums[r]) }
      }
      if isLogSumExp { return 0 }
      // In row order, so the result does not depend on the thread count.
      var total = 0.0
      for r in 0..<rows { total += rowLosses[r] }
      return reduction == .mean ? (kept > 0 ? total / Double(kept) : 0) : total
    }
  }

  private var isLogSumExp: Bool {
    if case .logSumExp = operation { return true }
    return false
  }

  private func runRows<Compute: TrainingCompute>(
    _: Compute.Type, call: AxisCall, weight: Double, losses: UnsafeMutablePointer<Double>,
    logSums: UnsafeMutablePointer<Double>?
  ) {
    let rowLabels = labels?.baseAddress.map {
      RowLabels(labels: $0, ignoreIndex: options.ignoreIndex)
    }
    switch operation {
    case .logSumExp:
      execute(LogSumExpRow<Compute>(logSums: logSums!), call)
    case .backward(let logarithm):
      execute(
        BackwardRow<Compute>(
          logarithm: logarithm,
          streamAlways: streams(call)), call)
    case .crossEntropy where options.probabilities == .stableMax:
      execute(
        StableMaxCrossEntropyRow<Compute>(
          labels: rowLabels!, smoothing: options.labelSmoothing,
          weight: weight, losses: losses), call)
    case .crossEntropy:
      let targets: CrossEntropyTargets =
        rowLabels.map { .labels($0) } ?? .probabilities
      execute(
        CrossEntropyRow<Compute>(
          targets: targets, smoothing: options.labelSmoothing, zLoss: options.zLossWeight,
          temperature: temperature, weight: weight, losses: losses, logSums: logSums,
          streamAlways: streams(call)), call)
    case .hinge(let margin, let squared):
      execute(
        HingeRow<Compute>(
          labels: rowLabels!, margin: margin, squared: squared,
          weight: weight, losses: losses), call)
    }
  }

  /// Whether rows stream their outputs whatever their length: in arrays beyond the caches,
  /// and never along an inner axis, whose rows are computed in a scratch in the caches and
  /// then scattered (streamed there, they would be read back from memory).
  private func streams(_ call: AxisCall) -> Bool {
    input.count >= AutoPolicy.arrayStreamingThreshold && call.layout.inner == 1
  }

  /// Runs `row` over the call's arrays on the engine.
  private func execute<Row: TrainingRow>(_ row: Row, _ call: AxisCall) {
    let operation = TrainingRows<Element, Row>(
      operation: row, a: input.baseAddress!, b: second?.baseAddress, out: output?.baseAddress,
      layout: call.layout)
    let out = output ?? UnsafeMutableBufferPointer(mutating: input)
    AxisEngine.run(operation, input, out, call: call)
  }

  /// The checks of the arrays: the same count, and the output identical to or disjoint from
  /// each input (the second input and the output may not overlap for target probabilities,
  /// which are read after the output is written).
  private func checkBuffers() {
    let count = input.count
    if let second, second.count != count {
      fatalError(
        "\(function): the inputs have \(count) and \(second.count) elements; they must have the "
          + "same count")
    }
    guard let output else { return }
    guard output.count == count else {
      fatalError(
        "\(function): the input has \(count) elements but the output has \(output.count); they "
          + "must have the same count")
    }
    checkIdenticalOrDisjoint(input, output, "the input and the output")
    if let second {
      if case .crossEntropy = operation {
        checkDisjoint(second, output, "the target probabilities and the gradient")
      } else {
        checkIdenticalOrDisjoint(second, output, "the output gradient and the input gradient")
      }
    }
  }

  private func checkIdenticalOrDisjoint(
    _ a: UnsafeBufferPointer<Element>, _ b: UnsafeMutableBufferPointer<Element>, _ what: String
  ) {
    guard let x = a.baseAddress, let y = b.baseAddress, UnsafeRawPointer(x) != UnsafeRawPointer(y)
    else { return }
    if overlaps(a, b) {
      fatalError(
        "\(function): \(what) overlap without being the same buffer; pass the same buffer or "
          + "disjoint buffers")
    }
  }

  private func checkDisjoint(
    _ a: UnsafeBufferPointer<Element>, _ b: UnsafeMutableBufferPointer<Element>, _ what: String
  ) {
    if overlaps(a, b) { fatalError("\(function): \(what) must not overlap") }
  }

  private func overlaps(_ a: UnsafeBufferPointer<Element>, _ b: UnsafeMutableBufferPointer<Element>)
    -> Bool
  {
    guard let x = a.baseAddress, let y = b.baseAddress, a.count > 0 else { return false }
    let bytes = a.count * MemoryLayout<Element>.stride
    let (xs, ys) = (UnsafeRawPointer(x), UnsafeRawPointer(y))
    return xs < ys + bytes && ys < xs + bytes
  }

  private func checkPerRow(
    _ buffer: UnsafeMutableBufferPointer<Element>?, _ name: String, rows: Int
  ) {
    guard let buffer, buffer.count != rows else { return }
    fatalError(
      "\(function): \(name) has \(buffer.count) elements; it needs one per row (\(rows))")
  }

  /// Checks the labels and the loss options; returns how many rows count.
  private func checkLabels(rows: Int, classes: Int) -> Int {
    if case .crossEntropy = operation {
      let smoothing = options.labelSmoothing
      guard smoothing >= 0 && smoothing <= 1 else {
        fatalError("\(function): labelSmoothing must be in 0...1, not \(smoothing)")
      }
      guard options.zLossWeight >= 0 && options.zLossWeight.isFinite else {
        fatalError("\(function): zLossWeight must be finite and ≥ 0, not \(options.zLossWeight)")
      }
      guard temperature > 0 && temperature.isFinite else {
        fatalError("\(function): temperature must be finite and > 0, not \(temperature)")
      }
      if options.probabilities == .stableMax && options.zLossWeight != 0 {
        fatalError("\(function): zLossWeight applies to softmax probabilities, not StableMax")
      }
      if labels == nil && options.probabilities == .stableMax {
        fatalError("\(function): StableMax takes labels, not target probabilities")
      }
    }
    guard let labels else { return rows }
    guard labels.count == rows else {
      fatalError(
        "\(function): \(labels.count) labels for \(rows) rows; pass one label per row")
    }
    let ignore = options.ignoreIndex
    var kept = 0
    for (row, label) in labels.enumerated() {
      if label == ignore { continue }
      guard label >= 0 && Int(label) < classes else {
        fatalError(
          "\(function): label \(label) of row \(row) is out of range for \(classes) classes "
            + "(0..<\(classes)\(ignore.map { ", or the ignore index \($0)" } ?? ""))")
      }
      kept += 1
    }
    return kept
  }
}

extension AxisCall {
  /// A call whose arrays the caller has checked.
  init(layout: AxisLayout, threads: Int) {
    self.layout = layout
    self.threads = threads
  }
}
