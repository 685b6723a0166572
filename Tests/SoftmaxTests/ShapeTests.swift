import Softmax
import Testing
import _SoftmaxTestSupport

/// The reference softmax (or log-softmax) along `axis`, slice by slice, by index arithmetic
/// that shares nothing with the library.
func referenceAlongAxis(_ x: [Float], shape: [Int], axis: Int, logarithm: Bool) -> [Double] {
  let a = axis < 0 ? axis + shape.count : axis
  let outer = shape[..<a].reduce(1, *)
  let n = shape[a]
  let inner = shape[(a + 1)...].reduce(1, *)
  var result = [Double](repeating: 0, count: x.count)
  for o in 0..<outer {
    for i in 0..<inner {
      let indices = (0..<n).map { o * n * inner + $0 * inner + i }
      let slice = indices.map { x[$0] }
      let values =
        logarithm ? ReferenceSoftmax.logSoftmax(slice) : ReferenceSoftmax.softmax(slice)
      for (index, value) in zip(indices, values) { result[index] = value }
    }
  }
  return result
}

let testShapes: [[Int]] = [
  [1], [7], [3, 5], [5, 3], [2, 3, 17], [4, 33, 3], [2, 1, 7, 19], [3, 2, 2, 40], [1, 16, 1],
  [2, 70, 5], [0, 5], [4, 0], [3, 1],
]

@Suite("Softmax along any axis of a shaped array")
struct ShapeTests {
  @Test("every shape of rank 1 to 4, every axis, positive and negative, against the reference")
  func everyAxis() {
    for (s, shape) in testShapes.enumerated() {
      let count = shape.reduce(1, *)
      var x = randomInputs(count: count, distribution: .standardNormal, scale: 8, seed: UInt64(s))
      // Special values in a few places: masked entries and a +inf.
      if count > 10 {
        x[3] = -.infinity
        x[count - 2] = .infinity
      }
      for axis in Array(-shape.count..<shape.count) {
        let y = softmax(x, shape: shape, axis: axis)
        let reference = referenceAlongAxis(x, shape: shape, axis: axis, logarithm: false)
        let report = compare(y, with: reference)
        #expect(
          report.maxRelativeError <= 1e-5 && report.violations.isEmpty,
          "shape \(shape) axis \(axis): \(report)")
        let logY = logSoftmax(x, shape: shape, axis: axis)
        let logReference = referenceAlongAxis(x, shape: shape, axis: axis, logarithm: true)
        for (i, (value, exact)) in zip(logY, logReference).enumerated() {
          let ok =
            exact.isFinite
            ? abs(Double(value) - exact) <= 1e-5 * max(1, abs(exact))
            : (value == Float(exact) || (value.isNaN && exact.isNaN))
          #expect(ok, "log shape \(shape) axis \(axis) [\(i)]: \(value) vs \(exact)")
        }
      }
    }
  }

  @Test("NaN, +inf and fully masked columns of a strided axis follow the contract")
  func stridedSpecialValues() {
    // 6 steps along axis 0, 20 columns: column 1 has a NaN, column 2 two +inf, column 3 is
    // fully masked, column 17 (in the tail group) has a +inf.
    let shape = [6, 20]
    var x = randomInputs(count: 120, distribution: .standardNormal, seed: 3)
    x[2 * 20 + 1] = .nan
    x[0 * 20 + 2] = .infinity
    x[4 * 20 + 2] = .infinity
    for row in 0..<6 { x[row * 20 + 3] = -.infinity }
    x[5 * 20 + 17] = .infinity
    let y = softmax(x, shape: shape, axis: 0)
    let reference = referenceAlongAxis(x, shape: shape, axis: 0, logarithm: false)
    let report = compare(y, with: reference)
    #expect(report.maxRelativeError <= 1e-5 && report.violations.isEmpty, "\(report)")
    #expect((0..<6).allSatisfy { y[$0 * 20 + 1].isNaN })
    #expect((0..<6).allSatisfy { y[$0 * 20 + 3] == 0 })
    #expect(y[0 * 20 + 2] == 0.5 && y[4 * 20 + 2] == 0.5 && y[5 * 20 + 17] == 1)
  }

  @Test("threads, in place and the three API forms agree")
  func forms() {
    for (shape, axis) in [
      ([64, 4096], -1), ([4, 300_000], 1), ([256, 3, 64], 1), ([3, 70_000], 0),
    ] {
      let count = shape.reduce(1, *)
      let x = randomInputs(count: count, distribution: .paperUniform, seed: 9)
      let one = softmax(x, shape: shape, axis: axis, threads: 1)
      #expect(softmax(x, shape: shape, axis: axis, threads: 2) == one, "\(shape) \(axis)")
      #expect(softmax(x, shape: shape, axis: axis) == one)
      var y = [Float](repeating: 0, count: count)
      softmax(x, shape: shape, axis: axis, into: &y)
      #expect(y == one)
      var z = x
      z.withUnsafeMutableBufferPointer {
        softmax(UnsafeBufferPointer($0), shape: shape, axis: axis, into: $0)
      }
      #expect(z == one)
      let logOne = logSoftmax(x, shape: shape, axis: axis, threads: 1)
      #expect(logSoftmax(x, shape: shape, axis: axis, threads: 2) == logOne)
    }
  }

  @Test("rows on the last axis equal the one-row API, for every algorithm")
  func rowsMatchOneRow() {
    let x = randomInputs(count: 5 * 1000, distribution: .standardNormal, scale: 4, seed: 2)
    for algorithm in SoftmaxAlgorithm.allCases {
      let y = softmax(x, shape: [5, 1000], algorithm: algorithm)
      for row in 0..<5 {
        let slice = Array(x[(row * 1000)..<((row + 1) * 1000)])
        #expect(Array(y[(row * 1000)..<((row + 1) * 1000)]) == softmax(slice, algorithm: algorithm))
      }
    }
  }

  @Test("a shape that does not match the count traps with a message")
  func badShape() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = softmax([Float](repeating: 0, count: 10), shape: [3, 4])
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(message.contains("shape [3, 4] has 12 elements but the buffers have 10"), "\(message)")
  }

  @Test("a shape whose element count overflows Int traps: Float and Double, any axis")
  func overflowingShape() async throws {
    // Exit tests capture nothing here: each call is spelled out.
    let results = [
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = softmax([Float](repeating: 0, count: 4), shape: [(1 << 62) + 1, 4])
      },
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = softmax([Float](repeating: 0, count: 4), shape: [4, (1 << 62) + 1], axis: 0)
      },
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = logSoftmax([Double](repeating: 0, count: 4), shape: [(1 << 62) + 1, 4], axis: 0)
      },
    ]
    for result in results {
      let message = String(decoding: result.standardErrorContent, as: UTF8.self)
      #expect(message.contains("has more elements than Int can count"), "\(message)")
    }
  }

  @Test("an axis out of range traps with a message")
  func badAxis() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = logSoftmax([Float](repeating: 0, count: 12), shape: [3, 4], axis: 2)
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(message.contains("axis 2 is out of range for a shape of rank 2"), "\(message)")
  }
}

/// Inner axes in place: the columns finished by the special-value contract must still see
/// their input after the output pass (found by the Float16/Double shaped work).
@Suite struct StridedInPlaceTests {
  @Test func specialColumnsInPlaceMatchOutOfPlace() {
    let rows = 5
    let columns = 37
    var x = (0..<(rows * columns)).map { Float(($0 * 7919) % 23) / 3 - 3 }
    x[1 * columns + 1] = .infinity  // column 1: +inf shares the mass
    x[3 * columns + 1] = .infinity
    x[2 * columns + 2] = .nan  // column 2: NaN
    for r in 0..<rows { x[r * columns + 3] = -.infinity }  // column 3: nothing kept
    x[4 * columns + 20] = .infinity  // column 20, in the second group of 16
    for logarithm in [false, true] {
      let outOfPlace =
        logarithm
        ? logSoftmax(x, shape: [rows, columns], axis: 0)
        : softmax(x, shape: [rows, columns], axis: 0)
      var inPlace = x
      inPlace.withUnsafeMutableBufferPointer { b in
        if logarithm {
          logSoftmax(UnsafeBufferPointer(b), shape: [rows, columns], axis: 0, into: b)
        } else {
          softmax(UnsafeBufferPointer(b), shape: [rows, columns], axis: 0, into: b)
        }
      }
      let same = zip(inPlace, outOfPlace).allSatisfy { $0.isNaN ? $1.isNaN : $0 == $1 }
      #expect(same, "log: \(logarithm)")
      let column1 = (0..<rows).map { outOfPlace[$0 * columns + 1] }
      let half: Float = logarithm ? -0.693_147_2 : 0.5  // −ln 2, rounded to Float
      let none: Float = logarithm ? -.infinity : 0
      #expect(column1 == [none, half, none, half, none])
      #expect((0..<rows).allSatisfy { outOfPlace[$0 * columns + 2].isNaN })
      #expect((0..<rows).allSatisfy { outOfPlace[$0 * columns + 3] == none })
      #expect(outOfPlace[4 * columns + 20] == (logarithm ? 0 : 1))
    }
  }
}
