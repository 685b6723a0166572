internal import SoftmaxKernels

// Temperatures and boolean or additive masks fused into pass 1. The shaped entry points
// normalize effective logits (x / T + bias, or −inf where a mask drops an entry). Instead of a
// pass that writes them to the output before the softmax runs there, pass 1 writes them one
// block of `sumBlockSize` (4096) elements at a time and runs on that block while it is in L1;
// the later passes run in place on the output. The row is read from memory as often as by a
// plain softmax (plus the mask itself, read once).
//
// The blocks are the kernels' own summation blocks and never cross a chunk (chunks are
// multiples of 4096 elements), and their results merge in the order the kernels merge them, so
// the results are bitwise those of the softmax of the effective logits, for any thread count.

/// The effective logits of one row, as plain data: x / divisor + bias, or −inf where keep is
/// false. The pointers are to the row's first mask element.
struct LogitTransform {
  /// The temperature; 1 divides nothing.
  var divisor: Float = 1
  /// Subtracted before the division, and `offset` after the bias (`ShiftedRows.swift`).
  var shift: Float = 0
  var offset: Float = 0
  var keep: UnsafePointer<Bool>? = nil
  var bias: UnsafePointer<Float>? = nil

  /// Whether the effective logits are the logits themselves.
  var isIdentity: Bool {
    divisor == 1 && shift == 0 && offset == 0 && keep == nil && bias == nil
  }
}

/// What pass 1 computes over the effective logits.
struct FirstPassParts: OptionSet {
  let rawValue: UInt8
  /// Two-Pass's Σ e^x as a ScaledExpSum.
  static let twoPassSum = FirstPassParts(rawValue: 1)
  /// The maximum (Three-Pass pass 1, and the fully-masked-row test of the others).
  static let maximum = FirstPassParts(rawValue: 2)
  /// The online softmax's (maximum, Σ e^(x − maximum)).
  static let onlineSum = FirstPassParts(rawValue: 4)

  /// The pass 1 of `algorithm`, which must be resolved.
  init(_ algorithm: SoftmaxAlgorithm) {
    switch algorithm {
    case .auto, .twoPass: self = .twoPassSum
    case .threePassRecompute, .threePassReload: self = .maximum
    case .online: self = .onlineSum
    }
  }

  init(rawValue: UInt8) {
    self.rawValue = rawValue
  }
}

/// The results of pass 1 over a row; parts not computed keep their empty values.
struct FirstPass {
  var sum = ScaledExpSum.zero
  /// NaN when a NaN was seen by the maximum kernel (it may also miss it).
  var maximum = -Float.infinity
  var online = OnlineSum.empty

  /// The largest effective logit of what `parts` computed (the online maximum ignores NaN,
  /// whose sum is NaN instead), −inf when every one is −inf.
  func largest(_ parts: FirstPassParts) -> Float {
    parts.contains(.maximum) ? maximum : online.maximum
  }
}

/// A chunk's pass-1 result when it is not an online sum (which is stored as an `OnlineSum`):
/// 16 bytes, so that the 64 chunk slots of `RowPlan.reduce` fit in the 1 KiB that
/// `withUnsafeTemporaryAllocation` keeps on the stack (a larger type would call malloc).
struct ChunkFirstPass {
  var sum: ScaledExpSum
  var maximum: Float

  /// The chunk's results after `other`'s, merged as the kernels and `RowPlan.reduce` merge
  /// each part.
  func merged(with other: ChunkFirstPass) -> ChunkFirstPass {
    ChunkFirstPass(
      sum: sum.merged(with: other.sum), maximum: maximumKeepingNaN(maximum, other.maximum))
  }
}

extension ChunkPass {
  /// `.firstPass` over the elements `range` of one chunk, block by block, into the chunk's
  /// slot: an `OnlineSum` for `.onlineSum`, else a `ChunkFirstPass`.
  func firstPass(_ row: RowPlan<Float>, _ range: Range<Int>, chunk: Int) {
    let k = row.kernels
    var result = FirstPass()
    var start = range.lowerBound
    while start < range.upperBound {
      let n = Swift.min(sumBlockSize, range.upperBound - start)
      var block = row.x + start
      if !transform.isIdentity {
        k.effectiveLogits(
          block, row.y + start, n, transform.divisor, transform.shift, transform.offset,
          transform.keep.map { $0 + start }, transform.bias.map { $0 + start })
        block = UnsafePointer(row.y + start)
      }
      if parts.contains(.twoPassSum) {
        result.sum = result.sum.merged(with: k.twoPassSum(block, n))
      }
      if parts.contains(.maximum) {
        result.maximum = maximumKeepingNaN(result.maximum, k.max(block, n))
      }
      if parts.contains(.onlineSum) {
        result.online = result.online.merged(with: k.onlineSum(block, n))
      }
      start += n
    }
    if parts.contains(.onlineSum) {
      store(result.online, chunk)
    } else {
      store(ChunkFirstPass(sum: result.sum, maximum: result.maximum), chunk)
    }
  }
}

extension RowAlgorithms {
  /// Pass 1 (`parts`) over the effective logits of `row.x`, which it writes to `row.y` unless
  /// the transform is the identity.
  static func firstPass(
    _ row: RowPlan<Float>, transform: LogitTransform, parts: FirstPassParts
  ) -> FirstPass {
    var pass = ChunkPass(.firstPass)
    pass.transform = transform
    pass.parts = parts
    if parts.contains(.onlineSum) {
      return FirstPass(online: row.reduce(pass, as: OnlineSum.self) { $0.merged(with: $1) })
    }
    let total = row.reduce(pass, as: ChunkFirstPass.self) { $0.merged(with: $1) }
    return FirstPass(sum: total.sum, maximum: total.maximum)
  }

  /// The passes of `algorithm` (resolved) after `first`, its pass 1, on `row`: the effective
  /// logits, normally in place in the output.
  static func finish(_ algorithm: SoftmaxAlgorithm, _ row: RowPlan<Float>, after first: FirstPass) {
    switch algorithm {
    case .auto, .twoPass: twoPass(row, sum: first.sum)
    case .threePassRecompute: threePassRecompute(row, maximum: first.maximum)
    case .threePassReload:
      // Rows of several chunks run the chunked method, as plain rows do (each chunk scaled by
      // its own e^(m_c − M) / S), so that the result stays bitwise the softmax of the
      // effective logits; the row maximum of pass 1 would give the classic method's rounding.
      // A row of one chunk is the classic method either way.
      if row.chunks.count > 1 { return threePassReload(row) }
      threePassReload(row, maximum: first.maximum)
    case .online: online(row, total: first.online)
    }
  }
}
