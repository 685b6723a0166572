// The class labels of the losses that take one class per row.

/// One class label per row, with the rows that the ignore index leaves out.
struct RowLabels {
  let labels: UnsafePointer<Int32>
  let ignoreIndex: Int32?

  /// Whether row `index` is left out.
  func isIgnored(_ index: Int) -> Bool { labels[index] == ignoreIndex }

  /// Row `index`'s class, or nil for an ignored row, whose loss and gradient (`count`
  /// entries) are then written as 0: it counts for nothing.
  func label<Compute: BinaryFloatingPoint>(
    ofRow index: Int, losses: UnsafeMutablePointer<Double>,
    gradient out: UnsafeMutablePointer<Compute>?, count: Int
  ) -> Int? {
    let label = labels[index]
    guard label == ignoreIndex else { return Int(label) }
    losses[index] = 0
    out?.update(repeating: 0, count: count)
    return nil
  }
}
