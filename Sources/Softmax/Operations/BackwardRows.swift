// The backward passes of softmax and log-softmax: a sum, then the output.

/// The softmax backward, dx = y ⊙ (dy − Σ dy ⊙ y), or the log-softmax backward,
/// dx = dy − e^logY · Σ dy: one sum (a dot product) and one output pass.
struct BackwardRow<Compute: TrainingCompute>: TrainingRow {
  /// Whether `a` holds log-probabilities (the log-softmax backward).
  let logarithm: Bool
  /// Whether every row's output streams: the whole array is larger than the caches, so its
  /// rows, however short, would be evicted before anyone reads them.
  var streamAlways = false

  var rewritesInput: Bool { false }

  func row(
    _ a: UnsafePointer<Compute>, _ b: UnsafePointer<Compute>?,
    _ out: UnsafeMutablePointer<Compute>?,
    count: Int, index: Int, threads: Int
  ) {
    guard let dy = b, let dx = out else { return }
    let row = RowPlan(x: a, y: dx, count: count, threads: threads)
    // Σ dy (log-softmax) or Σ dy · y, read before dx is written (dx may be dy or y).
    let dyRow = RowPlan(x: dy, y: dx, count: count, threads: threads)
    var pass = TrainingPass<Compute>(
      kind: logarithm ? .logBackwardOutput : .backwardOutput, other: dy)
    pass.value = logarithm ? dyRow.sum() : dyRow.sum(times: a)
    pass.streamAlways = streamAlways
    row.perform(pass)
  }
}
