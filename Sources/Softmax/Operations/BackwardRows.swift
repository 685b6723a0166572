internal import SoftmaxKernels

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

  /// Consecutive rows, pipelined on the AVX-512 set: each step writes row r − 1's output
  /// while it reads row r for its sum (Σ dy · y, or Σ dy for log-softmax), chunk by chunk
  /// (the chunks of `RowChunks`, so that the sums merge as `row`'s do, bitwise). Two passes
  /// over one row leave the memory idle in turn: reads only, then mostly writes. Measured with
  /// `softmax bench --operation backward` (cold outputs, 2026-12-01): 4096×1024 from 76% to
  /// 96% of the two-input roofline on one thread, 512×32000 from 81% to 93%.
  func rows(
    _ a: UnsafePointer<Compute>, _ b: UnsafePointer<Compute>?,
    _ out: UnsafeMutablePointer<Compute>?,
    count n: Int, indices: Range<Int>
  ) -> Bool {
    let kernels = PassKernels.selected
    let training = kernels.training
    guard Compute.self == Float.self, indices.count >= 2, n > 0, let b, let out,
      logarithm ? training.logBackwardStep != nil : training.backwardStep != nil
    else { return false }
    let y = UnsafeRawPointer(a).assumingMemoryBound(to: Float.self)
    let dy = UnsafeRawPointer(b).assumingMemoryBound(to: Float.self)
    let dx = UnsafeMutableRawPointer(out).assumingMemoryBound(to: Float.self)
    let chunks = RowChunks(rowLength: n)
    let stream = streamAlways || n >= AutoPolicy.computedOutputStreamingThreshold
    // The pointers are at row `indices.lowerBound`.
    let first = indices.lowerBound
    // Row r's sum, chunk by chunk as `RowPlan.reduce` merges them.
    func sum(_ r: Int) -> Double {
      var s = 0.0
      for c in 0..<chunks.count {
        let range = chunks.range(c)
        let start = (r - first) * n + range.lowerBound
        let d =
          logarithm
          ? training.sum(dy + start, range.count)
          : training.dot(dy + start, y + start, range.count)
        s = c == 0 ? d : s + d
      }
      return s
    }
    // Row r's output from its sum s, whole.
    func output(_ r: Int, _ s: Double) {
      let start = (r - first) * n
      if logarithm {
        Float.logBackwardOutput(kernels, y + start, dy + start, dx + start, n, s, stream: stream)
      } else {
        Float.backwardOutput(kernels, y + start, dy + start, dx + start, n, s, stream: stream)
      }
    }
    var s = sum(indices.lowerBound)
    for r in indices.dropFirst() {
      var next = 0.0
      if Float.outputNeedsDouble(s, logarithm: logarithm) {
        // Row r − 1 in Double (huge gradients: see `outputNeedsDouble`), then row r's sum as
        // the first row's: the same bits as a step would give.
        output(r - 1, s)
        s = sum(r)
        continue
      }
      for c in 0..<chunks.count {
        let range = chunks.range(c)
        let start = (r - 1 - first) * n + range.lowerBound
        let (ya, dya, dxa) = (y + start, dy + start, dx + start)
        let d =
          logarithm
          ? training.logBackwardStep!(ya, dya, dxa, Float(s), dya + n, range.count, stream)
          : training.backwardStep!(ya, dya, dxa, Float(s), ya + n, dya + n, range.count, stream)
        next = c == 0 ? d : next + d
      }
      s = next
    }
    output(indices.upperBound - 1, s)
    if stream { kernels.storeFence() }
    return true
  }
}
