import Softmax
import Testing
import _SoftmaxTestSupport

@Suite("Public API")
struct APITests {
  @Test("array, inout-array, in-place and buffer forms give the same result")
  func forms() {
    let x = randomInputs(count: 333, distribution: .standardNormal, seed: 21)
    for algorithm in SoftmaxAlgorithm.allCases {
      let viaBuffers = runSoftmax(x, algorithm)
      #expect(softmax(x, algorithm: algorithm) == viaBuffers)
      var y = [Float](repeating: 0, count: x.count)
      softmax(x, into: &y, algorithm: algorithm)
      #expect(y == viaBuffers)
      var z = x
      softmaxInPlace(&z, algorithm: algorithm)
      #expect(z == viaBuffers)
    }
    #expect(softmax(x) == runSoftmax(x, .auto), "the default algorithm is .auto")
  }

  @Test("empty input gives empty output through every form")
  func empty() {
    let empty: [Float] = []
    #expect(softmax(empty).isEmpty)
    var y: [Float] = []
    softmax(empty, into: &y)
    #expect(y.isEmpty)
    softmax(
      UnsafeBufferPointer<Float>(start: nil, count: 0),
      into: UnsafeMutableBufferPointer<Float>(start: nil, count: 0))
  }

  @Test("algorithm names round-trip and memory traffic matches the paper")
  func algorithmMetadata() {
    for algorithm in SoftmaxAlgorithm.allCases {
      #expect(SoftmaxAlgorithm(name: algorithm.description) == algorithm)
      #expect(SoftmaxAlgorithm(name: algorithm.rawValue) == algorithm)
    }
    #expect(SoftmaxAlgorithm(name: "four-pass") == nil)
    #expect(SoftmaxAlgorithm.twoPass.memoryTraffic.bytesPerElement() == 12)
    #expect(SoftmaxAlgorithm.threePassRecompute.memoryTraffic.bytesPerElement() == 16)
    #expect(SoftmaxAlgorithm.threePassReload.memoryTraffic.bytesPerElement() == 20)
  }

  @Test("usable from many tasks at once")
  func concurrentUse() async {
    let x = randomInputs(count: 10_000, distribution: .paperUniform, seed: 2)
    let expected = softmax(x)
    await withTaskGroup(of: Bool.self) { group in
      for _ in 0..<8 { group.addTask { softmax(x) == expected } }
      for await same in group { #expect(same) }
    }
  }

  @Test("mismatched lengths trap with a message naming both lengths")
  func mismatchedLengths() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      var y = [Float](repeating: 0, count: 3)
      softmax([1, 2, 3, 4, 5] as [Float], into: &y)
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(message.contains("input has 5 elements but the output has 3"), "\(message)")
  }

  @Test("a thread count below 1 traps with a message")
  func invalidThreads() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      var y = [Float](repeating: 0, count: 3)
      softmax([1, 2, 3] as [Float], into: &y, algorithm: .auto, threads: 0)
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(message.contains("threads must be nil (automatic) or at least 1, not 0"), "\(message)")
  }

  @Test("partly overlapping buffers trap")
  func partialOverlap() async {
    await #expect(processExitsWith: .failure) {
      var storage = [Float](repeating: 1, count: 10)
      storage.withUnsafeMutableBufferPointer { b in
        softmax(
          UnsafeBufferPointer(rebasing: b[0..<6]),
          into: UnsafeMutableBufferPointer(rebasing: b[2..<8]))
      }
    }
  }
}
