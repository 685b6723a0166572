internal import SoftmaxKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

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
  /// per element). Costs one more pass over each row.
  case keep([Bool])
  /// An additive mask (attention bias), added to the logits after the temperature: −inf drops an
  /// entry, finite values shift it. Count as for ``keep(_:)``. Costs one more pass over each row.
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
  /// Logits (and the sink) are divided by it; 0 is the limit, the argmax.
  var temperature: Float = 1
  /// Elements between the masks of consecutive rows: 0 for a mask shared by all rows.
  var maskStride: Int = 0

  /// Whether anything beyond a plain softmax of the whole row is asked for.
  var isPlain: Bool {
    mask == .none && sink == nil && fullyMaskedRows == .zeros && temperature == 1
  }

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
    var x = x
    var sink = sink
    var divided = temperature == 1
    // Masks and temperatures take one extra pass: the effective logits go to the output, and
    // the softmax then runs there in place.
    switch mask {
    case .keep(let keep):
      keep.withUnsafeBufferPointer { k in
        for i in 0..<kept { y[i] = k[row * maskStride + i] ? x[i] : -.infinity }
      }
      x = UnsafePointer(y)
    case .additive(let bias):
      let t = temperature
      bias.withUnsafeBufferPointer { a in
        let a = a.baseAddress! + row * maskStride
        if t == 0 {
          for i in 0..<kept { y[i] = a[i] == -.infinity ? -.infinity : x[i] }
        } else {
          for i in 0..<kept { y[i] = (t == 1 ? x[i] : x[i] / t) + a[i] }
          divided = true
        }
      }
      x = UnsafePointer(y)
    case .none, .causal: break
    }
    if temperature == 0 {
      return argmax(x, y, kept: kept, length: length)
    }
    if !divided {
      divide(x, into: y, count: kept, by: temperature)
      x = UnsafePointer(y)
    }
    if temperature != 1 { sink = sink.map { $0 / temperature } }
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

  /// The limit of the softmax as the temperature goes to 0: the largest entries share the mass
  /// equally (one-hot without ties), the rest get 0 (log-softmax: −inf). NaN anywhere gives NaN;
  /// a row with nothing kept follows `fullyMaskedRows`; a sink larger than the row's maximum
  /// takes all the mass, one equal to it shares.
  private func argmax(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, kept: Int, length: Int
  ) {
    var maximum = -Float.infinity
    for i in 0..<kept {
      if x[i].isNaN { return y.update(repeating: .nan, count: length) }
      maximum = Swift.max(maximum, x[i])
    }
    if let sink, sink.isNaN { return y.update(repeating: .nan, count: length) }
    let sinkValue = sink ?? -.infinity
    if maximum == -.infinity && sinkValue == -.infinity {
      let fill: Float = fullyMaskedRows == .nan ? .nan : (logarithm ? -.infinity : 0)
      return y.update(repeating: fill, count: length)
    }
    var ties = 0
    for i in 0..<kept where x[i] == maximum && maximum >= sinkValue { ties += 1 }
    let shares = ties + (sinkValue >= maximum ? 1 : 0)
    let share: Float = logarithm ? -Float(log(Double(shares))) : 1 / Float(shares)
    let rest: Float = logarithm ? -.infinity : 0
    for i in 0..<kept { y[i] = x[i] == maximum && maximum >= sinkValue ? share : rest }
  }
}

/// y = x / t, 16 lanes at a time (a division, not a multiplication by 1/t, so that every
/// quotient is correctly rounded).
private func divide(
  _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int, by t: Float
) {
  var i = 0
  while i + 16 <= count {
    let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
    UnsafeMutableRawPointer(y + i).storeBytes(of: v / t, as: SIMD16<Float>.self)
    i += 16
  }
  while i < count {
    y[i] = x[i] / t
    i += 1
  }
}
