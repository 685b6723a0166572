// A first look at the package: a softmax of a short vector, the special values, and a quick
// comparison of the algorithms on one large vector. `softmax bench` does the careful version.
import Foundation
import Softmax

let logits: [Float] = [2.0, 1.0, 0.1, -1.0, 3.5]
print("softmax(\(logits))")
print("  = \(softmax(logits).map { String(format: "%.6f", $0) }.joined(separator: ", "))")
print("softmax([1e30, 1e30, 0])      = \(softmax([1e30, 1e30, 0] as [Float]))")
print(
  "softmax([-inf, 0, +inf, +inf]) = \(softmax([-.infinity, 0, .infinity, .infinity] as [Float]))")
print("softmax([-inf, -inf])          = \(softmax([-.infinity, -.infinity] as [Float]))")

#if DEBUG
  print("\n(debug build: timings skipped; run `swift run -c release softmax-demo`)")
#else
  let count = 1 << 24
  var generator = SystemRandomNumberGenerator()
  let x = (0..<count).map { _ in Float.random(in: -1000...1000, using: &generator) }
  var y = [Float](repeating: 0, count: count)
  print("\nN = 2^24 floats, uniform in [-1000, 1000], one thread, median of 7 runs:")
  for algorithm in SoftmaxAlgorithm.allCases {
    var times: [Double] = []
    for _ in 0..<7 {
      let start = ContinuousClock.now
      softmax(x, into: &y, algorithm: algorithm)
      let elapsed = ContinuousClock.now - start
      let (seconds, attoseconds) = elapsed.components
      times.append(Double(seconds) * 1e9 + Double(attoseconds) / 1e9)
    }
    let median = times.sorted()[times.count / 2]
    let label = algorithm.description.padding(toLength: 22, withPad: " ", startingAt: 0)
    print("  \(label) \(String(format: "%.3f", median / Double(count))) ns/element")
  }
#endif
