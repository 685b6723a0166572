import Foundation
import Softmax
import Testing

@testable import SoftmaxBench

/// The roofline kernels must really move the bytes they claim; a kernel that the compiler
/// could hollow out would make every "% of roofline" meaningless.
@Suite struct RooflineTests {
  @Test(arguments: [1, 2, 3])
  func writeKernelsCopyTheInputExactly(threads: Int) {
    for count in [1, 17, 1000, 5000, 65_537] {
      let buffers = BenchBuffers(
        count: count, hot: true, llcBytes: 1 << 20, distribution: .normal, seed: 7,
        threads: threads)
      let input = UnsafeBufferPointer(start: buffers.input, count: count)
      for kernel in RooflineKernel.kernels(
        for: SoftmaxAlgorithm.allCases, streamingAvailable: true) where kernel.traffic.writes > 0
      {
        let output = buffers.nextOutput()
        output.update(repeating: .nan, count: count)
        kernel.run(
          input: buffers.input, output: output, count: count, threads: threads,
          sink: buffers.sink)
        #expect(
          Array(UnsafeBufferPointer(start: output, count: count)) == Array(input),
          "\(kernel.name), \(count) floats, \(threads) threads")
      }
    }
  }

  @Test func kernelSetCoversEveryAlgorithmsTraffic() {
    let kernels = RooflineKernel.kernels(for: SoftmaxAlgorithm.allCases, streamingAvailable: true)
    let names = kernels.map(\.name)
    #expect(names.prefix(3) == ["read 1R", "copy 1R+1W", "copy 1R+1W nt"])
    for algorithm in SoftmaxAlgorithm.allCases {
      #expect(kernels.contains { $0.traffic == algorithm.memoryTraffic && !$0.streaming })
      #expect(kernels.contains { $0.traffic == algorithm.memoryTraffic && $0.streaming })
    }
    #expect(Set(names).count == names.count)
    let noStreaming = RooflineKernel.kernels(for: [.twoPass], streamingAvailable: false)
    #expect(noStreaming.allSatisfy { !$0.streaming })
  }

  @Test func readKernelSumsEveryElement() {
    let values = (0..<1001).map { Float($0 % 7) }
    let sum = values.withUnsafeBufferPointer {
      RooflinePasses.sum($0.baseAddress!, $0.count, startingAt: 0)
    }
    #expect(sum == values.reduce(0, +))
  }

  @Test func coldOutputsSpanEightCachesAndAtLeast256MiB() {
    let llc = 32 << 20
    #expect(BenchBuffers.slotCount(count: 1024, hot: false, llcBytes: llc) == 65536)
    #expect(BenchBuffers.slotCount(count: 1 << 22, hot: false, llcBytes: llc) == 16)
    #expect(BenchBuffers.slotCount(count: 1 << 24, hot: false, llcBytes: llc) == 4)
    #expect(BenchBuffers.slotCount(count: 1 << 26, hot: false, llcBytes: llc) == 1)
    #expect(BenchBuffers.slotCount(count: 1024, hot: true, llcBytes: llc) == 1)
    // A 96 MiB cache: eight of them, 768 MiB, more than the 256 MiB floor.
    #expect(BenchBuffers.slotCount(count: 1 << 22, hot: false, llcBytes: 96 << 20) == 48)
  }

  @Test func largeBuffersAreHugePageAligned() {
    let buffer = BenchBuffers.allocate(floats: 3 << 19)
    defer { free(buffer) }
    #expect(UInt(bitPattern: buffer) % UInt(2 << 20) == 0)
    let small = BenchBuffers.allocate(floats: 100)
    defer { free(small) }
    #expect(UInt(bitPattern: small) % 64 == 0)
  }

  @Test func statisticsTakeTheMedian() {
    let odd = SampleStatistics([5, 1, 3])
    #expect(odd.median == 3 && odd.minimum == 1 && odd.maximum == 5)
    #expect(SampleStatistics([4, 1, 3, 2]).median == 2.5)
  }

  @Test func inputsAreReproducibleAndInRange() {
    var a = [Float](repeating: 0, count: 1000)
    var b = a
    a.withUnsafeMutableBufferPointer { InputDistribution.uniform.fill($0, seed: 3) }
    b.withUnsafeMutableBufferPointer { InputDistribution.uniform.fill($0, seed: 3) }
    #expect(a == b)
    #expect(a.allSatisfy { $0 >= -1000 && $0 <= 1000 })
    #expect(a.min()! < -900 && a.max()! > 900)
  }
}
