import Foundation

/// SplitMix64 (Steele, Lea & Flood, 2014): seeded, so that `--seed` reproduces the inputs
/// exactly on every platform, which `SystemRandomNumberGenerator` cannot.
struct SeededGenerator: RandomNumberGenerator {
  private var state: UInt64

  init(seed: UInt64) {
    state = seed
  }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A Float uniform in [0, 1) with 24 random bits, the most a Float holds in that range.
  mutating func unitFloat() -> Float {
    Float(next() >> 40) * 0x1p-24
  }
}

/// How the benchmark inputs are drawn.
public enum InputDistribution: String, Sendable, Codable, CaseIterable {
  /// Uniform in [-1000, 1000], as in the paper's benchmark: most outputs underflow, which
  /// exposes kernels that are slow on subnormal numbers.
  case uniform
  /// Standard normal, closer to real logits.
  case normal

  /// Fills `buffer` with values drawn from this distribution.
  func fill(_ buffer: UnsafeMutableBufferPointer<Float>, seed: UInt64) {
    var generator = SeededGenerator(seed: seed)
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
