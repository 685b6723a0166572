package import SoftmaxKernels

// Each algorithm as a sequence of passes over one contiguous row of count ≥ 1 elements, each
// pass run chunk by chunk on the worker pool. `y` is either `x` or does not overlap it.

/// Outside these exponents of the pass-1 total, the Two-Pass pair representation may have
/// clamped an input (|x| > 2800), so the row is finished by the max-subtracting path:
/// above 4000 means some x > 2772; below −3850 means every x < −2668, and then the values
/// clamped at −2800 might no longer be negligible next to the largest.
private let twoPassExponentRange: ClosedRange<Float> = -3850...4000

package enum RowAlgorithms {
  /// Outputs of at least this many elements are written with non-temporal stores, which skip
  /// the caches: above the last-level cache size the output would be evicted before the caller
  /// reads it anyway, and streaming halves the write traffic (no read for ownership).
  package static var streamingThreshold: Int {
    CacheInfo.lastLevelBytes / MemoryLayout<Float>.size
  }

  /// Runs `algorithm` on the row; `.auto` is resolved here. `threads` ≥ 1 is an upper bound.
  package static func run(
    _ algorithm: SoftmaxAlgorithm, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    count: Int, threads: Int = 1, kernels: PassKernels = .selected
  ) {
    let row = RowPlan(x: x, y: y, count: count, threads: threads, kernels: kernels)
    switch algorithm {
    case .auto:
      run(
        AutoPolicy.algorithm(forCount: count), x, y, count: count, threads: threads,
        kernels: kernels)
    case .twoPass: twoPass(row)
    case .threePassRecompute: threePassRecompute(row)
    case .threePassReload: threePassReload(row)
    }
  }

  static func twoPass(_ row: RowPlan) {
    let k = row.kernels
    let sum = row.reduceChunks(
      { k.twoPassSum(row.x + $0.lowerBound, $0.count) }, merge: { $0.merged(with: $1) })
    guard sum.mantissa.isFinite, twoPassExponentRange.contains(sum.exponent) else {
      return threePassRecompute(row)
    }
    let (mi, bias) = sum.outputParameters
    row.forEachChunk {
      k.twoPassOutput(row.x + $0.lowerBound, row.y + $0.lowerBound, $0.count, mi, bias, row.stream)
    }
  }

  static func threePassRecompute(_ row: RowPlan) {
    let k = row.kernels
    guard let max = finiteMaximum(row) else { return }
    let sum = row.reduceChunks({ k.sumExp(row.x + $0.lowerBound, $0.count, max) }, merge: +)
    guard !sum.isNaN else { return row.y.update(repeating: .nan, count: row.count) }
    let scale = Float(1 / sum)
    let threshold = flushThreshold(inverseSum: scale)
    row.forEachChunk {
      k.expScaledOutput(
        row.x + $0.lowerBound, row.y + $0.lowerBound, $0.count, max, scale, threshold, row.stream)
    }
  }

  static func threePassReload(_ row: RowPlan) {
    let k = row.kernels
    guard let max = finiteMaximum(row) else { return }
    let sum = row.reduceChunks(
      { k.sumAndStoreExp(row.x + $0.lowerBound, row.y + $0.lowerBound, $0.count, max) }, merge: +)
    guard !sum.isNaN else { return row.y.update(repeating: .nan, count: row.count) }
    let scale = Float(1 / sum)
    let threshold = flushThreshold(inverseSum: scale)
    row.forEachChunk {
      k.scaleInPlace(row.y + $0.lowerBound, $0.count, scale, threshold, row.stream)
    }
  }

  /// The row maximum if it is finite; otherwise writes the non-finite contract's result and
  /// returns nil.
  private static func finiteMaximum(_ row: RowPlan) -> Float? {
    let k = row.kernels
    let max = row.reduceChunks({ k.max(row.x + $0.lowerBound, $0.count) }, merge: laneFreeMax)
    guard max.isFinite else {
      nonFiniteRowSoftmax(row.x, row.y, count: row.count)
      return nil
    }
    return max
  }

  /// max that keeps a NaN from either side, so a NaN chunk maximum reaches the finiteness check.
  private static func laneFreeMax(_ a: Float, _ b: Float) -> Float {
    a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
  }
}

/// One row's execution: its buffers, the kernel table, the chunk cut and the thread budget.
struct RowPlan {
  let x: UnsafePointer<Float>
  let y: UnsafeMutablePointer<Float>
  let count: Int
  let threads: Int
  let kernels: PassKernels
  let chunks: RowChunks
  /// Whether the output passes use non-temporal stores.
  let stream: Bool

  init(
    x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int, threads: Int,
    kernels: PassKernels
  ) {
    self.x = x
    self.y = y
    self.count = count
    self.threads = threads
    self.kernels = kernels
    chunks = RowChunks(rowLength: count)
    stream = count >= RowAlgorithms.streamingThreshold
  }

  /// Runs `body` on every chunk, in parallel when the budget allows.
  func forEachChunk(_ body: (Range<Int>) -> Void) {
    if chunks.count == 1 { return body(0..<count) }
    WorkerPool.shared.run(tasks: chunks.count, threads: threads) { body(chunks.range($0)) }
  }

  /// `partial` of every chunk, merged in chunk order (so the result does not depend on the
  /// thread count). The partial results live on the stack.
  func reduceChunks<T>(_ partial: (Range<Int>) -> T, merge: (T, T) -> T) -> T {
    if chunks.count == 1 { return partial(0..<count) }
    return withUnsafeTemporaryAllocation(of: T.self, capacity: chunks.count) { results in
      let base = results.baseAddress!
      WorkerPool.shared.run(tasks: chunks.count, threads: threads) { index in
        (base + index).initialize(to: partial(chunks.range(index)))
      }
      var total = base.move()
      for index in 1..<chunks.count { total = merge(total, (base + index).move()) }
      return total
    }
  }
}
