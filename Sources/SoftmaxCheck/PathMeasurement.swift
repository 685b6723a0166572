import Softmax

/// Measures every ``CheckedFunction`` through the public API on the kernel set this process
/// runs (`SoftmaxRuntime.selectedKernelSet`, fixed for the process's lifetime).
struct PathMeasurement {
  var configuration: CheckConfiguration
  private var lines: [CheckedFunction: FunctionTally] = [:]

  init(configuration: CheckConfiguration) {
    self.configuration = configuration
    for function in CheckedFunction.allCases {
      lines[function] = FunctionTally(bound: configuration.bound(for: function.family))
    }
  }

  /// Runs every distribution, size and special-value row.
  mutating func run() -> PathReport {
    for (d, distribution) in CheckDistribution.allCases.enumerated() {
      for size in configuration.sizes {
        // Each row has its own seed, so that one row can be reproduced alone.
        let seed = configuration.seed &* 0x1_0000_0001 &+ UInt64(d) &* 0x9E37_79B9 &+ UInt64(size)
        let values = distribution.values(count: size, seed: seed)
        let context = "\(distribution.rawValue) n=\(size)"
        measureFloat(values, context: context, special: nil)
        #if !(os(macOS) && arch(x86_64))
          if distribution.fitsHalf { measureHalf(values, context: context, special: nil) }
        #endif
        measureDouble(values, context: context, special: nil)
      }
    }
    for special in SpecialCase.all {
      for row in special.rows(Double(Float.greatestFiniteMagnitude)) {
        measureFloat(row, context: "\(row.prefix(4))…", special: special.name)
      }
      #if !(os(macOS) && arch(x86_64))
        for row in special.rows(Double(Float16.greatestFiniteMagnitude)) {
          measureHalf(row, context: "\(row.prefix(4))…", special: special.name)
        }
      #endif
      for row in special.rows(Double.greatestFiniteMagnitude) {
        measureDouble(row, context: "\(row.prefix(4))…", special: special.name)
      }
    }
    return PathReport(
      isa: SoftmaxRuntime.selectedKernelSet, kernelPath: SoftmaxRuntime.kernelPath,
      functions: CheckedFunction.allCases.map { lines[$0]!.report(for: $0) }, error: nil)
  }

  private mutating func measureFloat(_ values: [Double], context: String, special: String?) {
    let x = values.map { Float($0) }
    let exact = ExactSoftmax(x.map { Double($0) })
    for algorithm in SoftmaxAlgorithm.allCases {
      var y = Softmax.softmax(x, algorithm: algorithm)
      configuration.perturbation?(.softmax(algorithm), &y)
      add(.softmax(algorithm), context, special) {
        RowMeasurement(probabilities: y, exact: exact, measure: $0)
      }
    }
    var y = Softmax.logSoftmax(x)
    configuration.perturbation?(.logSoftmax, &y)
    add(.logSoftmax, context, special) {
      RowMeasurement(logProbabilities: y, exact: exact, measure: $0)
    }
  }

  #if !(os(macOS) && arch(x86_64))
    private mutating func measureHalf(_ values: [Double], context: String, special: String?) {
      measure(
        values.map { Float16($0) }, as: (.halfSoftmax, .halfLogSoftmax), context: context,
        special: special)
    }
  #endif

  private mutating func measureDouble(_ x: [Double], context: String, special: String?) {
    measure(x, as: (.doubleSoftmax, .doubleLogSoftmax), context: context, special: special)
  }

  /// The one-row softmax and log-softmax of `x` (Float16 or Double), as the two functions.
  private mutating func measure<T: CheckedFloat & SoftmaxElement>(
    _ x: [T], as functions: (softmax: CheckedFunction, logSoftmax: CheckedFunction),
    context: String, special: String?
  ) {
    let exact = ExactSoftmax(x.map { Double($0) })
    let y = Softmax.softmax(x)
    add(functions.softmax, context, special) {
      RowMeasurement(probabilities: y, exact: exact, measure: $0)
    }
    let logY = Softmax.logSoftmax(x)
    add(functions.logSoftmax, context, special) {
      RowMeasurement(logProbabilities: logY, exact: exact, measure: $0)
    }
  }

  private mutating func add(
    _ function: CheckedFunction, _ context: String, _ special: String?,
    _ measure: (ErrorMeasure) -> RowMeasurement
  ) {
    let measurement = measure(lines[function]!.bound.measure)
    if let special {
      lines[function]!.addSpecial(measurement, clause: special, context: context)
    } else {
      lines[function]!.add(measurement, context: context)
    }
  }
}

/// The running maxima and failures of one table line.
struct FunctionTally {
  let bound: AccuracyBound
  var cases = 0
  var maxError = 0.0
  var worst: String?
  var maxULP = 0.0
  var maxSumError = 0.0
  var failures: [String] = []
  /// Clause name → whether every row of it passed, in the order first seen.
  var clauses: [(name: String, passed: Bool)] = []

  /// The most failures kept per line: enough to diagnose, short enough to print.
  static let failureLimit = 6

  init(bound: AccuracyBound) { self.bound = bound }

  mutating func add(_ row: RowMeasurement, context: String) {
    cases += 1
    if row.maxError > maxError || worst == nil {
      maxError = max(maxError, row.maxError)
      worst = row.worst.map { "\(context) \($0)" }
    }
    maxULP = max(maxULP, row.maxULP)
    maxSumError = max(maxSumError, row.sumError ?? 0)
    for problem in row.problems { note("\(context) \(problem)") }
  }

  mutating func addSpecial(_ row: RowMeasurement, clause: String, context: String) {
    let reasons = row.problems + exceeded(by: row)
    if clauses.last?.name != clause { clauses.append((clause, true)) }
    if !reasons.isEmpty {
      clauses[clauses.count - 1].passed = false
      note("special value \"\(clause)\", row \(context): \(reasons[0])")
    }
  }

  /// The bounds that `row` exceeds, as sentences.
  func exceeded(by row: RowMeasurement) -> [String] {
    var reasons: [String] = []
    if let limit = bound.maxError, row.maxError > limit {
      reasons.append("error \(format(row.maxError)) > \(formatBound(limit)) at \(row.worst ?? "?")")
    }
    if let limit = bound.maxULP, row.maxULP > limit {
      reasons.append("\(format(row.maxULP)) ulp > \(format(limit)) ulp")
    }
    if let limit = bound.maxSumError, let sum = row.sumError, sum > limit {
      reasons.append("|Σy − 1| = \(format(sum)) > \(formatBound(limit))")
    }
    return reasons
  }

  private mutating func note(_ failure: String) {
    if failures.count < Self.failureLimit { failures.append(failure) }
  }

  func report(for function: CheckedFunction) -> FunctionReport {
    var all = failures
    if let limit = bound.maxError, maxError > limit {
      all.insert("max error \(format(maxError)) > \(formatBound(limit)): \(worst ?? "?")", at: 0)
    }
    if let limit = bound.maxULP, maxULP > limit {
      all.insert("max ulp \(format(maxULP)) > \(format(limit))", at: 0)
    }
    if let limit = bound.maxSumError, maxSumError > limit {
      all.insert("max |Σy − 1| \(format(maxSumError)) > \(formatBound(limit))", at: 0)
    }
    let isSoftmax = function.family.isSoftmax
    return FunctionReport(
      function: function.name, bound: bound, cases: cases, maxError: maxError, worst: worst,
      maxULP: isSoftmax ? maxULP : nil, maxSumError: isSoftmax ? maxSumError : nil,
      specialPassed: clauses.filter(\.passed).count, specialTotal: clauses.count,
      failures: all)
  }
}
