import Foundation
import SoftmaxKernels
import Testing
import _SoftmaxCKernels
import _SoftmaxTestSupport

/// Every pass kernel of every kernel set this CPU runs, against Double references, at every
/// length 0…70 (all tails of 8- and 16-lane vectors) and at misaligned addresses.
@Suite("Pass kernels of every kernel set")
struct PassKernelTests {
  static let lengths = Array(0...70) + [127, 128, 129, 4095, 4096, 4097, 10_001]

  /// Runs `body` with `x` copied `offset` floats into a buffer and an output of the same
  /// count at a different misalignment.
  func withBuffers(
    _ x: [Float], offset: Int,
    _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
  ) {
    let input = UnsafeMutablePointer<Float>.allocate(capacity: x.count + 32)
    let output = UnsafeMutablePointer<Float>.allocate(capacity: x.count + 32)
    defer {
      input.deallocate()
      output.deallocate()
    }
    (input + offset).initialize(from: x, count: x.count)
    output.initialize(repeating: .nan, count: x.count + 32)
    body(input + offset, output + (offset + 5) % 16)
  }

  @Test("max", arguments: KernelISA.allCases)
  func max(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    for count in Self.lengths {
      let x = randomInputs(count: count, distribution: .paperUniform, seed: UInt64(count))
      withBuffers(x, offset: count % 16) { input, _ in
        #expect(kernels.max(input, count) == (x.max() ?? -.infinity), "\(isa) n=\(count)")
      }
    }
  }

  @Test("Two-Pass sum: (m, n) equals Σ e^x in Double", arguments: KernelISA.allCases)
  func twoPassSum(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    for count in Self.lengths where count > 0 {
      for scale: Float in [1, 30, 500] {
        let x = randomInputs(count: count, distribution: .standardNormal, scale: scale, seed: 3)
        withBuffers(x, offset: count % 7) { input, _ in
          let sum = kernels.twoPassSum(input, count)
          let maximum = Double(x.max()!)
          let reference = ReferenceSoftmax.compensatedSum(x.map { exp(Double($0) - maximum) })
          // log(m · 2^n) against log Σ e^x = max + log Σ e^(x − max).
          let logSum = log(sum.mantissa) + Double(sum.exponent) * log(2.0)
          let error = abs(logSum - (maximum + log(reference)))
          #expect(error <= 2e-6, "\(isa) n=\(count) ×\(scale): log-sum error \(error)")
        }
      }
    }
  }

  // On CPUs with fast subnormals the AVX-512 set's pass 1 drops the masks that keep its terms
  // normal (avx512_kernels.c, `twopass_sum`); its sums must be those of the masked kernel.
  // Wide rows (the paper's uniform [−1000, 1000], normal × 300) make many terms that the masks
  // write as 0; the others add −inf, ±greatestFiniteMagnitude and lone huge entries.
  @Test("AVX-512 Two-Pass sum without its masks: the same bits")
  func unmaskedTwoPassSum() {
    guard PassKernels.table(for: .avx512) != nil else { return }
    var generator = SeededGenerator(seed: 77)
    var compared = 0
    for row in 0..<600 {
      let count = row < 100 ? row + 1 : Int.random(in: 1...20_000, using: &generator)
      var x: [Float]
      switch row % 4 {
      case 0: x = randomInputs(count: count, distribution: .paperUniform, seed: UInt64(row))
      case 1:
        x = randomInputs(count: count, distribution: .standardNormal, scale: 300, seed: UInt64(row))
      case 2:
        x = randomInputs(count: count, distribution: .standardNormal, scale: 20, seed: UInt64(row))
      default:
        x = randomInputs(count: count, distribution: .paperUniform, seed: UInt64(row))
        for _ in 0..<Swift.max(1, count / 50) {
          let special: [Float] = [
            -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 3000, -90,
          ]
          x[Int.random(in: 0..<count, using: &generator)] = special.randomElement(
            using: &generator)!
        }
      }
      let (masked, unmasked) = x.withUnsafeBufferPointer {
        (
          softmax_twopass_sum_avx512_u64_acc1($0.baseAddress!, count),
          softmax_twopass_sum_avx512_u64_acc1_unmasked($0.baseAddress!, count)
        )
      }
      let same =
        masked.mantissa.bitPattern == unmasked.mantissa.bitPattern
        && masked.exponent.bitPattern == unmasked.exponent.bitPattern
        && masked.has_nan == unmasked.has_nan
      #expect(
        same,
        "row \(row) n=\(count): \(masked.mantissa) · 2^\(masked.exponent) against \(unmasked.mantissa) · 2^\(unmasked.exponent)"
      )
      compared += count
    }
    #expect(compared > 2_000_000)
  }

  @Test("Two-Pass sum reports NaN wherever it is", arguments: KernelISA.allCases)
  func twoPassSumNaN(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    for count in [1, 7, 16, 33, 64, 65, 200] {
      for position in [0, count / 2, count - 1] {
        var x = randomInputs(count: count, distribution: .uniform, seed: 1)
        x[position] = .nan
        withBuffers(x, offset: 3) { input, _ in
          #expect(kernels.twoPassSum(input, count).mantissa.isNaN, "\(isa) n=\(count) @\(position)")
        }
      }
    }
  }

  @Test("sums of e^(x − max), with and without storing the terms", arguments: KernelISA.allCases)
  func sumExp(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    for count in Self.lengths where count > 0 {
      let x = randomInputs(count: count, distribution: .standardNormal, scale: 10, seed: 8)
      let shift = x.max()!
      // The kernels subtract in Float, as the Three-Pass algorithms do; the reference uses the
      // same rounded differences, so this checks the exponential and the summation.
      let terms = x.map { exp(Double($0 - shift)) }
      let reference = ReferenceSoftmax.compensatedSum(terms)
      withBuffers(x, offset: count % 9) { input, output in
        let plain = kernels.sumExp(input, count, shift)
        let stored = kernels.sumAndStoreExp(input, output, count, shift)
        #expect(abs(plain - reference) <= 1e-6 * reference, "\(isa) n=\(count)")
        #expect(plain == stored, "\(isa) n=\(count): the two sums differ")
        // The portable exp is within 2 ulp; the C kernels' Three-Pass exp trades accuracy
        // for speed (one-constant reduction): within 4.1e-7 (exp_constants.h).
        let tolerance = isa == .portable ? 3e-7 : 5e-7
        for i in 0..<count where terms[i] >= 0x1p-125 {
          #expect(
            abs(Double(output[i]) - terms[i]) <= tolerance * terms[i], "\(isa) n=\(count) [\(i)]")
        }
        #expect(output[count].isNaN, "\(isa) n=\(count): wrote past the end")
      }
    }
  }

  @Test(
    "output passes: streaming stores give the same values as ordinary ones",
    arguments: KernelISA.allCases)
  func streamingMatches(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    for count in Self.lengths {
      let x = randomInputs(count: count, distribution: .standardNormal, scale: 5, seed: 4)
      for offset in [0, 1, 7] {
        var results: [[Float]] = []
        for stream in [false, true] {
          withBuffers(x, offset: offset) { input, output in
            let sum = kernels.twoPassSum(input, count)
            let (mi, bias) = sum.outputParameters
            kernels.twoPassOutput(input, output, count, mi, bias, stream)
            var row = Array(UnsafeBufferPointer(start: output, count: count))
            kernels.expScaledOutput(input, output, count, x.max() ?? 0, 0.5, 1e-30, stream)
            row += UnsafeBufferPointer(start: output, count: count)
            kernels.scale(output, output, count, 3, 1e-29, stream)
            row += UnsafeBufferPointer(start: output, count: count)
            // From a separate buffer (where reload streams): the input as exponentials.
            kernels.scale(input, output, count, 0.25, 1e-29, stream)
            kernels.storeFence()
            let scaled = Array(UnsafeBufferPointer(start: output, count: count))
            #expect(
              scaled == x.map { $0 < 1e-29 ? 0 : $0 * 0.25 }, "\(isa) n=\(count) scale into")
            row += scaled
            #expect(output[count].isNaN, "\(isa) n=\(count): wrote past the end")
            results.append(row)
          }
        }
        #expect(results[0] == results[1], "\(isa) n=\(count) offset \(offset)")
      }
    }
  }

  @Test("kernel sets agree with the portable one within a few ulp", arguments: KernelISA.allCases)
  func agreeWithPortable(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    let count = 1000
    let x = randomInputs(count: count, distribution: .paperUniform, seed: 12)
    var outputs: [[Float]] = []
    for table in [PassKernels.portable, kernels] {
      withBuffers(x, offset: 0) { input, output in
        let (mi, bias) = table.twoPassSum(input, count).outputParameters
        table.twoPassOutput(input, output, count, mi, bias, false)
        outputs.append(Array(UnsafeBufferPointer(start: output, count: count)))
      }
    }
    for (a, b) in zip(outputs[0], outputs[1]) where Swift.max(a, b) >= 0x1p-120 {
      #expect(ulpDistance(a, b) <= 4, "\(isa): \(a) vs portable \(b)")
    }
  }

  @Test("the widest supported set is selected, and SOFTMAX_ISA names are the raw values")
  func selection() {
    #expect(PassKernels.available.first?.isa == .portable)
    if ProcessInfo.processInfo.environment["SOFTMAX_ISA"] == nil {
      #expect(PassKernels.selected.isa == PassKernels.available.last?.isa)
    }
    #expect(KernelISA(rawValue: "avx512") == .avx512)
  }

  @Test("cache sizes parse as sysfs writes them")
  func cacheSizes() {
    #expect(CacheInfo.parseCacheSize("32768K\n") == 32 << 20)
    #expect(CacheInfo.parseCacheSize("2M") == 2 << 20)
    #expect(CacheInfo.parseCacheSize("512") == 512)
    #expect(CacheInfo.parseCacheSize("") == nil)
    #expect(CacheInfo.lastLevelBytes >= 1 << 20)
  }
}
