import Foundation
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// The 16-row top-k kernel of MoE gating (AVX-512 only) against a sort of each row: the same
/// experts in the same order (ties to the lower index), e^(value − max) within the Three-Pass
/// exponential's bound, and exactly the rows with a NaN or an infinite maximum reported.
@Suite("Gating top-k kernel")
struct GatingKernelTests {
  @Test(arguments: KernelISA.allCases)
  func topRowsAgainstSort(isa: KernelISA) {
    guard let kernel = GatingKernels.topRows(for: isa) else { return }
    var generator = SeededGenerator(seed: 0x70b1)
    var maxima = [Float](repeating: 0, count: 16)
    var terms = [Float](repeating: 0, count: 8 * 16)
    var ids = [Int32](repeating: 0, count: 8 * 16)
    for round in 0..<300 {
      let n = 1 + Int(generator.next() % 100)
      let k = 1 + Int(generator.next() % UInt64(Swift.min(8, n)))
      let rows = 1 + Int(generator.next() % 16)
      let kind = round % 4
      let x: [Float] = (0..<(rows * n)).map { _ in
        let u = generator.unit()
        switch kind {
        case 0: return Float(3 * generator.normal())
        case 1: return Float(Int(generator.next() % 4)) - 1
        case 2: return u < 0.5 ? -.infinity : (u < 0.52 ? .infinity : Float(generator.normal()))
        default: return u < 0.01 ? .nan : (u < 0.3 ? 1e30 : Float(generator.normal()))
        }
      }
      let unusable = x.withUnsafeBufferPointer { xb in
        kernel(xb.baseAddress!, rows, n, k, &maxima, &terms, &ids)
      }
      for r in 0..<rows {
        let row = Array(x[(r * n)..<((r + 1) * n)])
        let order = (0..<n).sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
        let top = row.max() ?? -.infinity
        let special = row.contains(where: \.isNaN) || top.isInfinite
        let context = "\(isa) round \(round) row \(r): n \(n) k \(k) \(row.prefix(10))"
        #expect((unusable >> r) & 1 == (special ? 1 : 0), "\(context)")
        if special { continue }
        #expect(maxima[r] == top, "\(context)")
        for j in 0..<k {
          #expect(Int(ids[j * 16 + r]) == order[j], "\(context): slot \(j)")
          let exact = Foundation.exp(Double(row[order[j]]) - Double(top))
          let error = abs(Double(terms[j * 16 + r]) - exact)
          #expect(error <= 1e-5 * exact + 1e-37, "\(context): term \(j)")
        }
      }
      #expect(unusable >> rows == 0)
    }
  }
}
