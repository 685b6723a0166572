import Softmax
import Testing
import _MallocCounter

#if canImport(Glibc)
  import Glibc
#endif

// The shaped Double entry points allocate nothing, and the Float16 ones nothing for rows of up
// to 4096 elements (their Float scratch row fits the 16 KiB stack buffer), in optimized
// builds: unoptimized code of the shaped entry points allocates a few times per call, as for
// Float. Measured in an exit test, a child process where nothing else allocates.

@Suite("Allocation of the shaped Float16 and Double functions")
struct TypedShapeAllocationTests {
  @Test(
    "shaped Double arrays, and Float16 rows up to 4096, allocate nothing",
    .enabled(if: malloc_counter_supported() != 0, "needs malloc interposition (Linux, glibc)"),
    .enabled(if: isOptimized, "unoptimized shaped entry points allocate; run with -c release"))
  func typedShapesAllocateNothing() async {
    await #expect(processExitsWith: .success) {
      let calls = countTypedShapeAllocations()
      #expect(calls == 0, "\(calls) allocator calls")
      if calls != 0 { exit(1) }
    }
  }

  @Test(
    "the count above can fail: tempered Float16 rows beyond 4096 use a heap scratch",
    .enabled(if: malloc_counter_supported() != 0, "needs malloc interposition (Linux, glibc)"))
  func longHalfRowsAllocate() async {
    await #expect(processExitsWith: .success) {
      let x = [Float16](repeating: 1, count: 2 * 5000)
      var y = x
      let shape = [2, 5000]
      // Plain rows stream through a stack block; a temperature needs the Float scratch row.
      softmax(x, shape: shape, into: &y, threads: 1, temperature: 2)
      malloc_counter_start()
      softmax(x, shape: shape, into: &y, threads: 1, temperature: 2)
      let calls = malloc_counter_stop()
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

/// Every shaped form on Double arrays (rows, long rows split across threads, inner axes,
/// masks, sinks, temperatures) and on Float16 arrays of short rows, twice: once to warm up
/// (the kernel table, cache sizes and worker threads are made once per process), then counted.
private func countTypedShapeAllocations() -> UInt64 {
  let doubles = (0..<600_000).map { Double($0 % 1000) / 10 - 50 }
  let halves = (0..<(64 * 4096)).map { Float16(Float($0 % 1000) / 100 - 5) }
  var doubleOutput = doubles
  var halfOutput = halves
  // Shapes and masks made before counting (array literals allocate).
  let doubleShapes: [([Int], Int)] = [
    ([600, 1000], -1), ([2, 300_000], 1), ([1000, 600], 0), ([600_000], 0), ([10, 600, 100], 1),
  ]
  let halfShapes: [([Int], Int)] = [([64, 4096], -1), ([4096, 64], 0), ([64, 64, 64], 1)]
  let keep = SoftmaxMask.keep((0..<1000).map { $0 % 7 != 0 })
  let threadCounts: [Int?] = [nil, 1, 2]
  var total: UInt64 = 0
  for counting in [false, true] {
    for threads in threadCounts {
      if counting { malloc_counter_start() }
      for (shape, axis) in doubleShapes {
        softmax(doubles, shape: shape, axis: axis, into: &doubleOutput, threads: threads)
        logSoftmax(doubles, shape: shape, axis: axis, into: &doubleOutput, threads: threads)
      }
      softmax(
        doubles, shape: [600, 1000], into: &doubleOutput, threads: threads, mask: keep,
        sink: 0, temperature: 0.5)
      logSoftmax(
        doubles, shape: [20, 30, 1000], into: &doubleOutput, threads: threads,
        mask: .causal(offset: 900), fullyMaskedRows: .nan, temperature: 0)
      for (shape, axis) in halfShapes {
        softmax(halves, shape: shape, axis: axis, into: &halfOutput, threads: threads)
        logSoftmax(halves, shape: shape, axis: axis, into: &halfOutput, threads: threads)
      }
      softmax(
        halves, shape: [64, 4096], into: &halfOutput, threads: threads, mask: .causal(),
        sink: 1, temperature: 2)
      if counting { total += malloc_counter_stop() }
    }
  }
  return total
}
