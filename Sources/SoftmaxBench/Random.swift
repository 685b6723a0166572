import Foundation
internal import SoftmaxKernels

/// How the benchmark inputs are drawn.
public enum InputDistribution: String, Sendable, Codable, CaseIterable {
  /// Uniform in [-1000, 1000], as in the paper's benchmark: most outputs underflow, which
  /// exposes kernels that are slow on subnormal numbers.
  case uniform
  /// Standard normal, closer to real logits.
  case normal

  /// Fills `buffer` with values drawn from this distribution.
  func fill(_ buffer: UnsafeMutableBufferPointer<Float>, seed: UInt64) {
    var generator = SplitMix64(seed: seed)
    switch self {
    case .uniform:
      for i in buffer.indices {
        buffer[i] = generator.unitFloat() * 2000 - 1000
      }
    case .normal:
      // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
      var i = buffer.startIndex
      while i < buffer.endIndex {
        let u = 1 - generator.unitFloat()
        let v = generator.unitFloat()
        let radius = (-2 * log(u)).squareRoot()
        let angle = 2 * Float.pi * v
        buffer[i] = radius * cos(angle)
        if i + 1 < buffer.endIndex { buffer[i + 1] = radius * sin(angle) }
        i += 2
      }
    }
  }
}
