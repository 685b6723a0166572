import Softmax
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

let threadedLengths = [(1 << 16) + 1, (1 << 18) + 4099, 1 << 20, (1 << 23) + 17]

@Suite("Threads within a row")
struct ThreadingTests {
  @Test(
    "results are bitwise identical for every thread count", optimizedRunOnly,
    arguments: SoftmaxAlgorithm.allCases, allISAs)
  func deterministic(algorithm: SoftmaxAlgorithm, isa: KernelISA) {
    guard supported(isa) else { return }
    for count in threadedLengths {
      let x = randomInputs(count: count, distribution: .paperUniform, seed: UInt64(count))
      let one = runSoftmax(x, algorithm, offset: 3, isa: isa, threads: 1)
      for threads in [2, 3, 8] {
        #expect(
          runSoftmax(x, algorithm, offset: 3, isa: isa, threads: threads) == one,
          "\(algorithm)/\(isa) n=\(count) threads=\(threads)")
      }
      expectAccurate(one, for: x, "\(algorithm)/\(isa) n=\(count)")
    }
  }

  @Test("the public API with automatic and explicit threads agrees with one thread")
  func publicAPI() {
    let x = randomInputs(count: (1 << 19) + 5, distribution: .standardNormal, scale: 20, seed: 6)
    for algorithm in SoftmaxAlgorithm.allCases {
      let one = softmax(x, algorithm: algorithm, threads: 1)
      #expect(softmax(x, algorithm: algorithm) == one)
      #expect(softmax(x, algorithm: algorithm, threads: 2) == one)
      #expect(softmax(x, algorithm: algorithm, threads: 1000) == one)
    }
  }

  @Test("special values keep their contract when chunks run in parallel")
  func specialValuesInParallel() {
    let count = (1 << 18) + 1
    var x = randomInputs(count: count, distribution: .paperUniform, seed: 9)
    x[count - 2] = .nan
    for algorithm in SoftmaxAlgorithm.allCases {
      #expect(softmax(x, algorithm: algorithm, threads: 2).allSatisfy { $0.isNaN })
    }
    x[count - 2] = .infinity
    x[5] = .infinity
    for algorithm in SoftmaxAlgorithm.allCases {
      let y = softmax(x, algorithm: algorithm, threads: 2)
      #expect(y[5] == 0.5 && y[count - 2] == 0.5 && y.reduce(0, +) == 1)
    }
    let masked = [Float](repeating: -.infinity, count: count)
    #expect(softmax(masked, threads: 2).allSatisfy { $0 == 0 })
  }

  @Test("many callers at once share the pool without changing results")
  func concurrentCallers() async {
    let x = randomInputs(count: (1 << 18) + 77, distribution: .paperUniform, seed: 10)
    let expected = softmax(x, threads: 1)
    await withTaskGroup(of: Bool.self) { group in
      for i in 0..<12 {
        group.addTask { softmax(x, algorithm: .auto, threads: i % 3 + 1) == expected }
      }
      for await same in group { #expect(same) }
    }
  }

  @Test("rows are cut into at most 64 chunks of whole 4096-element blocks, covering the row")
  func chunking() {
    for count in [1, 4095, 1 << 16, (1 << 16) + 1, 1 << 20, 123_456_789, 1 << 30] {
      let chunks = RowChunks(rowLength: count)
      let covered = (0..<chunks.count).map { chunks.range($0).count }.reduce(0, +)
      #expect(chunks.count >= 1 && chunks.count <= 64, "n=\(count)")
      #expect(chunks.length % 4096 == 0 && chunks.length >= 1 << 16, "n=\(count)")
      #expect(covered == count, "n=\(count)")
    }
  }

  /// Run with SOFTMAX_ISA=portable too: the portable kernels take reload at every length.
  @Test(".auto picks Three-Pass reload in cache and Two-Pass beyond it (C kernel sets)")
  func autoChoice() {
    let beyondCache: SoftmaxAlgorithm =
      PassKernels.selected.isa == .portable ? .threePassReload : .twoPass
    #expect(SoftmaxAlgorithm.auto.resolved(forCount: 1024) == .threePassReload)
    #expect(SoftmaxAlgorithm.auto.resolved(forCount: 1 << 28) == beyondCache)
    // The cut: input + output (8 bytes an element) reach min(LLC / 2, 4 × L2).
    let cut = AutoPolicy.twoPassCrossoverBytes / 8
    #expect(cut * 8 == min(CacheInfo.lastLevelBytes / 2, 4 * CacheInfo.levelTwoBytes))
    #expect(CacheInfo.levelTwoBytes >= 64 << 10)
    #expect(SoftmaxAlgorithm.auto.resolved(forCount: cut - 1) == .threePassReload)
    #expect(SoftmaxAlgorithm.auto.resolved(forCount: cut + 1) == beyondCache)
    #expect(SoftmaxAlgorithm.twoPass.resolved(forCount: 10) == .twoPass)
  }
}

let isDebugBuild: Bool = {
  #if DEBUG
    true
  #else
    false
  #endif
}()
