import Foundation
internal import SoftmaxKernels

/// The memory one size of the sweep runs on: one input row (kept hot, as in the paper's
/// benchmark) and one or more output rows, all on huge pages (``HugePages``). With cold
/// outputs the rows together span at least 8× the last-level cache and 256 MiB, and each call
/// writes the next one, so no output is in a cache, or dirty there, when a call writes it, as
/// for a real program writing fresh activations. (Twice the cache was not enough: rows the
/// kernels timed just before had written were still dirty in it, and a write-back is not a
/// cold write.)
final class BenchBuffers {
  let count: Int
  /// Floats from one output row to the next: rounded up to 64 bytes so every row is aligned.
  let stride: Int
  let slots: Int
  let input: UnsafeMutablePointer<Float>
  private let outputs: UnsafeMutablePointer<Float>
  /// Per-thread slots, a cache line apart, where read-only kernels leave their sums so that
  /// the compiler cannot drop the reads.
  let sink: UnsafeMutablePointer<Float>
  /// The other inputs of the training operations (nil when only softmax algorithms run).
  var operands: OperationOperands?
  private var nextSlot = 0

  /// The least memory cold outputs rotate over: 256 MiB, or 8× the last-level cache.
  static func coldSpanBytes(llcBytes: Int) -> Int {
    max(256 << 20, 8 * llcBytes)
  }

  /// How many output rows of `count` floats cold outputs need.
  static func slotCount(count: Int, hot: Bool, llcBytes: Int) -> Int {
    if hot { return 1 }
    let rowBytes = alignedStride(count) * MemoryLayout<Float>.size
    return max(1, (coldSpanBytes(llcBytes: llcBytes) + rowBytes - 1) / rowBytes)
  }

  static func alignedStride(_ count: Int) -> Int {
    (count + 15) & ~15
  }

  /// Bytes that buffers for `count` floats will allocate, to check against available memory.
  static func bytesNeeded(count: Int, hot: Bool, llcBytes: Int) -> Int {
    let floats = alignedStride(count) * (1 + slotCount(count: count, hot: hot, llcBytes: llcBytes))
    return floats * MemoryLayout<Float>.size
  }

  init(
    count: Int, hot: Bool, llcBytes: Int, distribution: InputDistribution, seed: UInt64,
    threads: Int
  ) {
    self.count = count
    stride = Self.alignedStride(count)
    slots = Self.slotCount(count: count, hot: hot, llcBytes: llcBytes)
    input = Self.allocate(floats: stride)
    outputs = Self.allocate(floats: stride * slots)
    sink = Self.allocate(floats: 16 * max(1, threads))
    // The seed depends on the size too, so that no two sizes share a prefix of inputs.
    distribution.fill(
      UnsafeMutableBufferPointer(start: input, count: count), seed: seed ^ UInt64(count))
    // Touch every output page now so that page faults stay out of the timings.
    memset(outputs, 0, stride * slots * MemoryLayout<Float>.size)
    memset(sink, 0, 16 * max(1, threads) * MemoryLayout<Float>.size)
  }

  deinit {
    free(input)
    free(outputs)
    free(sink)
  }

  /// The output row for the next call; rotates through all rows when outputs are cold.
  func nextOutput() -> UnsafeMutablePointer<Float> {
    let row = outputs + nextSlot * stride
    nextSlot = nextSlot + 1 == slots ? 0 : nextSlot + 1
    return row
  }

  /// `floats` floats, 64-byte aligned, on huge pages when they span one; release with `free`.
  static func allocate(floats: Int) -> UnsafeMutablePointer<Float> {
    guard let raw = HugePages.allocate(byteCount: floats * MemoryLayout<Float>.size) else {
      fatalError("softmax bench: cannot allocate \(floats * 4) bytes")
    }
    return raw.bindMemory(to: Float.self, capacity: floats)
  }
}
