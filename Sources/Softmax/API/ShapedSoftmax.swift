// The public softmax along one axis of a shaped array, in every form: buffers, spans, arrays.

/// Softmax along one axis of a row-major (C-order) array of any rank.
///
/// ```swift
/// // Attention scores: 8 heads × 16 queries × 1024 keys, softmax over the keys.
/// let scores = [Float](repeating: 0, count: 8 * 16 * 1024)
/// var weights = [Float](repeating: 0, count: scores.count)
/// softmax(scores, shape: [8, 16, 1024], axis: -1, into: &weights)
/// ```
///
/// The last axis (or any axis followed only by dimensions of size 1) is the fast path: each
/// row is contiguous and runs on the row kernels of `algorithm`. Many rows spread across the
/// threads, one row per thread at a time; a few long rows (2^18 elements or more) are each
/// split across the threads instead. An inner axis is strided: adjacent columns (16 Floats,
/// 8 Doubles) are computed at once from contiguous loads, without gathering (a column-blocked
/// three-pass method; `algorithm` applies to contiguous rows, and to Float16 columns, which
/// are gathered into Float rows). Numerics and special values are those of
/// ``softmax(_:into:algorithm:threads:)-(UnsafeBufferPointer<Element>,_,_,_)``, row by row,
/// and the result does not depend on the thread count. Element types: see ``SoftmaxElement``.
///
/// - Parameters:
///   - input: The values, `shape.reduce(1, *)` of them, last dimension contiguous.
///   - shape: The dimensions, outermost first; zero-sized dimensions are allowed.
///   - axis: The axis to normalize over; negative values count from the end (−1 is the last).
///   - output: Receives the result; the same count; may be the same memory as `input`.
///   - algorithm: The row algorithm for contiguous Float rows.
///   - threads: The most threads to use, or nil to decide by the size.
///   - mask: Entries to leave out without a mask in memory, such as ``SoftmaxMask/causal(offset:)``
///     for [..., queries, keys] attention scores; they get exactly 0.
///   - sink: An extra logit s that only adds e^s to every row's denominator ("softmax plus one"
///     for s = 0, attention sinks), computed without overflow for any s; nil for none.
///   - fullyMaskedRows: What a row with nothing kept becomes (zeros by default).
///   - temperature: T in softmax(x / T), finite and ≥ 0 (the sink is a logit and is divided
///     too). T = 0 is the limit: the largest entries share the mass equally (argmax, one-hot
///     without ties). T ≠ 1 normalizes (x − m) / T, where m is the largest kept logit of each
///     chunk of the row (of each column on inner axes), computed in Double and rounded once:
///     as accurate as the softmax of the exact quotients (1e-5 relative, tested) however large
///     x / T is, and tending to the argmax as T shrinks, past the overflow of x / T too. Float
///     rows take no extra pass over the memory: the maximum is read (for rows over 2^17
///     elements chunk by chunk, whose sums are then Two-Pass pairs whatever `algorithm` says)
///     before pass 1 writes the row's blocks to the output and works on them in L1. Float16
///     rows are computed as Float rows.
/// - Precondition: the shape's element count equals both buffers' counts, every dimension is
///   at least 0, `axis` is in `-rank..<rank`, and the buffers are identical or disjoint; masks,
///   sinks, temperatures and `.nan` apply to the last axis, causal masks to shapes of
///   rank ≥ 2. A violation traps with a message that names it.
@inlinable
public func softmax<Element: SoftmaxElement>(
  _ input: UnsafeBufferPointer<Element>, shape: [Int], axis: Int = -1,
  into output: UnsafeMutableBufferPointer<Element>, algorithm: SoftmaxAlgorithm = .auto,
  threads: Int? = nil, mask: SoftmaxMask = .none, sink: Element? = nil,
  fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Element = 1
) {
  let request = _SoftmaxRequest(
    "softmax", logarithm: false, shape: shape, axis: axis, algorithm: algorithm,
    threads: threads, mask: mask, sink: sink, fullyMaskedRows: fullyMaskedRows,
    temperature: temperature)
  Element._compute(input, output, request)
}

/// Softmax along one axis of a row-major array, from a span into a span of the same count
/// (arrays, `ContiguousArray`s and `ArraySlice`s without a copy). See
/// ``softmax(_:shape:axis:into:algorithm:threads:mask:sink:fullyMaskedRows:temperature:)-(UnsafeBufferPointer<Element>,_,_,_,_,_,_,_,_,_)``.
@inlinable
public func softmax<Element: SoftmaxElement>(
  _ input: Span<Element>, shape: [Int], axis: Int = -1, into output: inout MutableSpan<Element>,
  algorithm: SoftmaxAlgorithm = .auto, threads: Int? = nil, mask: SoftmaxMask = .none,
  sink: Element? = nil, fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Element = 1
) {
  withBuffers(input, &output) { x, y in
    softmax(
      x, shape: shape, axis: axis, into: y, algorithm: algorithm, threads: threads, mask: mask,
      sink: sink, fullyMaskedRows: fullyMaskedRows, temperature: temperature)
  }
}

/// Softmax along one axis of a row-major array, into an array of the same count. See
/// ``softmax(_:shape:axis:into:algorithm:threads:mask:sink:fullyMaskedRows:temperature:)-(UnsafeBufferPointer<Element>,_,_,_,_,_,_,_,_,_)``.
@inlinable
public func softmax<Element: SoftmaxElement>(
  _ input: [Element], shape: [Int], axis: Int = -1, into output: inout [Element],
  algorithm: SoftmaxAlgorithm = .auto, threads: Int? = nil, mask: SoftmaxMask = .none,
  sink: Element? = nil, fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Element = 1
) {
  var y = output.mutableSpan
  softmax(
    input.span, shape: shape, axis: axis, into: &y, algorithm: algorithm, threads: threads,
    mask: mask,
    sink: sink, fullyMaskedRows: fullyMaskedRows, temperature: temperature)
}

/// Softmax along one axis of a row-major array, as a new array. See
/// ``softmax(_:shape:axis:into:algorithm:threads:mask:sink:fullyMaskedRows:temperature:)-(UnsafeBufferPointer<Element>,_,_,_,_,_,_,_,_,_)``.
///
/// ```swift
/// // Logits beyond the Float range: 2 rows of 3, softmax over each row.
/// let logits: [Double] = [1e39, 1e39, -1e39, 0, 1, 2]
/// let p = softmax(logits, shape: [2, 3])  // ≈ [0.5, 0.5, 0, 0.090, 0.245, 0.665]
/// ```
@inlinable
public func softmax<Element: SoftmaxElement>(
  _ input: [Element], shape: [Int], axis: Int = -1, algorithm: SoftmaxAlgorithm = .auto,
  threads: Int? = nil, mask: SoftmaxMask = .none, sink: Element? = nil,
  fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Element = 1
) -> [Element] {
  makeArray(count: input.count) { y in
    input.withUnsafeBufferPointer { x in
      softmax(
        x, shape: shape, axis: axis, into: y, algorithm: algorithm, threads: threads,
        mask: mask, sink: sink, fullyMaskedRows: fullyMaskedRows, temperature: temperature)
    }
  }
}
