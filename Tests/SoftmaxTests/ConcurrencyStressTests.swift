import Dispatch
import Foundation
import Softmax
import Synchronization
import Testing
import _SoftmaxTestSupport

// Many callers on the one worker pool at once: each asks for two threads on rows long enough
// to be cut into chunks (more than RowChunks.minimumLength = 2^16 elements), and on batches
// whose rows the engine spreads over the pool, so callers race to claim the pool, run beside
// it, and hand it over. Every result must be bitwise the one computed on one thread first.
// scripts/sanitize.sh runs this suite under ThreadSanitizer, where any unsynchronized access
// to the pool's job fields would be reported. Sized for a debug `swift test` and for
// TSan: about 30 calls of some 300,000 elements each.

/// The inputs and their one-thread results.
private struct StressCase: Sendable {
  static let longLength = (1 << 16) + 4099
  static let batchShape = [16, 1000]

  let long = randomInputs(count: longLength, distribution: .standardNormal, scale: 8, seed: 41)
  let batch = randomInputs(count: 16_000, distribution: .standardNormal, scale: 4, seed: 42)
  let longLabel: [Int32] = [Int32(longLength / 3)]
  let batchLabels = (0..<16).map { Int32($0 * 37 % 1000) }

  /// What one caller computes, in one flat array of bit patterns so that results compare
  /// exactly (NaN included) and a difference anywhere is found.
  func results(threads: Int, algorithm: SoftmaxAlgorithm) -> [UInt32] {
    var gradient = [Float]()
    let loss = crossEntropy(
      logits: long, shape: [1, long.count], labels: longLabel, gradient: &gradient,
      threads: threads)
    var batchGradient = [Float]()
    let batchLoss = crossEntropy(
      logits: batch, shape: Self.batchShape, labels: batchLabels, gradient: &batchGradient,
      threads: threads)
    let parts = [
      softmax(long, algorithm: algorithm, threads: threads),
      logSoftmax(long, threads: threads),
      softmax(batch, shape: Self.batchShape, algorithm: algorithm, threads: threads),
      logSoftmax(batch, shape: Self.batchShape, threads: threads),
      gradient, batchGradient, [loss, batchLoss],
    ]
    return parts.flatMap { $0.map(\.bitPattern) }
  }
}

@Suite("Concurrent callers of the worker pool")
struct ConcurrencyStressTests {
  private static let stress = StressCase()
  private static let algorithms: [SoftmaxAlgorithm] = [.auto, .twoPass, .online, .threePassReload]

  @Test("the one-thread results the stress compares with are right")
  func serialResultsAreAccurate() {
    let stress = Self.stress
    let y = softmax(stress.long, threads: 1)
    let exact = ReferenceSoftmax.softmax(stress.long)
    let worst = zip(y, exact).map { abs(Double($0) - $1) / max($1, 0x1p-124) }.max()!
    #expect(worst <= 1e-5, "relative error \(worst)")
    var gradient = [Float]()
    let loss = crossEntropy(
      logits: stress.long, shape: [1, stress.long.count], labels: stress.longLabel,
      gradient: &gradient, threads: 1)
    let reference = ReferenceTraining.crossEntropy(
      stress.long.map(Double.init), label: Int(stress.longLabel[0]))
    #expect(abs(Double(loss) - reference.loss) <= 1e-5 * max(1, reference.loss))
  }

  @Test("8 threads calling at once get the one-thread results, bit for bit")
  func manyThreads() {
    let stress = Self.stress
    let expected = Self.algorithms.map { stress.results(threads: 1, algorithm: $0) }
    let mismatches = Mismatches()
    let group = DispatchGroup()
    for caller in 0..<8 {
      group.enter()
      // Threads of their own, not tasks: the cooperative pool would run only as many
      // callers at once as there are CPUs.
      let thread = Thread {
        for round in 0..<2 {
          let index = (caller + round) % Self.algorithms.count
          if stress.results(threads: 2, algorithm: Self.algorithms[index]) != expected[index] {
            mismatches.list.withLock { $0.append("caller \(caller) round \(round) \(index)") }
          }
        }
        group.leave()
      }
      thread.start()
    }
    group.wait()
    #expect(mismatches.list.withLock { $0 }.isEmpty)
  }

  @Test("16 tasks calling at once get the one-thread results, bit for bit")
  func manyTasks() async {
    let stress = Self.stress
    let expected = stress.results(threads: 1, algorithm: .auto)
    let same = await withTaskGroup(of: Bool.self) { group in
      for _ in 0..<16 {
        group.addTask { stress.results(threads: 2, algorithm: .auto) == expected }
      }
      return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
    }
    #expect(same == 16)
  }
}

/// The callers' failures (a class: threads' closures cannot capture a `Mutex` itself).
private final class Mismatches: Sendable {
  let list = Mutex<[String]>([])
}
