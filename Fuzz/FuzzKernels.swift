// libFuzzer entry point for the numerics: a differential fuzzer of softmax and log-softmax,
// compiled by scripts/fuzz.sh with the library's sources (its C kernels under ASan and
// UBSan) and with `softmax check`'s own reference and bounds (ExactSoftmax, RowMeasurement,
// AccuracyBounds from Sources/SoftmaxCheck), so that it holds the library to the documented
// bounds, not to tolerances of its own that could cry wolf or hide a bug.
//
// Every input (KernelFuzzInput.swift) runs through every algorithm on every kernel set this
// CPU has (portable, AVX2, AVX-512, chosen by table as the tests do), as Float softmax and
// log-softmax, and through the public Double and Float16 paths; each row must meet its
// family's bound and the special-value contract (ExactSoftmax writes the contract out case
// by case), probabilities must lie in [0, 1] (up to the bound's rounding), and results must
// be bitwise the same in place and on two threads. A temperature is held to the same bound
// against the exact quotients x / T (in Double), as the library promises.

import Softmax
import SoftmaxKernels

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKernels(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard let input = KernelFuzzInput(UnsafeBufferPointer(start: data, count: size)) else {
    return 0
  }
  FloatFuzzCheck(input).run()
  checkPublicPath(input.doubles, rows: input.rows, as: (.doubleSoftmax, .doubleLogSoftmax))
  checkPublicPath(
    input.floats.map(Float16.init), rows: input.rows, as: (.halfSoftmax, .halfLogSoftmax))
  return 0
}

/// Float rows on every kernel table, through `shapedSoftmax` (the public entry point's code,
/// with the table as a parameter).
struct FloatFuzzCheck {
  let input: KernelFuzzInput
  let shape: [Int]
  let exact: [ExactSoftmax]
  /// The references of the exact quotients x / T.
  let exactTempered: [ExactSoftmax]

  init(_ input: KernelFuzzInput) {
    self.input = input
    shape = [input.rows, input.floats.count / input.rows]
    let rows = rowSlices(input.floats, rows: input.rows)
    exact = rows.map { ExactSoftmax($0.map(Double.init)) }
    let t = Double(input.temperature)
    exactTempered = rows.map { ExactSoftmax($0.map { Double($0) / t }) }
  }

  func run() {
    for kernels in PassKernels.available {
      for algorithm in SoftmaxAlgorithm.allCases {
        let context = "softmax \(algorithm) on \(kernels.isa)"
        let y = compute(input.floats, kernels, algorithm)
        expectMeasured(y, logarithm: false, context)
        expectSame(y, compute(input.floats, kernels, algorithm, inPlace: true), context, "in place")
        if input.isLong {
          expectSame(y, compute(input.floats, kernels, algorithm, threads: 2), context, "2 threads")
        }
        if input.temperature != 1 {
          let t = input.temperature
          let tempered = compute(input.floats, kernels, algorithm, temperature: t)
          expectMeasured(tempered, logarithm: false, "\(context) T = \(t)", against: exactTempered)
          expectSame(
            tempered, compute(input.floats, kernels, algorithm, temperature: t, inPlace: true),
            context, "T = \(t) in place")
        }
      }
      let context = "logSoftmax on \(kernels.isa)"
      let y = compute(input.floats, kernels, .auto, logarithm: true)
      expectMeasured(y, logarithm: true, context)
      expectSame(
        y, compute(input.floats, kernels, .auto, logarithm: true, inPlace: true), context,
        "in place")
      if input.isLong {
        expectSame(
          y, compute(input.floats, kernels, .auto, logarithm: true, threads: 2), context,
          "2 threads")
      }
    }
  }

  private func compute(
    _ x: [Float], _ kernels: PassKernels, _ algorithm: SoftmaxAlgorithm, logarithm: Bool = false,
    threads: Int = 1, temperature: Float = 1, inPlace: Bool = false
  ) -> [Float] {
    var y = inPlace ? x : [Float](repeating: .nan, count: x.count)
    x.withUnsafeBufferPointer { x in
      y.withUnsafeMutableBufferPointer { y in
        shapedSoftmax(
          inPlace ? UnsafeBufferPointer(y) : x, shape: shape, into: y, algorithm: algorithm,
          logarithm: logarithm, threads: threads, temperature: temperature, kernels: kernels)
      }
    }
    return y
  }

  private func expectMeasured(
    _ y: [Float], logarithm: Bool, _ context: String, against references: [ExactSoftmax]? = nil
  ) {
    let references = references ?? exact
    for (row, (values, exact)) in zip(rowSlices(y, rows: input.rows), references).enumerated() {
      expectWithinBounds(
        values, exact, logarithm ? .floatLogSoftmax : .floatSoftmax, "\(context), row \(row)",
        input: input.floats)
    }
  }

  private func expectSame(_ a: [Float], _ b: [Float], _ context: String, _ variant: String) {
    let same = a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
    if !same { fatalError("\(context): \(variant) differs; input \(input.floats.prefix(64))") }
  }
}

/// Double or Float16 rows through the public API (one kernel set: these rows have no kernels
/// of their own per set; Float16 rows run the selected Float kernels).
func checkPublicPath<T: CheckedFloat & SoftmaxElement>(
  _ x: [T], rows: Int, as families: (softmax: FunctionFamily, logSoftmax: FunctionFamily)
) {
  let shape = [rows, x.count / rows]
  let y = softmax(x, shape: shape)
  let logY = logSoftmax(x, shape: shape)
  for (row, values) in rowSlices(x, rows: rows).enumerated() {
    let exact = ExactSoftmax(values.map(Double.init))
    let range = row * shape[1]..<(row + 1) * shape[1]
    expectWithinBounds(
      Array(y[range]), exact, families.softmax, "\(T.self) softmax, row \(row)", input: values)
    expectWithinBounds(
      Array(logY[range]), exact, families.logSoftmax, "\(T.self) logSoftmax, row \(row)",
      input: values)
  }
}

/// Traps with the row and what went wrong unless `y` meets `family`'s documented bound (the
/// measurement and the criteria of `softmax check`) and, for probabilities, lies in [0, 1].
func expectWithinBounds<T: CheckedFloat>(
  _ y: [T], _ exact: ExactSoftmax, _ family: FunctionFamily, _ context: String, input: [T]
) {
  let bound = AccuracyBounds.bound(for: family)
  let isSoftmax = [.floatSoftmax, .doubleSoftmax, .halfSoftmax].contains(family)
  let row =
    isSoftmax
    ? RowMeasurement(probabilities: y, exact: exact, measure: bound.measure)
    : RowMeasurement(logProbabilities: y, exact: exact, measure: bound.measure)
  var broken = row.problems
  if let limit = bound.maxError, row.maxError > limit {
    broken.append("error \(row.maxError) > \(limit) at \(row.worst ?? "?")")
  }
  if let limit = bound.maxULP, row.maxULP > limit {
    broken.append("\(row.maxULP) ulp > \(limit)")
  }
  if let limit = bound.maxSumError, let sum = row.sumError, sum > limit {
    broken.append("|Σy − 1| = \(sum) > \(limit)")
  }
  // A probability may exceed 1 by the bound's rounding (p ≤ 1, so y ≤ p · (1 + error)), or by
  // one ulp where the bound counts ulps: AVX-512 Two-Pass gives 1.0000001 for one element.
  let ceiling = Swift.max(1 + (bound.maxError ?? 0), Double((1 as T).nextUp))
  if isSoftmax, let outside = y.firstIndex(where: { $0 < 0 || Double($0) > ceiling }) {
    broken.append("[\(outside)] = \(y[outside]) is not in [0, 1] within the bound")
  }
  // fatalError, not precondition: an optimized build drops a precondition's message.
  if !broken.isEmpty {
    fatalError("\(context): \(broken.prefix(3)); n = \(y.count), input \(input.prefix(64))")
  }
}

/// The rows of a row-major array.
func rowSlices<T>(_ values: [T], rows: Int) -> [[T]] {
  let length = values.count / rows
  return (0..<rows).map { Array(values[$0 * length..<($0 + 1) * length]) }
}
