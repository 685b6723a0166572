package import SoftmaxKernels

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

/// The shaped softmax (or log-softmax) on the kernel table `kernels`: what the public entry
/// points run on `.selected`, for tests that cover every table.
package func shapedSoftmax(
  _ input: UnsafeBufferPointer<Float>, shape: [Int], into output: UnsafeMutableBufferPointer<Float>,
  algorithm: SoftmaxAlgorithm = .auto, logarithm: Bool = false, threads: Int? = nil,
  mask: SoftmaxMask = .none, sink: Float? = nil, fullyMaskedRows: FullyMaskedRows = .zeros,
  temperature: Float = 1, kernels: PassKernels
) {
  let options = RowOptions(
    algorithm: algorithm, logarithm: logarithm, mask: mask, sink: sink,
    fullyMaskedRows: fullyMaskedRows, temperature: temperature, kernels: kernels)
  axisSoftmax(
    input, output, shape: shape, axis: -1, threads: threads, options: options,
    function: "shapedSoftmax")
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
  /// The kernel table: `.selected`, or another one in tests.
  var kernels: PassKernels = .selected

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
    if temperature == 0 {
      return argmax(x, y, kept: kept, length: length, row: row)
    }
    let start = row * maskStride
    switch mask {
    case .keep(let keep):
      keep.withUnsafeBufferPointer { k in
        let transform = LogitTransform(divisor: temperature, keep: k.baseAddress.map { $0 + start })
        run(x, y, kept: kept, length: length, transform: transform, threads: threads)
      }
    case .additive(let bias):
      bias.withUnsafeBufferPointer { a in
        let transform = LogitTransform(divisor: temperature, bias: a.baseAddress.map { $0 + start })
        run(x, y, kept: kept, length: length, transform: transform, threads: threads)
      }
    case .none, .causal:
      let transform = LogitTransform(divisor: temperature)
      run(x, y, kept: kept, length: length, transform: transform, threads: threads)
    }
  }

  /// The first `kept` elements (the rest are masked and written): pass 1 on the effective
  /// logits that `transform` writes to `y` block by block, then the other passes in place there.
  private func run(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, kept: Int, length: Int,
    transform: LogitTransform, threads: Int
  ) {
    let sink = temperature == 1 ? sink : sink.map { $0 / temperature }
    // Only a row with nothing kept and no sink to take the mass can be fully masked.
    let nanIfEmpty = fullyMaskedRows == .nan && !(sink.map { $0 > -.infinity } ?? false)
    guard kept > 0 else {
      if nanIfEmpty { y.update(repeating: .nan, count: length) }
      return
    }
    let normalizer = logarithm || sink != nil
    let resolved = normalizer ? .twoPass : algorithm.resolved(forCount: kept)
    if transform.isIdentity && !nanIfEmpty && !normalizer {
      return RowAlgorithms.run(resolved, x, y, count: kept, threads: threads, kernels: kernels)
    }
    let source = RowPlan(x: x, y: y, count: kept, threads: threads, kernels: kernels)
    var parts = FirstPassParts(resolved)
    if nanIfEmpty && parts == .twoPassSum { parts.insert(.maximum) }
    let first = RowAlgorithms.firstPass(source, transform: transform, parts: parts)
    if nanIfEmpty && first.largest(parts) == -.infinity {
      return y.update(repeating: .nan, count: length)
    }
    // The effective logits: the input itself, or what pass 1 wrote to the output.
    let row =
      transform.isIdentity
      ? source : RowPlan(x: y, y: y, count: kept, threads: threads, kernels: kernels)
    guard normalizer else { return RowAlgorithms.finish(resolved, row, after: first) }
    var total = SoftmaxNormalizer(pass1: first.sum, of: row)
    if var sink {
      withUnsafeMutablePointer(to: &sink) { s in
        let one = RowPlan(x: s, y: s, count: 1, threads: 1, kernels: kernels)
        total.merge(SoftmaxNormalizer(pass1: kernels.twoPassSum(s, 1), of: one))
      }
    }
    if let pass = total.plan(row, logarithm: logarithm) { row.perform(pass) }
  }

  /// The limit of the softmax as the temperature goes to 0: the largest entries share the mass
  /// equally (one-hot without ties), the rest get 0 (log-softmax: −inf). NaN anywhere gives NaN;
  /// a row with nothing kept follows `fullyMaskedRows`; a sink larger than the row's maximum
  /// takes all the mass, one equal to it shares. Masks are applied by one pass that writes the
  /// effective logits to `y` (argmax rows are a limit case, not worth a fused kernel).
  private func argmax(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, kept: Int, length: Int,
    row: Int
  ) {
    var x = x
    switch mask {
    case .keep(let keep):
      keep.withUnsafeBufferPointer { k in
        for i in 0..<kept { y[i] = k[row * maskStride + i] ? x[i] : -.infinity }
      }
      x = UnsafePointer(y)
    case .additive(let bias):
      bias.withUnsafeBufferPointer { a in
        for i in 0..<kept { y[i] = a[row * maskStride + i] == -.infinity ? -.infinity : x[i] }
      }
      x = UnsafePointer(y)
    case .none, .causal: break
    }
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
