import Foundation
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// The slots of the kernel table beyond the Float algorithms' passes (log-softmax output,
/// strided columns, Double rows), on every kernel set this CPU runs, against Double references.
@Suite("Log output, strided and Double slots of every kernel set")
struct TableSlotTests {
  static let lengths = Array(0...40) + [127, 1023, 1024, 1025, 4097]

  func doubles(_ count: Int, scale: Double, seed: UInt64) -> [Double] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in generator.normal() * scale }
  }

  /// Every output bitwise, streamed or not, from each alignment of the output, in place too;
  /// 70 001 takes the kernels' prefetching loop.
  @Test("log-softmax output: ((x − shift) − high) − low", arguments: KernelISA.allCases)
  func logOutput(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    for count in Self.lengths + [70_001] {
      let x = randomInputs(count: count + 16, distribution: .standardNormal, scale: 9, seed: 41)
      for (offset, stream) in [(0, false), (0, true), (3, true), (13, true), (5, false)] {
        let input = Array(x[offset..<(offset + count)])
        let expected = input.map { (($0 - 3) - 1.5) - 0x1p-30 }
        var y = [Float](repeating: .nan, count: count + 16)
        x.withUnsafeBufferPointer { source in
          y.withUnsafeMutableBufferPointer {
            kernels.logSoftmaxOutput(
              source.baseAddress! + offset, $0.baseAddress! + offset, count, 3, 1.5, 0x1p-30,
              stream)
          }
        }
        kernels.storeFence()
        let context = "\(isa) n=\(count) offset \(offset) stream \(stream)"
        #expect(Array(y[offset..<(offset + count)]) == expected, "\(context)")
        // Nothing outside the row is written.
        #expect(y[..<offset].allSatisfy(\.isNaN) && y[(offset + count)...].allSatisfy(\.isNaN))
        var inPlace = x
        inPlace.withUnsafeMutableBufferPointer {
          let p = $0.baseAddress! + offset
          kernels.logSoftmaxOutput(p, p, count, 3, 1.5, 0x1p-30, stream)
        }
        kernels.storeFence()
        #expect(Array(inPlace[offset..<(offset + count)]) == expected, "\(context) in place")
      }
    }
  }

  @Test(
    "strided Float columns against the Double softmax of each column", arguments: KernelISA.allCases
  )
  func strided(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    for (length, stride, width) in [(1, 16, 16), (37, 19, 16), (300, 20, 5), (5, 3, 3)] {
      let x = randomInputs(
        count: length * stride, distribution: .standardNormal, scale: 7, seed: 42)
      for output in [RowOutput.probabilities, .logProbabilities] {
        var y = [Float](repeating: .nan, count: x.count)
        x.withUnsafeBufferPointer { input in
          y.withUnsafeMutableBufferPointer {
            kernels.strided(input.baseAddress!, $0.baseAddress!, length, stride, width, output)
          }
        }
        for c in 0..<width {
          let column = (0..<length).map { x[$0 * stride + c] }
          let got = (0..<length).map { Double(y[$0 * stride + c]) }
          let exact =
            output == .probabilities
            ? ReferenceSoftmax.softmax(column) : ReferenceSoftmax.logSoftmax(column)
          for (value, e) in zip(got, exact) {
            let tolerance = output == .probabilities ? 1e-5 * e + 1e-37 : 1e-5 * max(1, abs(e))
            #expect(abs(value - e) <= tolerance, "\(isa) \(length)×\(stride) column \(c)")
          }
        }
      }
    }
  }

  @Test("Double slots: max, sums, scale and both outputs", arguments: KernelISA.allCases)
  func doubleSlots(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa)?.double else { return }
    for count in Self.lengths where count > 0 {
      let x = doubles(count, scale: 40, seed: UInt64(count))
      let maximum = x.max()!
      let terms = x.map { exp($0 - maximum) }
      let exactSum = ReferenceSoftmax.compensatedSum(terms)
      var y = [Double](repeating: .nan, count: count)
      x.withUnsafeBufferPointer { input in
        y.withUnsafeMutableBufferPointer { output in
          let (p, q) = (input.baseAddress!, output.baseAddress!)
          #expect(kernels.max(p, count) == maximum, "\(isa) n=\(count)")
          let stored = kernels.sumExp(p, q, count, maximum).value
          let summed = kernels.sumExp(p, nil, count, maximum).value
          #expect(stored == summed, "\(isa) n=\(count): storing changes nothing")
          #expect(abs(stored - exactSum) <= 1e-14 * exactSum, "\(isa) n=\(count)")
          for (value, term) in zip(output, terms) where term >= 1e-300 {
            #expect(abs(value - term) <= 4e-16 * term, "\(isa) n=\(count) term")
          }
          kernels.scale(q, count, 1 / stored, 0x1p-1020 * stored)
          let logSum = log(exactSum)
          var e = [Double](repeating: 0, count: count)
          e.withUnsafeMutableBufferPointer {
            kernels.normalizedOutput(p, $0.baseAddress!, count, maximum, logSum, .probabilities)
          }
          var l = [Double](repeating: 0, count: count)
          l.withUnsafeMutableBufferPointer {
            kernels.normalizedOutput(
              p, $0.baseAddress!, count, maximum, logSum, .logProbabilities)
          }
          for i in 0..<count {
            let exact = terms[i] / exactSum
            if exact >= 1e-300 {
              #expect(abs(output[i] - exact) <= 1e-13 * exact, "\(isa) n=\(count) scaled [\(i)]")
              #expect(abs(e[i] - exact) <= 1e-13 * exact, "\(isa) n=\(count) exp output [\(i)]")
            }
            #expect(l[i] == (x[i] - maximum) - logSum, "\(isa) n=\(count) log output [\(i)]")
          }
        }
      }
    }
  }

  @Test(
    "strided Double columns against the Double softmax of each column",
    arguments: KernelISA.allCases)
  func stridedDouble(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa)?.double else { return }
    for (length, stride, width) in [(1, 8, 8), (200, 11, 8), (65, 3, 3)] {
      let x = doubles(length * stride, scale: 300, seed: 43)
      var y = [Double](repeating: .nan, count: x.count)
      x.withUnsafeBufferPointer { input in
        y.withUnsafeMutableBufferPointer {
          kernels.strided(
            input.baseAddress!, $0.baseAddress!, length, stride, width, .probabilities)
        }
      }
      for c in 0..<width {
        let column = (0..<length).map { x[$0 * stride + c] }
        let maximum = column.max()!
        let sum = ReferenceSoftmax.compensatedSum(column.map { exp($0 - maximum) })
        for k in 0..<length {
          let exact = exp(column[k] - maximum) / sum
          let value = y[k * stride + c]
          let ok = exact >= 1e-300 ? abs(value - exact) <= 1e-13 * exact : value <= 1e-299
          #expect(ok, "\(isa) \(length)×\(stride) column \(c) [\(k)]")
        }
      }
    }
  }
}
