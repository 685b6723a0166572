import Softmax

/// `softmax bench --operation gating`: Mixtral-style router gating (softmax over the experts,
/// top k = 8, renormalized) of the array of `--shape` read as `[tokens, experts]` (its last
/// dimension is the experts; without `--shape`, one token of N experts). The weights go to
/// the start of the rotated output; the expert ids and per-expert counts to arrays kept for
/// the size, made by the first call (a warm-up call, never a timed one).
enum GatingBench {
  /// The experts chosen per token (fewer when there are fewer experts).
  static let k = 8
  /// The router timed, the one `scripts/peer_gating.py` times for NumPy and JAX.
  static let method = MoEGating.Method.softmaxTopK(renormalize: true)

  /// The ids and counts of the last size; the bench calls from one thread.
  nonisolated(unsafe) private static var ids = UnsafeMutableBufferPointer<Int32>(
    start: nil, count: 0)
  nonisolated(unsafe) private static var counts = UnsafeMutableBufferPointer<Int>(
    start: nil, count: 0)

  /// One gating call on `x` of `shape`, weights into `output`.
  static func run(
    _ x: UnsafeBufferPointer<Float>, shape: [Int], into output: UnsafeMutablePointer<Float>,
    threads: Int
  ) {
    let experts = shape.last ?? x.count
    let k = Swift.min(Self.k, experts)
    let selected = x.count / experts * k
    if ids.count != selected || counts.count != experts {
      ids.deallocate()
      counts.deallocate()
      ids = .allocate(capacity: selected)
      counts = .allocate(capacity: experts)
    }
    moeGating(
      x, experts: experts, k: k, method: method,
      weights: UnsafeMutableBufferPointer(start: output, count: selected), expertIDs: ids,
      tokensPerExpert: counts, threads: threads)
  }
}
