/// What `softmax check --json` prints: every kernel set's measurements and the verdict.
public struct CheckReport: Sendable, Codable {
  /// The row lengths measured.
  public var sizes: [Int]
  /// The seed of every input.
  public var seed: UInt64
  /// Whether `--quick` shortened the run.
  public var quick: Bool
  /// The input distributions, by name (``CheckDistribution``).
  public var distributions: [String]
  /// The clauses of the special-value contract, by name.
  public var specialCases: [String]
  /// One entry per kernel set checked, narrowest first.
  public var paths: [PathReport]
  /// Whether every function on every kernel set kept its bound.
  public var passed: Bool
}

/// The measurements on one kernel set, taken in a process that ran only that set.
public struct PathReport: Sendable, Codable {
  /// The kernel set's name: `portable`, `avx2` or `avx512`.
  public var isa: String
  /// `SoftmaxRuntime.kernelPath` in that process, proving which kernels ran.
  public var kernelPath: String
  /// One entry per ``CheckedFunction``, in table order.
  public var functions: [FunctionReport]
  /// Why the measurement could not be taken (for example a crashed child process), or nil.
  public var error: String?

  /// Whether the path was measured and every function kept its bound.
  public var passed: Bool { error == nil && functions.allSatisfy(\.passed) }
}

/// One line of the table: a function on one kernel set, over every distribution and size,
/// plus the special-value clauses.
public struct FunctionReport: Sendable, Codable {
  /// ``CheckedFunction/name``.
  public var function: String
  /// The bound it was judged by.
  public var bound: AccuracyBound
  /// Rows measured (distributions × sizes).
  public var cases: Int
  /// The largest error under ``AccuracyBound/measure``.
  public var maxError: Double
  /// Where it occurred: distribution, length, index, output and exact value.
  public var worst: String?
  /// The largest ulp distance from the correctly rounded exact value; nil for log-softmax,
  /// whose ulps near 0 say nothing about accuracy.
  public var maxULP: Double?
  /// The largest |Σ y − 1|; nil for log-softmax.
  public var maxSumError: Double?
  /// Special-value clauses kept, of ``specialTotal``.
  public var specialPassed: Int
  /// Special-value clauses checked.
  public var specialTotal: Int
  /// Every reason the function failed (at most a few per kind), empty when it passed: in the
  /// JSON, where ``passed`` is not written, an empty list is the verdict.
  public var failures: [String]

  /// Whether the function kept its bound and every special-value clause.
  public var passed: Bool { failures.isEmpty }
}
