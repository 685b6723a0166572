import Foundation
import Softmax
import Testing
import _SoftmaxTestSupport

/// Temperatures (T = 0 included) and the fully-masked-row policy along inner axes, for every
/// element type, against references that divide in Double and normalize each slice.
@Suite("Temperatures and the .nan policy along inner axes")
struct InnerAxisOptionsTests {
  let shape = [3, 37, 19]

  /// The Double softmax (or log-softmax) of x / T for one slice; T = 0: the argmax limit;
  /// a slice of only −inf: NaN everywhere (the `.nan` policy).
  func reference(_ x: [Double], temperature: Double, logarithm: Bool) -> [Double] {
    if !x.isEmpty && x.allSatisfy({ $0 == -.infinity }) { return x.map { _ in .nan } }
    guard temperature > 0 else {
      let top = x.max()!
      let ties = Double(x.filter { $0 == top }.count)
      return x.map {
        $0 == top ? (logarithm ? -log(ties) : 1 / ties) : (logarithm ? -.infinity : 0)
      }
    }
    let tempered = x.map { $0 / temperature }
    return logarithm ? doubleLogReference(tempered) : doubleReference(tempered)
  }

  /// Inputs with ties (for the argmax) and one slice along axis 1 of only −inf.
  func inputs() -> [Double] {
    var x = randomDoubles(count: shape.reduce(1, *), scale: 4, seed: 31).map {
      ($0 * 4).rounded() / 4
    }
    for k in 0..<shape[1] { x[1 * 37 * 19 + k * 19 + 5] = -.infinity }
    return x
  }

  @Test("Double and Float inner axes: T = 0.37, 2 and 0, with .nan", arguments: [0.37, 2, 0])
  func doubleAndFloat(temperature: Double) {
    let x = inputs()
    for logarithm in [false, true] {
      let exact = alongAxis(x, shape: shape, axis: 1) {
        reference($0, temperature: temperature, logarithm: logarithm)
      }
      let doubles =
        logarithm
        ? logSoftmax(x, shape: shape, axis: 1, fullyMaskedRows: .nan, temperature: temperature)
        : softmax(x, shape: shape, axis: 1, fullyMaskedRows: .nan, temperature: temperature)
      expectDoubles(doubles, exact, logarithm: logarithm, "Double T = \(temperature)")
      let floats = x.map { Float($0) }
      let t = Float(temperature)
      let y =
        logarithm
        ? logSoftmax(floats, shape: shape, axis: 1, fullyMaskedRows: .nan, temperature: t)
        : softmax(floats, shape: shape, axis: 1, fullyMaskedRows: .nan, temperature: t)
      expectClose(y.map { Double($0) }, exact, logarithm: logarithm, "Float T = \(temperature)")
    }
  }

  #if !(os(macOS) && arch(x86_64))
    @Test("Float16 inner axes: T = 0.37 and 0, with .nan", arguments: [0.37, 0])
    func half(temperature: Double) {
      let x = inputs().map { Float16($0) }
      let t = Float16(temperature)
      // The reference divides by the Float16 temperature, as the library does.
      let exact = alongAxis(x.map { Double($0) }, shape: shape, axis: 1) {
        reference($0, temperature: Double(t), logarithm: false)
      }
      let y = softmax(x, shape: shape, axis: 1, fullyMaskedRows: .nan, temperature: t)
      // Within 1 ulp of the correctly rounded result, Float16 subnormals included.
      var wrong = [String]()
      for (i, (value, e)) in zip(y, exact).enumerated() {
        let ok =
          e.isNaN
          ? value.isNaN : abs(Int(value.bitPattern) - Int(Float16(e).bitPattern)) <= 1
        if !ok && wrong.count < 4 { wrong.append("[\(i)] \(value) vs \(e)") }
      }
      #expect(wrong.isEmpty, "Float16 T = \(temperature): \(wrong)")
    }
  #endif

  /// Float results within 1e-3 relative above 1e-30 (the bound is 1e-5; this checks the
  /// options, not the kernels); NaN and infinities exactly.
  func expectClose(_ y: [Double], _ exact: [Double], logarithm: Bool, _ context: String) {
    var wrong = [String]()
    for (i, (value, e)) in zip(y, exact).enumerated() {
      let ok =
        e.isNaN
        ? value.isNaN
        : !e.isFinite
          ? value == e
          : logarithm
            ? abs(value - e) <= 1e-5 * max(1, abs(e))
            : e < 1e-30 ? value <= 1e-29 : abs(value - e) <= 1e-3 * e
      if !ok && wrong.count < 4 { wrong.append("[\(i)] \(value) vs \(e)") }
    }
    #expect(wrong.isEmpty, "\(context): \(wrong)")
  }
}
