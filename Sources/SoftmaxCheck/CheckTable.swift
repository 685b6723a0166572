import Foundation

/// The text `softmax check` prints: a header naming inputs, sizes and kernels, one table line
/// per kernel set × function, the reasons for every failure, and a last line with the verdict.
struct CheckTable {
  var report: CheckReport

  var lines: [String] {
    var lines = header
    lines += aligned(
      [
        [
          "ISA", "function", "cases", "max error", "bound", "max ulp", "bound", "max |Σy−1|",
          "bound", "special", "result",
        ]
      ] + report.paths.flatMap(rows))
    let failures = report.paths.flatMap { path in
      (path.error.map { ["\(path.isa): \($0)"] } ?? [])
        + path.functions.flatMap { function in
          function.failures.map { "\(path.isa) \(function.function): \($0)" }
        }
    }
    if !failures.isEmpty {
      lines += ["", "Failures:"] + failures.map { "  " + $0 }
    }
    lines += ["", summary]
    return lines
  }

  private var header: [String] {
    let sizes = report.sizes.map(formatSize).joined(separator: ", ")
    var lines = [
      "softmax check: accuracy against an exact (Double) reference, seed \(report.seed), "
        + "row lengths \(sizes)\(report.quick ? " (--quick)" : "")",
      "inputs: "
        + CheckDistribution.allCases.map(\.summary).joined(separator: "; "),
      "special values: " + report.specialCases.joined(separator: "; "),
      "errors: Float softmax relative for p ≥ 2^-124, log-softmax |y − ℓ| / max(1, |ℓ|); "
        + "see the README's \"Accuracy bounds\"",
    ]
    for path in report.paths where path.error == nil {
      lines.append("kernels \(path.isa): \(path.kernelPath)")
    }
    return lines + [""]
  }

  private func rows(_ path: PathReport) -> [[String]] {
    guard path.error == nil else {
      return [[path.isa, "(not measured)", "", "", "", "", "", "", "", "", "FAIL"]]
    }
    return path.functions.map { f in
      [
        path.isa, f.function, String(f.cases), format(f.maxError),
        f.bound.maxError.map(formatBound) ?? "—", f.maxULP.map(format) ?? "—",
        f.bound.maxULP.map(format) ?? "—", f.maxSumError.map(format) ?? "—",
        f.bound.maxSumError.map(formatBound) ?? "—", "\(f.specialPassed)/\(f.specialTotal)",
        f.passed ? "PASS" : "FAIL",
      ]
    }
  }

  private var summary: String {
    let isas = report.paths.map(\.isa).joined(separator: ", ")
    let total = report.paths.reduce(0) { $0 + max($1.functions.count, 1) }
    let failed = report.paths.flatMap { path in
      path.error != nil
        ? ["\(path.isa) (not measured)"]
        : path.functions.filter { !$0.passed }.map { "\(path.isa) \($0.function)" }
    }
    if failed.isEmpty {
      return "PASS: all \(total) lines within the README's accuracy bounds on \(isas)"
    }
    return "FAIL: \(failed.count) of \(total) lines exceed the README's accuracy bounds: "
      + failed.joined(separator: ", ")
  }

  /// Columns padded to their widest cell: text left, numbers right.
  private func aligned(_ table: [[String]]) -> [String] {
    let widths = table[0].indices.map { column in table.map { $0[column].count }.max()! }
    let leftColumns: Set<Int> = [0, 1, 10]
    return table.map { row in
      row.enumerated().map { column, cell in
        let padding = String(repeating: " ", count: widths[column] - cell.count)
        return leftColumns.contains(column) ? cell + padding : padding + cell
      }
      .joined(separator: "  ")
      .trimmingCharacters(in: .whitespaces)
    }
  }
}

/// An error or ulp count for the table: integers as such, the rest in two significant digits.
func format(_ value: Double) -> String {
  if value == 0 { return "0" }
  if value.isInfinite || value.isNaN { return "\(value)" }
  if value >= 1, value < 1e7, value == value.rounded() { return String(Int(value)) }
  // "%.1e" gives 3.9e-06; the bounds read 1e-5, so drop the exponent's padding to match.
  let text = String(format: "%.1e", value)
  guard let e = text.firstIndex(of: "e") else { return text }
  let exponent = Int(text[text.index(after: e)...])!
  return text[..<e] + "e\(exponent)"
}

/// 1048576 → "2^20", 1000 → "1000".
func formatSize(_ n: Int) -> String {
  n >= 1024 && n.nonzeroBitCount == 1 ? "2^\(n.trailingZeroBitCount)" : String(n)
}
