import Foundation
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// The selection slots of the kernel table (masses and counts above cuts, band gathers, the
/// fused first bracket) on every kernel set this CPU runs, against plain loops in Double, at
/// every tail length and an unaligned start, with NaN, ±inf, −0 and ties in the rows.
@Suite("Selection slots of every kernel set")
struct SelectionSlotTests {
  static let lengths = Array(0...40) + [127, 1023, 1024, 1025, 4097]

  /// A row of rounded values (ties) with special values sprinkled in, and exponentials in
  /// [0, 1], each one element past an allocation.
  static func withRow(
    _ n: Int, _ body: (UnsafePointer<Float>, UnsafePointer<Float>, [Float], [Float]) -> Void
  ) {
    var x = randomInputs(count: n, distribution: .standardNormal, scale: 2, seed: UInt64(n))
      .map { ($0 * 4).rounded() / 4 }
    let specials: [Float] = [.nan, .infinity, -.infinity, -0.0, 0]
    for i in stride(from: 3, to: n, by: 7) { x[i] = specials[i % specials.count] }
    let e = randomInputs(count: n, distribution: .uniform, seed: UInt64(n) + 9).map { abs($0) }
    let px = UnsafeMutablePointer<Float>.allocate(capacity: n + 1)
    let pe = UnsafeMutablePointer<Float>.allocate(capacity: n + 1)
    defer { [px, pe].forEach { $0.deallocate() } }
    (px + 1).initialize(from: x, count: n)
    (pe + 1).initialize(from: e, count: n)
    body(px + 1, pe + 1, x, e)
  }

  @Test("masses and counts above eight cuts, and above one", arguments: KernelISA.allCases)
  func masses(isa: KernelISA) {
    guard let k = PassKernels.table(for: isa)?.selection else { return }
    let cuts: [Float] = [.infinity, 2, 1, 0.5, 0, -0.25, -1, -.greatestFiniteMagnitude]
    for n in Self.lengths {
      Self.withRow(n) { px, pe, x, e in
        var masses = [Double](repeating: .nan, count: 8)
        var counts = [Int64](repeating: -1, count: 8)
        k.bandMasses(px, pe, n, cuts, &masses, &counts)
        for j in 0..<8 {
          let kept = x.indices.filter { x[$0] >= cuts[j] }
          let mass = kept.reduce(0.0) { $0 + Double(e[$1]) }
          #expect(counts[j] == Int64(kept.count), "\(isa) n \(n) cut \(cuts[j])")
          #expect(abs(masses[j] - mass) <= 1e-6 * mass, "\(isa) n \(n) cut \(cuts[j])")
          let one = k.massAbove(px, pe, n, cuts[j])
          #expect(one.count == kept.count && abs(one.mass - mass) <= 1e-6 * mass)
        }
      }
    }
  }

  @Test("a band's entries gathered in order, from a row or a band", arguments: KernelISA.allCases)
  func gather(isa: KernelISA) {
    guard let k = PassKernels.table(for: isa)?.selection else { return }
    for n in Self.lengths {
      Self.withRow(n) { px, pe, x, e in
        for (low, high) in [
          (Float(-0.5), Float(1)), (0, 0.25), (-.greatestFiniteMagnitude, .infinity),
        ] {
          let expected = x.indices.filter { x[$0] >= low && x[$0] < high }
          var outX = [Float](repeating: .nan, count: n + 16)
          var outE = [Float](repeating: .nan, count: n + 16)
          var outIndex = [Int32](repeating: -1, count: n + 16)
          let found = k.gatherBand(px, pe, nil, n, low, high, &outX, &outE, &outIndex)
          #expect(found == expected.count, "\(isa) n \(n) [\(low), \(high))")
          #expect(outIndex.prefix(found).map(Int.init) == expected)
          #expect(outX.prefix(found).map(\.bitPattern) == expected.map { x[$0].bitPattern })
          #expect(outE.prefix(found) == ArraySlice(expected.map { e[$0] }))
          // From a band: its indices are carried through.
          let band = expected.map { Int32($0) * 3 + 1 }
          var again = [Int32](repeating: -1, count: n + 16)
          let refound = band.withUnsafeBufferPointer { b in
            k.gatherBand(
              px, nil, b.baseAddress, n == 0 ? 0 : min(n, band.count), low, high, &outX, nil, &again
            )
          }
          let prefix = x.prefix(min(n, band.count)).indices.filter { x[$0] >= low && x[$0] < high }
          #expect(refound == prefix.count)
          #expect(again.prefix(refound) == ArraySlice(prefix.map { band[$0] }))
          // The fused first bracket gathers the same band and sums what lies above it.
          let bracket = k.bracketBand(px, pe, n, low, high, &outX, &outE, &outIndex)
          let above = x.indices.filter { x[$0] >= high }
          let aboveMass = above.reduce(0.0) { $0 + Double(e[$1]) }
          let bandMass = expected.reduce(0.0) { $0 + Double(e[$1]) }
          #expect(bracket.count == expected.count && bracket.aboveCount == above.count)
          #expect(outIndex.prefix(bracket.count).map(Int.init) == expected)
          #expect(outE.prefix(bracket.count) == ArraySlice(expected.map { e[$0] }))
          #expect(abs(bracket.aboveMass - aboveMass) <= 1e-6 * aboveMass)
          #expect(abs(bracket.bandMass - bandMass) <= 1e-6 * bandMass)
        }
      }
    }
  }

  @Test(
    "a gather whose band is dense in some blocks of 1024 and sparse in others",
    arguments: KernelISA.allCases)
  func gatherAcrossDensities(isa: KernelISA) {
    guard let k = PassKernels.table(for: isa)?.selection else { return }
    // Blocks: all in the band, one entry in 97, none, all, one in 5, and a tail of 37.
    let n = 5 * 1024 + 37
    let x = (0..<n).map { i -> Float in
      switch i / 1024 {
      case 0, 3: return 1
      case 1: return i % 97 == 0 ? 1 : -1
      case 2: return -1
      default: return i % 5 == 0 ? 1 : -1
      }
    }
    let e = x.indices.map { Float($0 % 251) / 251 }
    let expected = x.indices.filter { x[$0] == 1 }
    var outX = [Float](repeating: .nan, count: n + 16)
    var outE = [Float](repeating: .nan, count: n + 16)
    var outIndex = [Int32](repeating: -1, count: n + 16)
    let found = k.gatherBand(x, e, nil, n, 0, 2, &outX, &outE, &outIndex)
    #expect(found == expected.count, "\(isa)")
    #expect(outIndex.prefix(found).map(Int.init) == expected, "\(isa)")
    #expect(outE.prefix(found) == ArraySlice(expected.map { e[$0] }), "\(isa)")
    #expect(outX.prefix(found).allSatisfy { $0 == 1 }, "\(isa)")
  }

  @Test(
    "tempered exponentials as exact as the quotient in Double, in place too",
    arguments: KernelISA.allCases)
  func temperedExponentials(isa: KernelISA) {
    guard let k = PassKernels.table(for: isa)?.selection else { return }
    for n in Self.lengths {
      var x = randomInputs(count: n, distribution: .standardNormal, scale: 30, seed: UInt64(n))
      for i in stride(from: 5, to: n, by: 11) { x[i] = i % 2 == 0 ? .nan : -.infinity }
      let m = x.filter { !$0.isNaN }.max() ?? 0
      for temperature: Float in [0.8, 0.37, 3, 1e-3, 1e5, 0x1p-126] {
        var y = [Float](repeating: .nan, count: n)
        let sum = k.temperedExps(x, &y, n, m, temperature)
        var expected = 0.0
        for i in 0..<n {
          let e = x[i].isNaN ? Double.nan : exp((Double(x[i]) - Double(m)) / Double(temperature))
          if e.isNaN {
            #expect(y[i].isNaN, "\(isa) n \(n) T \(temperature) at \(i)")
            continue
          }
          expected += e
          // Flushed below the smallest normal; elsewhere within 4 ulp where the quotient is
          // carried exactly (AVX-512), and within its rounding to Float, |z| · 2^-24, more
          // where it is rounded once (the portable kernels, as the library's effective logits).
          let z = abs((Double(x[i]) - Double(m)) / Double(temperature))
          let rounding = isa == .avx512 ? 0 : z * 0x1p-24
          let bound = e < 0x1p-125 ? 0x1p-125 : (4.8e-7 + rounding) * e
          #expect(abs(Double(y[i]) - e) <= bound, "\(isa) n \(n) T \(temperature) at \(i)")
        }
        if !x.contains(where: \.isNaN) {
          #expect(abs(sum - expected) <= 1e-6 * expected + 1e-30, "\(isa) n \(n) T \(temperature)")
        }
        // In place.
        var z = x
        _ = z.withUnsafeMutableBufferPointer { b in
          k.temperedExps(UnsafePointer(b.baseAddress!), b.baseAddress!, n, m, temperature)
        }
        #expect(z.map(\.bitPattern) == y.map(\.bitPattern))
      }
    }
  }
}
