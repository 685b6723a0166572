import Softmax
import Testing
import _MallocCounter

#if canImport(Glibc)
  import Glibc
#endif

// The buffer form of moeGating allocates nothing in optimized builds: the per-task scratch
// (selected values, scores, the 16-row kernel's outputs) is on the 16 KiB stack scratch.
// Measured in an exit test, a child process where nothing else allocates.

@Suite("Allocation of MoE gating")
struct GatingAllocationTests {
  @Test(
    "moeGating into buffers allocates nothing: every method, element type and thread count",
    .enabled(if: malloc_counter_supported() != 0, "needs malloc interposition (Linux, glibc)"),
    .enabled(if: gatingIsOptimized, "unoptimized entry points allocate; run with -c release"))
  func gatingAllocatesNothing() async {
    await #expect(processExitsWith: .success) {
      let calls = countGatingAllocations()
      #expect(calls == 0, "\(calls) allocator calls")
      if calls != 0 { exit(1) }
    }
  }
}

#if DEBUG
  private let gatingIsOptimized = false
#else
  private let gatingIsOptimized = true
#endif

/// Every method on 1000 tokens of 64 experts (k 8: the 16-row kernel where there is one;
/// k 10: row by row), Float, Double and Float16, threads nil, 1 and 2; once to warm up, then
/// counted.
private func countGatingAllocations() -> UInt64 {
  let tokens = 1000
  let experts = 64
  let x = (0..<(tokens * experts)).map { Float(($0 * 7919) % 1000) / 100 - 5 }
  let doubles = x.map(Double.init)
  let bias = (0..<experts).map { Float($0 % 5) / 50 }
  let methods: [MoEGating.Method] = [
    .softmaxTopK(renormalize: true), .softmaxTopK(renormalize: false), .topKSoftmax,
    .sigmoidGrouped(bias: bias, groups: 8, topGroups: 4, normalize: true, scale: 2.5),
    .sigmoidGrouped(bias: nil, groups: 1, topGroups: 1, normalize: false, scale: 1),
  ]
  var weights = [Float](repeating: 0, count: tokens * 10)
  var doubleWeights = [Double](repeating: 0, count: tokens * 10)
  var ids = [Int32](repeating: 0, count: tokens * 10)
  var counts = [Int](repeating: 0, count: experts)
  #if !(os(macOS) && arch(x86_64))
    let halves = x.map { Float16($0) }
    var halfWeights = [Float16](repeating: 0, count: tokens * 10)
  #endif
  let kValues = [8, 10]
  let threadCounts: [Int?] = [nil, 1, 2]
  var total: UInt64 = 0
  for counting in [false, true] {
    if counting { malloc_counter_start() }
    for method in methods {
      for k in kValues {
        for threads in threadCounts {
          ids.withUnsafeMutableBufferPointer { i in
            counts.withUnsafeMutableBufferPointer { c in
              x.withUnsafeBufferPointer { xb in
                weights.withUnsafeMutableBufferPointer { w in
                  moeGating(
                    xb, experts: experts, k: k, method: method, weights: w, expertIDs: i,
                    tokensPerExpert: c, threads: threads)
                }
              }
              doubles.withUnsafeBufferPointer { xb in
                doubleWeights.withUnsafeMutableBufferPointer { w in
                  moeGating(
                    xb, experts: experts, k: k, method: method, weights: w, expertIDs: i,
                    tokensPerExpert: c, threads: threads)
                }
              }
              #if !(os(macOS) && arch(x86_64))
                halves.withUnsafeBufferPointer { xb in
                  halfWeights.withUnsafeMutableBufferPointer { w in
                    moeGating(
                      xb, experts: experts, k: k, method: method, weights: w, expertIDs: i,
                      tokensPerExpert: c, threads: threads)
                  }
                }
              #endif
            }
          }
        }
      }
    }
    if counting { total += malloc_counter_stop() }
  }
  return total
}
