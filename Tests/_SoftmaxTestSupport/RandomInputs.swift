import Foundation
package import SoftmaxKernels

/// The package's seeded generator (SplitMix64), so that every test input is reproducible from
/// its seed on every platform.
package typealias SeededGenerator = SplitMix64

/// The input distributions the tests sweep.
public enum InputDistribution: Sendable, CustomStringConvertible, CaseIterable {
  case standardNormal
  case uniform  // [-1, 1]
  case paperUniform  // [-1000, 1000], as in the Two-Pass paper's benchmark

  public var description: String {
    switch self {
    case .standardNormal: "normal"
    case .uniform: "uniform[-1,1]"
    case .paperUniform: "uniform[-1000,1000]"
    }
  }
}

/// `count` values from `distribution`, multiplied by `scale` and then shifted by `shift`, in
/// Float (so shifted values are rounded as a caller's would be).
public func randomInputs(
  count: Int, distribution: InputDistribution, scale: Float = 1, shift: Float = 0, seed: UInt64
) -> [Float] {
  var generator = SeededGenerator(seed: seed)
  return (0..<count).map { _ in
    let value: Float
    switch distribution {
    case .standardNormal:
      // Box–Muller in Double, one value per draw.
      let u1 = Double.random(in: Double.ulpOfOne...1, using: &generator)
      let u2 = Double.random(in: 0..<1, using: &generator)
      value = Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    case .uniform:
      value = Float.random(in: -1...1, using: &generator)
    case .paperUniform:
      value = Float.random(in: -1000...1000, using: &generator)
    }
    return value * scale + shift
  }
}
