/// How a row is cut into chunks for threads. The cut depends on the row length only, never on
/// the thread count, and partial results are merged in chunk order, so a row's result is
/// bitwise the same whether one thread or many computed it.
package struct RowChunks: Sendable {
  /// At most this many chunks: their partial sums live in a small stack buffer.
  package static let maximumCount = 64
  /// Chunks are never shorter than this: below it, waking a thread costs more than it saves.
  package static let minimumLength = 1 << 16

  package let count: Int
  package let length: Int
  package let total: Int

  package init(rowLength: Int) {
    total = rowLength
    if rowLength <= Self.minimumLength {
      // One chunk, without the divisions: short rows are where the per-call cost shows.
      length = Self.minimumLength
      count = 1
      return
    }
    // A multiple of 4096 keeps the kernels' summation blocks aligned with the chunks.
    let even = (rowLength + Self.maximumCount - 1) / Self.maximumCount
    length = Swift.max(Self.minimumLength, (even + 4095) & ~4095)
    count = Swift.max(1, (rowLength + length - 1) / length)
  }

  /// The elements of chunk `index`.
  package func range(_ index: Int) -> Range<Int> {
    let start = index * length
    return start..<Swift.min(total, start + length)
  }
}
