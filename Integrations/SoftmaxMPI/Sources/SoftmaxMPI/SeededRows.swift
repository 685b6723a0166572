// The seeded rows of `softmax-mpi check` and `bench`, shared with the tests and the mpi4py
// peer (scripts/peer_mpi.py computes the same numbers with NumPy): element i of a batch is a
// function of (seed, i) alone, so every rank makes its own shard of the same rows.

/// SplitMix64's output function at position `index` of the stream of `seed` (stateless).
package func splitMix(seed: UInt64, index: UInt64) -> UInt64 {
  var z = seed &+ (index &+ 1) &* 0x9e37_79b9_7f4a_7c15
  z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
  z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
  return z ^ (z >> 31)
}

/// Element (row, column) of the seeded rows: uniform in [−scale, scale), as Float:
/// u = (z >> 40) · 2^−24 (exact), then scale · (2u − 1) with one rounding.
@inline(__always)
package func seededLogit(seed: UInt64, row: Int, column: Int, classes: Int, scale: Float)
  -> Float
{
  let z = splitMix(seed: seed, index: UInt64(row * classes + column))
  let u = Float(z >> 40) * 0x1p-24
  return scale * (2 * u - 1)
}

/// The label of row `row`: z mod classes with z from the stream of seed + 1.
package func seededLabel(seed: UInt64, row: Int, classes: Int) -> Int32 {
  Int32(splitMix(seed: seed &+ 1, index: UInt64(row)) % UInt64(classes))
}

/// Columns `columns` of `rows` seeded rows of `classes` classes, row-major.
package func seededShard(
  seed: UInt64, rows: Int, classes: Int, columns: Range<Int>, scale: Float
) -> [Float] {
  var shard = [Float](repeating: 0, count: rows * columns.count)
  var i = 0
  for r in 0..<rows {
    for c in columns {
      shard[i] = seededLogit(seed: seed, row: r, column: c, classes: classes, scale: scale)
      i += 1
    }
  }
  return shard
}
