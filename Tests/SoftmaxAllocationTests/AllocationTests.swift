import Softmax
import SoftmaxKernels
import Testing
import _MallocCounter

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Issue 4: no heap allocation inside softmax(_:into:) for any size or thread count. The
// _MallocCounter target replaces malloc and friends for this whole test process (on Linux
// every test target links into one executable) and counts calls from every thread while it
// is on. Swift Testing runs tests in parallel, so each measurement runs in an exit test: a
// child process that runs only that body, where nothing but the code under test allocates.

private let unsupportedMessage: Comment =
  "allocation counting needs malloc interposition, available only on Linux with glibc"

@Suite("Allocation")
struct AllocationTests {
  @Test(
    "softmax, logSoftmax, the normalizer and shaped rows allocate nothing, any size or threads",
    .enabled(if: malloc_counter_supported() != 0, unsupportedMessage))
  func hotPathAllocatesNothing() async {
    await #expect(processExitsWith: .success) {
      // Issues recorded in the child reach the parent's report; printed text would not.
      let report = countHotPathAllocations()
      #expect(report.total == 0, "softmax allocated: \(report)")
      if report.total != 0 { exit(1) }
    }
  }

  // The control that makes the test above able to fail: the counter must see an allocation
  // made on the counting thread and allocations made on another thread.
  @Test(
    "the counter sees allocations on this thread and on other threads",
    .enabled(if: malloc_counter_supported() != 0, unsupportedMessage))
  func counterSeesAllocations() async {
    await #expect(processExitsWith: .success) {
      malloc_counter_start()
      arraySink = Array(repeating: 0, count: 1000)
      let sameThread = malloc_counter_stop()
      #expect(sameThread >= 1, "the counter missed an Array allocation")
      if sameThread == 0 { exit(1) }
      let otherThread = countWorkerThreadAllocations()
      #expect(
        otherThread >= workerAllocations,
        "the counter saw \(otherThread) calls from a thread that allocated \(workerAllocations) arrays"
      )
      if otherThread < workerAllocations { exit(1) }
    }
  }
}

/// Where the negative control stores its array, so that the optimizer can neither delete the
/// allocation nor move it to the stack.
nonisolated(unsafe) private var arraySink: [Float] = []

/// The total count and every case that allocated.
private struct HotPathReport: CustomStringConvertible {
  typealias Case = (
    form: Int, algorithm: SoftmaxAlgorithm, threads: Int?, count: Int, calls: UInt64
  )
  var total: UInt64 = 0
  var cases: [Case] = []

  static let formNames = [
    "softmax(_:into:) on buffers", "softmax(_:into:) on buffers in place",
    "softmax(_:into:) on inout arrays", "softmaxInPlace(_:)", "logSoftmax(_:into:)",
    "SoftmaxNormalizer accumulate and normalize",
    "shaped softmax (strided axis; causal mask with a sink; keep and additive masks, temperatures)",
  ]

  var description: String {
    let lines = cases.prefix(12).map {
      "\($0.calls) in \(Self.formNames[$0.form]), \($0.algorithm), "
        + "threads \($0.threads.map(String.init) ?? "nil"), count \($0.count)"
    }
    let more = cases.count > lines.count ? ["and \(cases.count - lines.count) more cases"] : []
    return (["\(total) allocator calls in \(cases.count) cases:"] + lines + more)
      .joined(separator: "\n  ")
  }
}

/// Automatic, one, exactly the CPUs of a small machine, more than they, and far more: counts
/// above the pool's size are clamped, which must not allocate either. Debug builds run the C
/// kernels unoptimized, so they try fewer.
#if DEBUG
  private let threadCounts: [Int?] = [nil, 1, 3]
#else
  private let threadCounts: [Int?] = [nil, 1, 2, 3, 64]
#endif

/// Runs every public non-allocating form over every size, algorithm and thread count twice:
/// once to warm up (the first calls select the kernel table, read the cache size and start
/// the worker threads, all of which allocate once per process), then again counting each
/// call on its own.
private func countHotPathAllocations() -> HotPathReport {
  // Tails (1, 17), rows within the caches, rows long enough for several threads, a row
  // longer than the last-level cache (non-temporal stores), and rows that leave the common
  // path: huge values (Two-Pass finishes by the max-subtracting path), +inf and NaN (the
  // special-value path). As shaped arrays along axis 0 (below), 4096 and 65 536 are columns
  // of 64 and 1024 steps: gathered rows on the AVX-512 set, through its 64 KiB stack scratch.
  var rows: [[Float]] = [1, 17, 1000, 4096, 65_536, 100_003, 1 << 20].map { count in
    (0..<count).map { Float(($0 * 7919) % 2000) / 100 - 10 }
  }
  #if !DEBUG
    // Debug builds compile the C kernels without optimization; this row would take seconds.
    let streaming = CacheInfo.lastLevelBytes / MemoryLayout<Float>.size + 17
    rows.append((0..<streaming).map { Float($0 % 1000) / 100 })
  #endif
  rows.append((0..<1000).map { Float($0) * 1e30 })
  rows.append((0..<1000).map { $0 == 500 ? .infinity : Float($0) })
  rows.append((0..<1000).map { $0 == 500 ? .nan : Float($0) })
  // Everything the counted loop touches exists beforehand: SoftmaxAlgorithm.allCases builds
  // a new array on each use, and outputs must be uniquely referenced so that inout access
  // does not copy them.
  let algorithms = SoftmaxAlgorithm.allCases
  var outputs = rows.map { [Float](repeating: 0, count: $0.count) }
  // Shapes for the shaped form, made before counting (an array literal allocates).
  let shapes = rows.map { $0.count % 64 == 0 ? [$0.count / 64, 64] : [1, $0.count] }
  // Masks of one row each, about one element in ten dropped, made before counting too.
  let keepMasks = shapes.map { shape in SoftmaxMask.keep((0..<shape[1]).map { $0 % 10 != 3 }) }
  let additiveMasks = shapes.map { shape in
    SoftmaxMask.additive((0..<shape[1]).map { $0 % 10 == 3 ? -.infinity : Float($0 % 7) / 7 })
  }
  var scratch = outputs

  var report = HotPathReport()
  for counting in [false, true] {
    for row in rows.indices {
      for algorithm in algorithms {
        for threads in threadCounts {
          for form in HotPathReport.formNames.indices {
            if counting { malloc_counter_start() }
            switch form {
            case 0:
              rows[row].withUnsafeBufferPointer { x in
                outputs[row].withUnsafeMutableBufferPointer { y in
                  softmax(x, into: y, algorithm: algorithm, threads: threads)
                }
              }
            case 1:
              scratch[row].withUnsafeMutableBufferPointer { y in
                softmax(UnsafeBufferPointer(y), into: y, algorithm: algorithm, threads: threads)
              }
            case 2:
              softmax(rows[row], into: &outputs[row], algorithm: algorithm, threads: threads)
            case 3:
              softmaxInPlace(&scratch[row], algorithm: algorithm, threads: threads)
            case 4:
              logSoftmax(rows[row], into: &outputs[row], threads: threads)
            case 5:
              rows[row].withUnsafeBufferPointer { x in
                outputs[row].withUnsafeMutableBufferPointer { y in
                  SoftmaxNormalizer(accumulating: x, threads: threads)
                    .normalize(x, into: y, threads: threads)
                }
              }
            default:
              // A strided axis and, on the last axis, a causal mask with a sink. Optimized
              // builds only: unoptimized code of the shaped entry points allocates (a few
              // calls each, measured; the one-row entry points do not).
              guard isOptimizedBuild else { continue }
              let shape = shapes[row]
              softmax(rows[row], shape: shape, axis: 0, into: &outputs[row], threads: threads)
              softmax(
                rows[row], shape: shape, into: &outputs[row], threads: threads,
                mask: .causal(), sink: 0)
              softmax(
                rows[row], shape: shape, into: &outputs[row], algorithm: algorithm,
                threads: threads, mask: keepMasks[row], temperature: 0.7)
              softmax(
                rows[row], shape: shape, into: &outputs[row], algorithm: algorithm,
                threads: threads, mask: additiveMasks[row], fullyMaskedRows: .nan,
                temperature: 2)
              logSoftmax(
                rows[row], shape: shape, into: &outputs[row], threads: threads,
                mask: keepMasks[row], sink: 1, temperature: 0.5)
            }
            guard counting else { continue }
            // Counting is off again, so recording a case may allocate.
            let calls = malloc_counter_stop()
            report.total += calls
            if calls > 0 {
              report.cases.append((form, algorithm, threads, rows[row].count, calls))
            }
          }
        }
      }
    }
  }
  return report
}

/// How many arrays the worker thread of the negative control allocates.
private let workerAllocations: UInt64 = 5

#if canImport(Glibc)
  /// Counts while another thread, started beforehand, allocates `workerAllocations` arrays (each
  /// replacing the previous one, which is freed); this thread only posts and waits on
  /// semaphores, which do not allocate, so every call counted comes from the worker.
  private func countWorkerThreadAllocations() -> UInt64 {
    let semaphores = UnsafeMutablePointer<sem_t>.allocate(capacity: 2)
    defer { semaphores.deallocate() }
    sem_init(semaphores, 0, 0)  // go
    sem_init(semaphores + 1, 0, 0)  // done
    var thread = pthread_t()
    let created = pthread_create(
      &thread, nil,
      { argument in
        let semaphores = argument!.assumingMemoryBound(to: sem_t.self)
        sem_wait(semaphores)
        for i in 0..<Int(workerAllocations) {
          arraySink = Array(repeating: Float(i), count: 100 + i)
        }
        sem_post(semaphores + 1)
        return nil
      }, semaphores)
    precondition(created == 0, "pthread_create failed: \(created)")
    malloc_counter_start()
    sem_post(semaphores)
    sem_wait(semaphores + 1)
    let calls = malloc_counter_stop()
    pthread_join(thread, nil)
    return calls
  }
#else
  /// Never called: counting is supported only with glibc, and the tests are disabled elsewhere.
  private func countWorkerThreadAllocations() -> UInt64 { 0 }
#endif

#if DEBUG
  private let isOptimizedBuild = false
#else
  private let isOptimizedBuild = true
#endif
