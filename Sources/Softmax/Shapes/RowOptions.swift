internal import SoftmaxKernels

/// Entries of each row that a softmax along the last axis leaves out, without a mask in memory.
public enum SoftmaxMask: Sendable, Hashable {
  /// Every entry counts.
  case none
  /// Causal attention: in a [..., queries, keys] array, query i sees keys j ≤ i + offset and
  /// the others get exactly 0 (log-softmax: −inf). `offset` 0 is the square case; with a cache
  /// of past keys, `offset` = keys − queries aligns the last query with the last key.
  case causal(offset: Int = 0)
}

/// What a row with nothing kept (every entry masked out or −inf) becomes.
public enum FullyMaskedRows: Sendable, Hashable {
  /// All zeros (log-softmax: all −inf): the row attends to nothing, and NaN does not spread
  /// into the layers after it. The default, as in PyTorch's `_safe_softmax`.
  case zeros
  /// All NaN, the IEEE answer to 0/0, for callers that want such rows to be loud. It costs one
  /// more read of each row (its maximum).
  case nan
}

/// What happens to each contiguous row besides the softmax itself.
struct RowOptions {
  var algorithm: SoftmaxAlgorithm
  var logarithm: Bool
  var mask: SoftmaxMask = .none
  var sink: Float? = nil
  var fullyMaskedRows: FullyMaskedRows = .zeros
  /// The size of the second-to-last axis (queries), for causal masks.
  var queries: Int = 1

  /// Whether anything beyond a plain softmax of the whole row is asked for.
  var isPlain: Bool { mask == .none && sink == nil && fullyMaskedRows == .zeros }

  /// Softmax (or log-softmax) of row number `row`, `length` elements at `x`, into `y`.
  func run(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, length: Int, row: Int,
    threads: Int
  ) {
    var kept = length
    if case .causal(let offset) = mask {
      kept = Swift.min(length, Swift.max(0, row % queries + offset + 1))
    }
    if kept < length {
      (y + kept).update(repeating: logarithm ? -.infinity : 0, count: length - kept)
    }
    let input = UnsafeBufferPointer(start: x, count: kept)
    let output = UnsafeMutableBufferPointer(start: y, count: kept)
    if fullyMaskedRows == .nan
      && (kept == 0 || PassKernels.selected.max(x, kept) == -.infinity)
      && !(sink.map { $0 > -.infinity } ?? false)
    {
      y.update(repeating: .nan, count: length)
      return
    }
    guard kept > 0 else { return }
    if let sink {
      var total = SoftmaxNormalizer(accumulating: input, threads: threads)
      withUnsafePointer(to: sink) {
        total.merge(
          SoftmaxNormalizer(accumulating: UnsafeBufferPointer(start: $0, count: 1), threads: 1))
      }
      if logarithm {
        total.logNormalize(input, into: output, threads: threads)
      } else {
        total.normalize(input, into: output, threads: threads)
      }
    } else if logarithm {
      SoftmaxNormalizer(accumulating: input, threads: threads)
        .logNormalize(input, into: output, threads: threads)
    } else {
      RowAlgorithms.run(algorithm, x, y, count: kept, threads: threads)
    }
  }
}
