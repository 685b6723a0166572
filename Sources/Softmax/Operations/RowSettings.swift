internal import SoftmaxKernels

/// Entries of each row that a softmax along the last axis leaves out, without a mask in memory.
public enum SoftmaxMask: Sendable, Hashable {
  /// Every entry counts.
  case none
  /// Causal attention: in a [..., queries, keys] array, query i sees keys j ≤ i + offset and
  /// the others get exactly 0 (log-softmax: −inf). `offset` 0 is the square case; with a cache
  /// of past keys, `offset` = keys − queries aligns the last query with the last key.
  case causal(offset: Int = 0)
  /// A boolean mask, true = keep: entries where it is false get exactly 0 (log-softmax: −inf).
  /// Its count is the row length (the same mask for every row) or the array's count (one value
  /// per element). No extra pass over the row: pass 1 writes the effective logits (−inf where
  /// dropped) to the output one 4096-element block at a time and reads them back from L1, so
  /// the row is read from memory as often as without a mask; the mask is read once (1 byte per
  /// element). Results equal the softmax of the effective logits bit for bit.
  case keep([Bool])
  /// An additive mask (attention bias), added to the logits after the temperature: −inf drops an
  /// entry, finite values shift it (+inf + (−inf) is NaN, as in IEEE arithmetic). Count as for
  /// ``keep(_:)``. Applied in pass 1 like ``keep(_:)``: no extra pass over the row, one read of
  /// the mask (4 bytes per element) and one addition per element.
  case additive([Float])

  /// The count of a keep or additive mask, nil for the others.
  var valueCount: Int? {
    switch self {
    case .keep(let values): values.count
    case .additive(let values): values.count
    case .none, .causal: nil
    }
  }
}

/// What a row with nothing kept (every entry masked out or −inf) becomes.
public enum FullyMaskedRows: Sendable, Hashable {
  /// All zeros (log-softmax: all −inf): the row attends to nothing, and NaN does not spread
  /// into the layers after it. The default, as in PyTorch's `_safe_softmax`.
  case zeros
  /// All NaN, the IEEE answer to 0/0, for callers that want such rows to be loud. The row's
  /// maximum comes from pass 1 (Three-Pass and online compute it anyway; Two-Pass and
  /// log-softmax take it from each 4096-element block while it is in L1), so no extra read.
  case nan
}

/// What an operation does to each row besides its own passes, for any element type: the
/// masks, sink, temperature and fully-masked-row policy of the shaped entry points, and the
/// parts of a row's work that do not depend on the element type (which entries a causal mask
/// keeps, the masked tail, the argmax limit at temperature 0).
struct RowSettings {
  /// Probabilities or their logarithms.
  var output: RowOutput
  /// The row algorithm where the element type has several.
  var algorithm: SoftmaxAlgorithm = .auto
  var mask: SoftmaxMask = .none
  /// In Double for every element type: it holds a Float, Double or Float16 exactly, and a
  /// quotient of two of them rounded to the element type equals their quotient in that type.
  var sink: Double? = nil
  var fullyMaskedRows: FullyMaskedRows = .zeros
  /// Logits (and the sink) are divided by it; 0 is the limit, the argmax.
  var temperature: Double = 1
  /// The size of the second-to-last axis (queries), for causal masks.
  var queries: Int = 1
  /// Elements between the masks of consecutive rows: 0 for a mask shared by all rows.
  var maskStride: Int = 0

  /// Whether anything beyond a plain operation on the whole row is asked for.
  var isPlain: Bool {
    mask == .none && sink == nil && fullyMaskedRows == .zeros && temperature == 1
  }

  /// The sink as a logit of the tempered row: s / T.
  var temperedSink: Double? {
    temperature == 1 ? sink : sink.map { $0 / temperature }
  }

  /// Whether a row with nothing kept becomes NaN: the policy asks for it and no sink takes
  /// the mass.
  var nanIfEmpty: Bool {
    fullyMaskedRows == .nan && !(temperedSink.map { $0 > -.infinity } ?? false)
  }

  /// The first elements of row number `row` that a causal mask keeps (all of them without
  /// one); writes the others, which get nothing.
  func keptPrefix<Scalar: BinaryFloatingPoint>(
    of y: UnsafeMutablePointer<Scalar>, length: Int, row: Int
  ) -> Int {
    var kept = length
    if case .causal(let offset) = mask {
      kept = Swift.min(length, Swift.max(0, row % queries + offset + 1))
    }
    if kept < length { (y + kept).update(repeating: output.empty(), count: length - kept) }
    return kept
  }

  /// The limit of the row as the temperature goes to 0, by `ArgmaxLimit`, with the masks
  /// applied (an entry a mask drops counts as −inf; an additive mask only drops, it does not
  /// shift at this limit) and the sink as one more entry; a row with nothing kept follows
  /// `fullyMaskedRows`. Masks are applied by a pass that writes the effective logits to `y`:
  /// argmax rows are a limit case, not a hot path.
  func argmax<Scalar: BinaryFloatingPoint & Sendable>(
    _ x: UnsafePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, kept: Int, length: Int,
    row: Int
  ) {
    var x = x
    let start = row * maskStride
    switch mask {
    case .keep(let keep):
      keep.withUnsafeBufferPointer { k in
        for i in 0..<kept { y[i] = k[start + i] ? x[i] : -.infinity }
      }
      x = UnsafePointer(y)
    case .additive(let bias):
      bias.withUnsafeBufferPointer { a in
        for i in 0..<kept { y[i] = a[start + i] == -.infinity ? -.infinity : x[i] }
      }
      x = UnsafePointer(y)
    case .none, .causal: break
    }
    var limit = ArgmaxLimit<Scalar>()
    limit.accumulate(x, count: kept)
    if let sink { limit.accumulate(Scalar(sink)) }
    if limit.isEmpty && fullyMaskedRows == .nan {
      return y.update(repeating: .nan, count: length)
    }
    limit.write(x, y, count: kept, output: output)
  }

  /// `width` adjacent columns of an inner axis (`length` steps, `stride` apart) with the
  /// temperature and the fully-masked-row policy (inner axes take no masks or sinks), around
  /// `plain`, the operation's strided kernel at T = 1, which reads its first argument and
  /// writes its second (the same memory when the quotients (x − max) / T were written to `y`
  /// first: an extra pass, as inner axes are not the hot path). T = 0 is the argmax limit, column by
  /// column. A column with nothing kept (only −inf) becomes NaN under `.nan`, found on the
  /// input before the output may overwrite it.
  func columns<Scalar: BinaryFloatingPoint & Sendable>(
    _ x: UnsafePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, length: Int, stride: Int,
    width: Int, plain: (UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>) -> Void
  ) {
    guard temperature != 1 || fullyMaskedRows != .zeros else { return plain(x, y) }
    var empty: UInt64 = 0
    if fullyMaskedRows == .nan {
      for c in 0..<width
      where !(0..<length).contains(where: { x[$0 * stride + c] != -.infinity }) {
        empty |= 1 << c
      }
    }
    if temperature == 0 {
      for c in 0..<width {
        var limit = ArgmaxLimit<Scalar>()
        limit.accumulate(x + c, count: length, stride: stride)
        limit.write(x + c, y + c, count: length, stride: stride, output: output)
      }
    } else if temperature != 1 {
      // (x − m) / T in Double after the column's largest finite m, rounded once: exact where
      // the probabilities are not negligible, and no quotient overflows (ShiftedRows.swift).
      for c in 0..<width {
        var largest = -Double.infinity
        for k in 0..<length { largest = Swift.max(largest, Double(x[k * stride + c])) }
        let shift = largest.isFinite ? largest : 0
        for k in 0..<length {
          y[k * stride + c] = Scalar((Double(x[k * stride + c]) - shift) / temperature)
        }
      }
      plain(UnsafePointer(y), y)
    } else {
      plain(x, y)
    }
    for c in 0..<width where empty & (1 << c) != 0 {
      SpecialValues.writeNaN(y + c, count: length, stride: stride)
    }
  }
}
