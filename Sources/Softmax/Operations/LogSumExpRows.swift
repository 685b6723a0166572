// log Σ e^x of each row: pass 1 of the softmax, kept as a number.

/// log Σ e^x of each row, into `logSums` by row number.
struct LogSumExpRow<Compute: TrainingCompute>: TrainingRow {
  let logSums: UnsafeMutablePointer<Double>

  var rewritesInput: Bool { false }

  func row(
    _ a: UnsafePointer<Compute>, _ b: UnsafePointer<Compute>?,
    _ out: UnsafeMutablePointer<Compute>?,
    count: Int, index: Int, threads: Int
  ) {
    logSums[index] = Compute.normalizer(a, count: count, threads: threads).logSum
  }
}
