internal import SoftmaxKernels

/// The choices that `SoftmaxAlgorithm.auto` and an automatic thread count make, from the row
/// length and the cache sizes. The crossovers come from `softmax bench` on the development
/// machine (see the README); they follow the cache size, so they move with the hardware.
package enum AutoPolicy {
  /// Two-Pass once the row's input and output together no longer fit in the last-level cache;
  /// in cache, Three-Pass reload, whose exponentials are computed once and whose extra passes
  /// hit the cache, is faster.
  package static func algorithm(forCount count: Int) -> SoftmaxAlgorithm {
    2 * count * MemoryLayout<Float>.size >= CacheInfo.lastLevelBytes ? .twoPass : .threePassReload
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
