import Foundation

/// The shaped array of `--shape`: its dimensions and the axis of the softmax.
public struct BenchLayout: Sendable, Codable, Equatable {
  /// Dimensions, outermost first.
  public var shape: [Int]
  /// The normalized axis, negative counting from the end.
  public var axis: Int

  /// Elements in the array.
  public var count: Int { shape.reduce(1, *) }

  /// "4096x1024 axis -1", for headers and the CSV's shape column.
  public var label: String {
    shape.map(String.init).joined(separator: "x") + " axis \(axis)"
  }

  /// Parses "4096x1024" (or "4096×1024") with `axis`; every problem is a one-line error.
  public init(parsing text: String, axis: Int) throws {
    let parts = text.split(
      omittingEmptySubsequences: false, whereSeparator: { $0 == "x" || $0 == "×" })
    var dimensions: [Int] = []
    for part in parts {
      guard let value = Int(part.trimmingCharacters(in: .whitespaces)), value >= 1 else {
        throw BenchError(
          "--shape: '\(part)' in '\(text)' is not a dimension (use e.g. 4096x1024 or 8x128256)")
      }
      dimensions.append(value)
    }
    let count = dimensions.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
    guard count >= 1, count <= 1 << 34 else {
      throw BenchError("--shape: \(text) has too many elements (at most 2^34)")
    }
    guard (-dimensions.count..<dimensions.count).contains(axis) else {
      throw BenchError(
        "--axis: \(axis) is out of range for --shape \(text) "
          + "(use \(-dimensions.count)...\(dimensions.count - 1))")
    }
    shape = dimensions
    self.axis = axis
  }
}
