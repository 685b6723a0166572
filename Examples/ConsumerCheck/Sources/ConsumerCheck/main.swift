// Uses swift-softmax the way a dependent package does: only the public API of the `Softmax`
// product. Prints which kernels the library picked (scripts/check-consumer.sh compares that
// with the CPU's flags and SOFTMAX_ISA) and checks results against a Double reference, so a
// dispatch that picks a broken or wrong-ISA table fails here rather than in a user's model.
// Exits 0 when every result is right, 1 otherwise.
import Softmax

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

print("kernel path: \(SoftmaxRuntime.kernelPath)")
print("selected kernel set: \(SoftmaxRuntime.selectedKernelSet)")
print("available kernel sets: \(SoftmaxRuntime.availableKernelSets.joined(separator: " "))")

/// The softmax in Double, max-subtracted: exact enough to judge Float results by 1e-5.
func referenceSoftmax(_ x: [Float]) -> [Double] {
  let largest = Double(x.max() ?? 0)
  let terms = x.map { exp(Double($0) - largest) }
  let sum = terms.reduce(0, +)
  return terms.map { $0 / sum }
}

/// Deterministic inputs in [-12, 12): a 64-bit LCG, so every run checks the same values.
func logits(count: Int, seed: UInt64) -> [Float] {
  var state = seed
  return (0..<count).map { _ in
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Float(state >> 40) / Float(1 << 24) * 24 - 12
  }
}

/// The largest relative error of `y` against `reference`.
func maxRelativeError(_ y: [Float], _ reference: [Double]) -> Double {
  zip(y, reference).reduce(0) { worst, pair in
    max(worst, abs(Double(pair.0) - pair.1) / pair.1)
  }
}

// The documented bound is 1e-5 relative; inputs in [-12, 12) keep every probability far above
// the 2^-124 flush threshold, so the bound applies to every element.
let tolerance = 1e-5
var worst = 0.0
var failures = 0

// Short rows (vector tails), mid-size rows, a row long enough for several threads, and a
// 32 MiB row, past the last-level cache of most machines, where the outputs are written with
// non-temporal stores.
for count in [1, 3, 17, 1000, 4099, 1 << 20, (1 << 23) + 17] {
  let x = logits(count: count, seed: UInt64(count))
  let reference = referenceSoftmax(x)
  // Every algorithm through the inout-array form, with automatic threads, one thread and
  // two (long rows are cut into chunks that run on the library's worker threads).
  for algorithm in SoftmaxAlgorithm.allCases {
    for threads in [nil, 1, 2] as [Int?] {
      var y = [Float](repeating: 0, count: count)
      softmax(x, into: &y, algorithm: algorithm, threads: threads)
      let error = maxRelativeError(y, reference)
      worst = max(worst, error)
      if !(error <= tolerance) {
        print(
          "FAIL: \(algorithm) threads \(threads.map(String.init) ?? "auto") count \(count): "
            + "relative error \(error)")
        failures += 1
      }
    }
  }
  // The allocating convenience form with its default algorithm.
  let error = maxRelativeError(softmax(x), reference)
  worst = max(worst, error)
  if !(error <= tolerance) {
    print("FAIL: softmax(_:) count \(count): relative error \(error)")
    failures += 1
  }
}

print("max relative error: \(worst)")
if failures > 0 {
  print("softmax check: FAILED (\(failures) cases)")
  exit(1)
}
print("softmax check: OK")
