import Foundation
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// Pass 1 of the online softmax in every kernel set this CPU runs: (maximum, Σ e^(x − max))
/// against a Double reference at every length 0…70 and some long ones, misaligned, and its
/// handling of NaN, −inf and +inf.
@Suite("Online softmax pass 1 of every kernel set")
struct OnlineKernelTests {
  static let lengths = Array(0...70) + [127, 128, 129, 4095, 4096, 4097, 10_001, 70_000]

  /// Runs `body` on `x` copied `offset` floats into a fresh buffer.
  func withInput<R>(_ x: [Float], offset: Int, _ body: (UnsafePointer<Float>) -> R) -> R {
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: x.count + 16)
    defer { buffer.deallocate() }
    (buffer + offset).initialize(from: x, count: x.count)
    return body(buffer + offset)
  }

  /// The exact maximum and Σ e^(x − max) in Double (the differences taken in Double).
  func reference(_ x: [Float]) -> OnlineSum {
    guard let maximum = x.max(), maximum > -.infinity else { return .empty }
    let terms = x.map { exp(Double($0) - Double(maximum)) }
    return OnlineSum(maximum: maximum, sum: ReferenceSoftmax.compensatedSum(terms))
  }

  /// Relative error of the kernel's sum, after checking that the maximum is exact.
  func sumError(_ kernels: PassKernels, _ x: [Float], offset: Int, _ label: String) -> Double {
    let result = withInput(x, offset: offset) { kernels.onlineSum($0, x.count) }
    let expected = reference(x)
    #expect(result.maximum == expected.maximum, "\(label): maximum \(result.maximum)")
    if expected.sum == 0 {
      #expect(result.sum == 0, "\(label): sum \(result.sum) of an empty row")
      return 0
    }
    return abs(result.sum - expected.sum) / expected.sum
  }

  @Test("(maximum, sum) against Double at every length, misaligned", arguments: KernelISA.allCases)
  func againstReference(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    var worst = 0.0
    for count in Self.lengths {
      for (distribution, scale) in [
        (InputDistribution.standardNormal, Float(1)), (.standardNormal, 10), (.paperUniform, 1),
        (.uniform, 1e-3),
      ] {
        let x = randomInputs(
          count: count, distribution: distribution, scale: scale, seed: UInt64(count) + 11)
        let label = "\(isa) n=\(count) \(distribution)×\(scale)"
        let error = sumError(kernels, x, offset: count % 13, label)
        worst = Swift.max(worst, error)
        #expect(error <= 2e-6, "\(label): relative sum error \(error)")
      }
    }
    print("online sum, \(isa): largest relative error \(worst)")
  }

  @Test(
    "sorted rows (a new maximum at every step, or never) and shifted rows",
    arguments: KernelISA.allCases)
  func sortedAndShifted(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    for count in [1, 17, 64, 1000, 4096, 4097, 50_000] {
      let base = randomInputs(count: count, distribution: .standardNormal, scale: 3, seed: 5)
      let rows: [(String, [Float])] = [
        ("ascending", base.sorted()), ("descending", base.sorted(by: >)),
        ("slow ramp", (0..<count).map { Float($0) * 1e-4 }),
        ("shifted +1e4", base.map { $0 + 10_000 }), ("shifted −1e30", base.map { $0 - 1e30 }),
        ("constant", [Float](repeating: 7, count: count)),
      ]
      for (name, x) in rows {
        let label = "\(isa) n=\(count) \(name)"
        let error = sumError(kernels, x, offset: 3, label)
        #expect(error <= 3e-6, "\(label): relative sum error \(error)")
      }
    }
  }

  /// The worst case of the recurrence: an ascending row with a small constant step makes every
  /// element a new maximum, so each lane rescales its sum at every element by the same
  /// e^(−step), rounded to Float the same way each time. Up to 128 elements per lane in a
  /// 4096-element block (32 lanes in the portable and AVX2 kernels, 64 with AVX-512) bound the
  /// error to about 64 roundings near 1 (2e-6); blocks merge in Double.
  @Test("ascending ramps of many step sizes", arguments: KernelISA.allCases)
  func ramps(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    var worst = 0.0
    for k in stride(from: 1, through: 400, by: 3) {
      let step = Float(k) * 2.5e-6
      let x = (0..<8192).map { Float($0) * step }
      let error = sumError(kernels, x, offset: 0, "\(isa) ramp step \(step)")
      worst = Swift.max(worst, error)
      #expect(error <= 3e-6, "\(isa) ramp step \(step): relative sum error \(error)")
    }
    print("online sum, \(isa): largest relative error on ramps \(worst)")
  }

  @Test("a NaN anywhere makes the sum NaN", arguments: KernelISA.allCases)
  func nanIsReported(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    for count in [1, 7, 8, 16, 33, 64, 65, 200, 4097, 9000] {
      for position in Set([0, count / 2, count - 1]) {
        var x = randomInputs(count: count, distribution: .standardNormal, seed: 2)
        x[position] = .nan
        let result = withInput(x, offset: 1) { kernels.onlineSum($0, count) }
        #expect(result.sum.isNaN, "\(isa) n=\(count) @\(position): \(result)")
        #expect(!result.maximum.isNaN, "\(isa) n=\(count) @\(position): \(result)")
        // A NaN among −inf only: the sum still says NaN.
        var masked = [Float](repeating: -.infinity, count: count)
        masked[position] = .nan
        let maskedResult = withInput(masked, offset: 2) { kernels.onlineSum($0, count) }
        #expect(maskedResult.sum.isNaN, "\(isa) n=\(count) @\(position) among −inf")
      }
    }
  }

  @Test(
    "−inf entries contribute nothing; rows of only −inf give (−inf, 0)",
    arguments: KernelISA.allCases)
  func negativeInfinity(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    for count in Self.lengths where count > 0 {
      let allNegative = [Float](repeating: -.infinity, count: count)
      let empty = withInput(allNegative, offset: count % 5) { kernels.onlineSum($0, count) }
      #expect(empty == .empty, "\(isa) n=\(count) all −inf: \(empty)")
      // Every other entry −inf (so every lane starts with −inf in some rows), and a row that
      // is −inf except for its last entry.
      var x = randomInputs(count: count, distribution: .standardNormal, scale: 5, seed: 9)
      for i in stride(from: 0, to: count, by: 2) { x[i] = -.infinity }
      let error = sumError(kernels, x, offset: 1, "\(isa) n=\(count) half −inf")
      #expect(error <= 2e-6, "\(isa) n=\(count) half −inf: \(error)")
      var single = allNegative
      single[count - 1] = -3
      let one = withInput(single, offset: 0) { kernels.onlineSum($0, count) }
      #expect(one == OnlineSum(maximum: -3, sum: 1), "\(isa) n=\(count) one finite: \(one)")
    }
    #expect(withInput([], offset: 0) { kernels.onlineSum($0, 0) } == .empty)
  }

  @Test(
    "+inf makes the maximum +inf; extreme finite values give no NaN", arguments: KernelISA.allCases)
  func extremes(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    let big = Float.greatestFiniteMagnitude
    for count in [1, 5, 16, 40, 100, 5000] {
      for position in Set([0, count / 3, count - 1]) {
        var x = randomInputs(count: count, distribution: .standardNormal, seed: 4)
        x[position] = .infinity
        let result = withInput(x, offset: 1) { kernels.onlineSum($0, count) }
        #expect(result.maximum == .infinity, "\(isa) n=\(count) +inf @\(position): \(result)")
      }
      let rows: [[Float]] = [
        (0..<count).map { $0 % 2 == 0 ? -big : big },
        (0..<count).map { $0 % 3 == 0 ? big : -big },
        [Float](repeating: -big, count: count),
        (0..<count).map { $0 % 2 == 0 ? -1e30 : 1e30 },
      ]
      for x in rows {
        let error = sumError(kernels, x, offset: 2, "\(isa) n=\(count) extremes \(x.prefix(3))")
        #expect(error <= 1e-6, "\(isa) n=\(count) extremes: \(error)")
      }
    }
  }

  /// Rows keep one per chunk in `withUnsafeTemporaryAllocation`, which leaves the stack for
  /// the heap beyond a size: at 24 bytes, rows of 2^23 floats allocated (`AllocationTests`,
  /// release), so the spread sits in the padding after the maximum.
  @Test("OnlineSum stays 16 bytes")
  func size() {
    #expect(MemoryLayout<OnlineSum>.stride == 16)
  }

  @Test("merging the sums of the parts of a row gives the sum of the row")
  func mergeOfParts() {
    #expect(OnlineSum.empty.merged(with: .empty) == .empty)
    let one = OnlineSum(maximum: 2, sum: 1)
    #expect(OnlineSum.empty.merged(with: one) == one)
    #expect(one.merged(with: .empty) == one)
    let infinite = OnlineSum(maximum: .infinity, sum: 1)
    #expect(infinite.merged(with: infinite).sum == 2)
    #expect(one.merged(with: OnlineSum(maximum: 1, sum: .nan)).sum.isNaN)
    for table in PassKernels.available {
      let x = randomInputs(count: 20_000, distribution: .standardNormal, scale: 4, seed: 21)
      let whole = reference(x)
      for cut in [1, 100, 4096, 13_001] {
        let merged = x.withUnsafeBufferPointer { b in
          table.onlineSum(b.baseAddress!, cut).merged(
            with: table.onlineSum(b.baseAddress! + cut, x.count - cut))
        }
        #expect(merged.maximum == whole.maximum)
        #expect(abs(merged.sum - whole.sum) <= 2e-6 * whole.sum, "\(table.isa) cut \(cut)")
      }
    }
  }
}
