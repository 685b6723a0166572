internal import SoftmaxKernels

/// The choices that `SoftmaxAlgorithm.auto` and an automatic thread count make, from the row
/// length and the cache sizes. The crossovers come from `softmax bench` on the development
/// machine (see the README); they follow the cache size, so they move with the hardware.
package enum AutoPolicy {
  /// Two-Pass once the row's input and output together fill half the last-level cache; below,
  /// Three-Pass reload, whose exponentials are computed once and whose extra passes hit the
  /// cache, is faster. Measured with `softmax bench` (one thread, cold outputs, 32 MiB LLC,
  /// medians of 5 runs, 2026-11-29): at 2^20 reload 0.414 against Two-Pass 0.471 ns/element; at
  /// 2^21 (16 MiB in and out) Two-Pass 0.476 against 0.513, at 3·2^20 0.486 against 0.596. The
  /// other half of the cache holds what the extra passes evict.
  package static func algorithm(forCount count: Int) -> SoftmaxAlgorithm {
    4 * count * MemoryLayout<Float>.size >= CacheInfo.lastLevelBytes ? .twoPass : .threePassReload
  }

  /// Rows shorter than this run on one thread: waking a worker costs tens of microseconds.
  package static let parallelThreshold = 1 << 18

  /// The threads to use for a row: `requested` is nil for automatic, else an upper bound.
  package static func threads(forCount count: Int, requested: Int?) -> Int {
    let available = WorkerPool.shared.maximumThreads
    guard let requested else { return count >= parallelThreshold ? available : 1 }
    return Swift.min(requested, available)
  }
}
