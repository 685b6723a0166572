import Softmax
import Testing
import _MallocCounter

#if canImport(Glibc)
  import Glibc
#endif

// The buffer forms of the training functions allocate nothing for Float rows in optimized
// builds, up to 2048 rows per call: the per-row values (losses, log-sum-exps) are Doubles on a
// 16 KiB stack scratch; beyond, one buffer of 8 bytes per row (never rows × classes). Measured
// in an exit test, a child process where nothing else allocates.

@Suite("Allocation of the training functions")
struct TrainingAllocationTests {
  @Test(
    "log-sum-exp, the backward passes and the cross-entropy allocate nothing up to 2048 rows",
    .enabled(if: malloc_counter_supported() != 0, "needs malloc interposition (Linux, glibc)"),
    .enabled(if: isOptimized, "unoptimized entry points allocate; run with -c release"))
  func trainingAllocatesNothing() async {
    await #expect(processExitsWith: .success) {
      let calls = countTrainingAllocations(rows: 1000)
      #expect(calls == 0, "\(calls) allocator calls")
      if calls != 0 { exit(1) }
    }
  }

  @Test(
    "the count above can fail: 4096 rows take one buffer for their losses",
    .enabled(if: malloc_counter_supported() != 0, "needs malloc interposition (Linux, glibc)"),
    .enabled(if: isOptimized, "unoptimized entry points allocate; run with -c release"))
  func manyRowsAllocate() async {
    await #expect(processExitsWith: .success) {
      let calls = countTrainingAllocations(rows: 4096)
      #expect(calls >= 1, "no allocation seen")
      if calls == 0 { exit(1) }
    }
  }
}

#if DEBUG
  private let isOptimized = false
#else
  private let isOptimized = true
#endif

/// Every training function's buffer form on `rows` rows of 300 Floats (rows spread across the
/// threads) and on 2 rows of 300 000 (each split into chunks), with every thread count, twice:
/// once to warm up (kernel table, cache sizes, worker threads), then counted.
private func countTrainingAllocations(rows: Int) -> UInt64 {
  let length = 300
  let x = (0..<(rows * length)).map { Float($0 % 1000) / 10 - 50 }
  let y = x.map { 1 / (1 + abs($0)) }
  var out = x
  var perRow = [Float](repeating: 0, count: rows)
  let labels = (0..<rows).map { Int32($0 % length) }
  let longX = (0..<600_000).map { Float($0 % 1000) / 10 - 50 }
  var longOut = longX
  let longLabels: [Int32] = [7, 299_999]
  let options = CrossEntropyOptions(ignoreIndex: -100, labelSmoothing: 0.1, zLossWeight: 1e-4)
  let shape = [rows, length]
  let longShape = [2, 300_000]
  let threadCounts: [Int?] = [nil, 1, 2]
  var total: UInt64 = 0
  for counting in [false, true] {
    for threads in threadCounts {
      if counting { malloc_counter_start() }
      x.withUnsafeBufferPointer { xb in
        y.withUnsafeBufferPointer { yb in
          labels.withUnsafeBufferPointer { lb in
            out.withUnsafeMutableBufferPointer { ob in
              perRow.withUnsafeMutableBufferPointer { pb in
                logSumExp(xb, shape: shape, into: pb, threads: threads)
                softmaxBackward(
                  output: yb, outputGradient: xb, shape: shape, into: ob, threads: threads)
                logSoftmaxBackward(
                  output: yb, outputGradient: xb, shape: shape, into: ob, threads: threads)
                _ = crossEntropy(
                  logits: xb, shape: shape, labels: lb, options: options, gradient: ob,
                  logSumExp: pb, threads: threads)
                _ = crossEntropy(
                  logits: xb, shape: shape, labels: lb, reduction: .none, losses: pb,
                  threads: threads)
                _ = crossEntropy(
                  logits: xb, shape: shape, targets: yb, temperature: 2, gradient: ob,
                  threads: threads)
              }
            }
          }
        }
      }
      longX.withUnsafeBufferPointer { xb in
        longLabels.withUnsafeBufferPointer { lb in
          longOut.withUnsafeMutableBufferPointer { ob in
            _ = crossEntropy(
              logits: xb, shape: longShape, labels: lb, gradient: ob, threads: threads)
            softmaxBackward(
              output: xb, outputGradient: xb, shape: longShape, into: ob, threads: threads)
          }
        }
      }
      if counting { total += malloc_counter_stop() }
    }
  }
  return total
}
