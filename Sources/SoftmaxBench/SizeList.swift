import Foundation

/// The `--sizes` syntax: a comma-separated list whose items are a size or a geometric range.
///
/// A size is a decimal count of floats with an optional binary suffix (`4096`, `4K`, `16M`,
/// `1G`) or a power of two (`2^20`). A range `A..B` runs from A to B doubling each time;
/// `A..B:4` multiplies by 4 instead. Duplicates are dropped and the result is sorted, so the
/// sweep always runs from small to large.
public enum SizeList {
  /// The largest row the tool accepts: 2^34 floats is 64 GiB, past any machine it targets.
  static let maximum = 1 << 34

  /// Parses `text`, or throws a ``BenchError`` naming the offending item.
  public static func parse(_ text: String) throws -> [Int] {
    var sizes = Set<Int>()
    let items = text.split(separator: ",", omittingEmptySubsequences: false)
    for rawItem in items {
      let item = rawItem.trimmingCharacters(in: .whitespaces)
      guard !item.isEmpty else {
        throw BenchError("--sizes: empty item in '\(text)' (expected e.g. 1K,64K,2^20..2^24)")
      }
      if let dots = item.range(of: "..") {
        var upperText = String(item[dots.upperBound...])
        var factor = 2
        if let colon = upperText.firstIndex(of: ":") {
          let factorText = upperText[upperText.index(after: colon)...]
          guard let parsed = Int(factorText), parsed >= 2 else {
            throw BenchError("--sizes: bad step '\(factorText)' in '\(item)' (need an integer ≥ 2)")
          }
          factor = parsed
          upperText = String(upperText[..<colon])
        }
        let lower = try size(String(item[..<dots.lowerBound]), in: item)
        let upper = try size(upperText, in: item)
        guard lower <= upper else {
          throw BenchError("--sizes: range '\(item)' runs backwards")
        }
        var n = lower
        while n <= upper {
          sizes.insert(n)
          let (next, overflow) = n.multipliedReportingOverflow(by: factor)
          if overflow { break }
          n = next
        }
      } else {
        sizes.insert(try size(item, in: item))
      }
    }
    return sizes.sorted()
  }

  static func size(_ text: String, in item: String) throws -> Int {
    let value: Int?
    if text.hasPrefix("2^") {
      value = Int(text.dropFirst(2)).flatMap { $0 >= 0 && $0 < 62 ? 1 << $0 : nil }
    } else if let last = text.last, let shift = ["K": 10, "M": 20, "G": 30][last.uppercased()] {
      value = Int(text.dropLast()).flatMap { number in
        let (product, overflow) = number.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? nil : product
      }
    } else {
      value = Int(text)
    }
    guard let value else {
      throw BenchError(
        "--sizes: cannot read '\(text)' in '\(item)' (use 4096, 4K, 16M or 2^20; ranges 1K..1M:4)")
    }
    guard value >= 1, value <= maximum else {
      throw BenchError("--sizes: \(value) is out of range (1 … 2^34 floats)")
    }
    return value
  }

  /// Short human form of a size: `2^20` for powers of two, the plain count otherwise.
  public static func label(_ n: Int) -> String {
    n > 0 && n & (n - 1) == 0 ? "2^\(n.trailingZeroBitCount)" : "\(n)"
  }

  /// Compact form for chart axes: 1K, 64K, 1M, 128M.
  static func shortLabel(_ n: Int) -> String {
    if n >= 1 << 30, n % (1 << 30) == 0 { return "\(n >> 30)G" }
    if n >= 1 << 20, n % (1 << 20) == 0 { return "\(n >> 20)M" }
    if n >= 1 << 10, n % (1 << 10) == 0 { return "\(n >> 10)K" }
    return "\(n)"
  }
}
