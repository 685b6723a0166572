// Which classes (columns) each rank holds.

/// How the C classes of every row are split into contiguous shards, one per rank of a
/// communicator: part p holds the columns `bounds[p]..<bounds[p + 1]` of every row.
///
/// Every rank must use the same partition; the sharded operations check that they do (in
/// the same message as the data) and end the job with a message when they do not. Parts may
/// be empty (a rank that holds no class still takes part).
public struct ClassPartition: Sendable, Hashable {
  /// parts + 1 ascending offsets, from 0 to the class count.
  public let bounds: [Int]

  /// A partition with these bounds.
  ///
  /// - Precondition: at least two bounds, the first 0, non-decreasing.
  public init(bounds: [Int]) {
    precondition(bounds.count >= 2, "ClassPartition: needs at least two bounds, got \(bounds)")
    precondition(bounds[0] == 0, "ClassPartition: the first bound must be 0, got \(bounds[0])")
    for (a, b) in zip(bounds, bounds.dropFirst()) {
      precondition(a <= b, "ClassPartition: bounds must not decrease, got \(a) before \(b)")
    }
    self.bounds = bounds
  }

  /// `classes` split into `parts` shards whose widths differ by at most one (the first
  /// `classes % parts` shards take one more), as Megatron splits a vocabulary.
  ///
  /// - Precondition: `classes` ≥ 0 and `parts` ≥ 1.
  public static func even(classes: Int, parts: Int) -> ClassPartition {
    precondition(classes >= 0, "ClassPartition.even: negative class count \(classes)")
    precondition(parts >= 1, "ClassPartition.even: needs at least one part, got \(parts)")
    let base = classes / parts
    let extra = classes % parts
    var bounds = [0]
    for p in 0..<parts { bounds.append(bounds[p] + base + (p < extra ? 1 : 0)) }
    return ClassPartition(bounds: bounds)
  }

  /// The number of classes, C.
  public var classes: Int { bounds[bounds.count - 1] }

  /// The number of shards.
  public var parts: Int { bounds.count - 1 }

  /// The columns that part `part` holds.
  public func columns(ofPart part: Int) -> Range<Int> {
    precondition(part >= 0 && part < parts, "ClassPartition: no part \(part) of \(parts)")
    return bounds[part]..<bounds[part + 1]
  }
}
