import Softmax
import SoftmaxKernels
import Testing
import _RetainCounter

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// The rows of a batch must not retain anything each: a retain (or release) is an atomic
// instruction, and after a row's streaming stores it waits for them to drain. An unrelated
// change once made the optimizer copy each staged row's plan through the generic value
// witnesses, a retain and a release of the kernel table per row, and the softmax of 4096×1024
// took 0.41 ns/element instead of 0.22 (BENCHMARKS.md, "A regression found and fixed").
// Nothing caught it but a benchmark. Here every batch path runs on arrays of R and 2R rows
// beyond a sixteenth of the LLC (where rows stream): the second may retain a few more times
// than the first, never once more per row. Optimized builds only: unoptimized code retains
// freely. Each count runs in an exit test, a child process where nothing else runs.

#if DEBUG
  private let isOptimized = false
#else
  private let isOptimized = true
#endif

@Suite("Retains per row")
struct RetainTests {
  @Test(
    "softmax, log-softmax, cross-entropy, log-sum-exp and the backward passes retain nothing per row",
    .enabled(if: retain_counter_supported() != 0, "needs the runtime's retain hook (Linux)"),
    .enabled(if: isOptimized, "unoptimized code retains freely; run with -c release"))
  func noRetainPerRow() async {
    await #expect(processExitsWith: .success) {
      let rows = AutoPolicy.arrayStreamingThreshold / 1024 + 64
      let small = countBatchRetains(rows: rows)
      let large = countBatchRetains(rows: 2 * rows)
      var failed = false
      for (name, (a, b)) in zip(batchOperations, zip(small, large)) where b > a + 16 {
        #expect(Bool(false), "\(name): \(a) retains on \(rows) rows, \(b) on \(2 * rows)")
        failed = true
      }
      if failed { exit(1) }
    }
  }

  // The control that makes the test above able to fail: the counter sees retains made on
  // this thread, one per iteration of a loop that keeps references.
  @Test(
    "the counter sees a retain per reference kept",
    .enabled(if: retain_counter_supported() != 0, "needs the runtime's retain hook (Linux)"),
    .enabled(if: isOptimized, "unoptimized code retains freely; run with -c release"))
  func counterSeesRetains() async {
    await #expect(processExitsWith: .success) {
      let box = Box()
      var kept: [Box] = []
      kept.reserveCapacity(1000)
      retain_counter_start()
      for _ in 0..<1000 { kept.append(passThrough(box)) }
      let retains = retain_counter_stop()
      #expect(retains >= 1000, "the counter saw \(retains) retains for 1000 references kept")
      if retains < 1000 { exit(1) }
    }
  }
}

private final class Box {}

@inline(never)
private func passThrough(_ box: Box) -> Box { box }

private let batchOperations = [
  "softmax", "log-softmax", "cross-entropy", "softmax backward", "log-softmax backward",
  "cross-entropy without a gradient", "log-sum-exp", "softmax on two threads",
]

/// The retains of each batch operation on `rows` rows of 1024 Floats, on one thread, after a
/// warm-up call of each (the first calls select the kernel table and read the cache size).
private func countBatchRetains(rows: Int) -> [UInt64] {
  let length = 1024
  let shape = [rows, length]
  let x = (0..<(rows * length)).map { Float(($0 * 7919) % 2000) / 100 - 10 }
  let y = x.map { 1 / (1 + abs($0)) }
  let labels = (0..<rows).map { Int32(($0 * 31) % length) }
  var out = [Float](repeating: 0, count: x.count)
  var perRow = [Float](repeating: 0, count: rows)
  var counts = [UInt64](repeating: 0, count: batchOperations.count)
  x.withUnsafeBufferPointer { xb in
    y.withUnsafeBufferPointer { yb in
      labels.withUnsafeBufferPointer { lb in
        out.withUnsafeMutableBufferPointer { ob in
          perRow.withUnsafeMutableBufferPointer { pb in
            for counting in [false, true] {
              for operation in batchOperations.indices {
                if counting { retain_counter_start() }
                switch operation {
                case 0: softmax(xb, shape: shape, into: ob, threads: 1)
                case 1: logSoftmax(xb, shape: shape, into: ob, threads: 1)
                case 2:
                  _ = crossEntropy(logits: xb, shape: shape, labels: lb, gradient: ob, threads: 1)
                case 3:
                  softmaxBackward(
                    output: yb, outputGradient: xb, shape: shape, into: ob, threads: 1)
                case 4:
                  logSoftmaxBackward(
                    output: yb, outputGradient: xb, shape: shape, into: ob, threads: 1)
                case 5: _ = crossEntropy(logits: xb, shape: shape, labels: lb, threads: 1)
                case 6: logSumExp(xb, shape: shape, into: pb, threads: 1)
                default: softmax(xb, shape: shape, into: ob, threads: 2)
                }
                if counting { counts[operation] = retain_counter_stop() }
              }
            }
          }
        }
      }
    }
  }
  return counts
}
