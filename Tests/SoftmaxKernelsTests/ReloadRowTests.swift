import Foundation
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// `PassKernels.reloadRow`, the one-call Three-Pass reload of a short row, on every kernel set
/// that has one: bitwise the three kernels called in turn (what the library did before, and
/// still does on the other sets; the AVX-512 row skips their compares when the row's minimum
/// allows), within 1e-5 of the Double softmax, and rows whose maximum is not finite left
/// untouched for the caller's special-value contract.
@Suite("One-call reload of a short row")
struct ReloadRowTests {
  static let lengths = Array(2...70) + [127, 1023, 1024, 1025, 4097, 1 << 16]

  /// The three kernels in turn, as `RowAlgorithms.singleChunkReload` calls them; nil where the
  /// maximum is not finite.
  func composed(_ kernels: PassKernels, _ x: [Float], stream: Bool) -> [Float]? {
    var y = [Float](repeating: 7, count: x.count)
    let written = x.withUnsafeBufferPointer { input in
      y.withUnsafeMutableBufferPointer { output -> Bool in
        let (p, q, n) = (input.baseAddress!, output.baseAddress!, x.count)
        let maximum = kernels.max(p, n)
        guard maximum.isFinite else { return false }
        let sum = kernels.sumAndStoreExp(p, q, n, maximum)
        guard !sum.isNaN else {
          q.update(repeating: .nan, count: n)
          return true
        }
        let scale = Float(1 / sum)
        kernels.scale(q, q, n, scale, flushThreshold(inverseSum: scale), stream)
        kernels.storeFence()
        return true
      }
    }
    return written ? y : nil
  }

  /// The one-call kernel on `x` placed `offset` floats into its buffer (and y likewise), so
  /// that the vector loops meet every misalignment; nil where it declined.
  func oneCall(
    _ reloadRow: ReloadRowKernel, _ x: [Float], offset: Int, stream: Bool
  ) -> [Float]? {
    var input = [Float](repeating: 0, count: offset) + x
    var output = [Float](repeating: 7, count: offset + x.count)
    let status = input.withUnsafeMutableBufferPointer { i in
      output.withUnsafeMutableBufferPointer { o in
        reloadRow(i.baseAddress! + offset, o.baseAddress! + offset, x.count, stream ? 1 : 0)
      }
    }
    if status == 0 {
      #expect(output.allSatisfy { $0 == 7 }, "declined, yet wrote")
      return nil
    }
    return Array(output[offset...])
  }

  func rows(count: Int) -> [(String, [Float])] {
    let normal = randomInputs(count: count, distribution: .standardNormal, scale: 9, seed: 7)
    // Exponentials spanning 2^-200: outputs at the flush threshold and zeros below it.
    let wide = randomInputs(count: count, distribution: .uniform, scale: 140, seed: 8)
    var withNegativeInfinity = normal
    withNegativeInfinity[count / 2] = -.infinity
    var withNaN = normal
    withNaN[count - 1] = .nan
    var withInfinity = normal
    withInfinity[0] = .infinity
    // One 1 and exponentials from e^-86.2 to e^-87.2, around 2^-125 · Σ (the flush threshold)
    // and inside the exp's underflow cut: where the kernel's minimum decides whether the
    // compares can go, its margin matters.
    let nearThreshold = (0..<count).map { $0 == 0 ? 0 : -86.2 - Float($0 % 97) / 97 }
    return [
      ("normal", normal), ("wide", wide), ("near the flush threshold", nearThreshold),
      ("one −inf", withNegativeInfinity),
      ("one NaN", withNaN), ("one +inf", withInfinity),
      ("all −inf", [Float](repeating: -.infinity, count: count)),
    ]
  }

  @Test("bitwise the three kernels in turn", arguments: KernelISA.allCases)
  func matchesThreeKernels(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa), let reloadRow = kernels.reloadRow else {
      return
    }
    for count in Self.lengths {
      for (name, x) in rows(count: count) {
        for stream in [false, true] {
          let expected = composed(kernels, x, stream: stream)
          for offset in count > 2000 ? [0, 3] : [0, 1, 5] {
            let got = oneCall(reloadRow, x, offset: offset, stream: stream)
            let context = "\(isa) n=\(count) \(name) offset \(offset) stream \(stream)"
            guard let got, let expected else {
              #expect((got == nil) == (expected == nil), "\(context): only one declined")
              continue
            }
            if let i = got.indices.first(where: { got[$0].bitPattern != expected[$0].bitPattern }) {
              Issue.record("\(context): y[\(i)] = \(got[i]) against \(expected[i])")
            }
          }
        }
      }
    }
  }

  /// `reloadSum`: the maximum and sum-and-store kernels' bits, the spread, and a threshold from
  /// `flushThreshold(inverseSum:spread:)` that scales to the same bits as the plain threshold,
  /// for the softmax's scale and for the smaller and larger ones of a loss's gradient.
  @Test("the one-call first passes, and the threshold their spread allows")
  func reloadSum() {
    for isa in KernelISA.allCases {
      guard let kernels = PassKernels.table(for: isa), let reloadSum = kernels.reloadSum else {
        continue
      }
      for count in Self.lengths {
        for (name, x) in rows(count: count) {
          let context = "\(isa) n=\(count) \(name)"
          var stored = [Float](repeating: 7, count: count)
          var maximum: Float = 0
          var spread: Float = 0
          let sum = x.withUnsafeBufferPointer { p in
            stored.withUnsafeMutableBufferPointer {
              reloadSum(p.baseAddress!, $0.baseAddress!, count, &maximum, &spread)
            }
          }
          let expectedMaximum = x.withUnsafeBufferPointer { kernels.max($0.baseAddress!, count) }
          #expect(maximum.bitPattern == expectedMaximum.bitPattern, "\(context) maximum")
          if !x.contains(where: \.isNaN) {
            let expectedSpread = x.min()! - x.max()!
            #expect(
              spread == expectedSpread || spread.isNaN && expectedSpread.isNaN,
              "\(context) spread")
          }
          guard maximum.isFinite else {
            #expect(stored.allSatisfy { $0 == 7 }, "\(context): declined, yet wrote")
            continue
          }
          var expected = [Float](repeating: 7, count: count)
          let expectedSum = x.withUnsafeBufferPointer { p in
            expected.withUnsafeMutableBufferPointer {
              kernels.sumAndStoreExp(p.baseAddress!, $0.baseAddress!, count, maximum)
            }
          }
          #expect(
            sum.bitPattern == expectedSum.bitPattern
              && stored.map(\.bitPattern)
                == expected.map(\.bitPattern),
            "\(context) sum and exponentials")
          guard !sum.isNaN else { continue }
          for factor in [1, 0x1p-12, 3] as [Double] {
            let scale = Float(factor / sum)
            func scaled(_ threshold: Float) -> [Float] {
              var y = [Float](repeating: 7, count: count)
              stored.withUnsafeBufferPointer { e in
                y.withUnsafeMutableBufferPointer {
                  kernels.scale(e.baseAddress!, $0.baseAddress!, count, scale, threshold, false)
                }
              }
              return y
            }
            let plain = scaled(flushThreshold(inverseSum: scale))
            let allowed = scaled(flushThreshold(inverseSum: scale, spread: spread))
            #expect(
              plain.map(\.bitPattern) == allowed.map(\.bitPattern), "\(context) scale \(factor)")
          }
        }
      }
    }
  }

  @Test("within 1e-5 of the Double softmax; declines only rows whose maximum is not finite")
  func againstReference() {
    for isa in KernelISA.allCases {
      guard let reloadRow = PassKernels.table(for: isa)?.reloadRow else { continue }
      for count in Self.lengths {
        for (name, x) in rows(count: count) {
          let got = oneCall(reloadRow, x, offset: 0, stream: false)
          if x.contains(where: \.isNaN) {
            // Whether the maximum kernel reports a NaN depends on where it is; either way the
            // row ends NaN (here, or by the caller's contract).
            #expect(got?.allSatisfy(\.isNaN) ?? true, "\(isa) n=\(count) \(name)")
            continue
          }
          let finiteMaximum = x.contains { $0.isFinite } && !x.contains(.infinity)
          #expect((got != nil) == finiteMaximum, "\(isa) n=\(count) \(name)")
          guard let got else { continue }
          for (value, exact) in zip(got, ReferenceSoftmax.softmax(x)) {
            // Below 2^-125 an output is 0 (never subnormal); above, the kernels' bound.
            let tolerance = exact < 0x1p-124 ? 0x1p-124 : 1e-5 * exact
            #expect(
              abs(Double(value) - exact) <= tolerance && !value.isSubnormal,
              "\(isa) n=\(count) \(name): \(value) against \(exact)")
          }
        }
      }
    }
  }
}
