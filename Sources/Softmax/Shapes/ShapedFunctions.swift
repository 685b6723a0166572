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
/// threads, one row per thread at a time; a few long rows (2^18 elements or more) are each split
/// across the threads instead. An inner axis is strided: 16 adjacent columns are computed at
/// once from contiguous loads, without gathering (a column-blocked three-pass method; the
/// `algorithm` argument applies to contiguous rows only). Numerics and special values are those
/// of ``softmax(_:into:algorithm:threads:)-(UnsafeBufferPointer<Float>,_,_,_)``, row by row, and
/// the result does not depend on the thread count.
///
/// - Parameters:
///   - input: The values, `shape.reduce(1, *)` of them, last dimension contiguous.
///   - shape: The dimensions, outermost first; zero-sized dimensions are allowed.
///   - axis: The axis to normalize over; negative values count from the end (−1 is the last).
///   - output: Receives the result; the same count; may be the same memory as `input`.
///   - algorithm: The row algorithm for contiguous rows.
///   - threads: The most threads to use, or nil to decide by the size.
///   - mask: Entries to leave out without a mask in memory, such as ``SoftmaxMask/causal(offset:)``
///     for [..., queries, keys] attention scores; they get exactly 0.
///   - sink: An extra logit s that only adds e^s to every row's denominator ("softmax plus one"
///     for s = 0, attention sinks), computed without overflow for any s; nil for none.
///   - fullyMaskedRows: What a row with nothing kept becomes (zeros by default).
///   - temperature: T in softmax(x / T), finite and ≥ 0 (the sink is a logit and is divided
///     too). T = 0 is the limit: the largest entries share the mass equally (argmax, one-hot
///     without ties). T ≠ 1 costs one division per element but no extra pass over the row:
///     pass 1 writes the quotients (each correctly rounded) to the output one 4096-element
///     block at a time and reads them back from L1, and the later passes run there; results
///     equal the softmax of the quotients bit for bit. Quotients beyond
///     ±Float.greatestFiniteMagnitude count as ±inf.
/// - Precondition: the shape's element count equals both buffers' counts, every dimension is
///   at least 0, `axis` is in `-rank..<rank`, and the buffers are identical or disjoint; masks,
///   sinks and `.nan` apply to the last axis, causal masks to shapes of rank ≥ 2. A violation
///   traps with a message that names it.
public func softmax(
  _ input: UnsafeBufferPointer<Float>, shape: [Int], axis: Int = -1,
  into output: UnsafeMutableBufferPointer<Float>, algorithm: SoftmaxAlgorithm = .auto,
  threads: Int? = nil, mask: SoftmaxMask = .none, sink: Float? = nil,
  fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Float = 1
) {
  let options = RowOptions(
    algorithm: algorithm, logarithm: false, mask: mask, sink: sink,
    fullyMaskedRows: fullyMaskedRows, temperature: temperature)
  axisSoftmax(
    input, output, shape: shape, axis: axis, threads: threads, options: options,
    function: "softmax")
}

/// Softmax along one axis of a row-major array, into an array of the same count. See
/// ``softmax(_:shape:axis:into:algorithm:threads:mask:sink:fullyMaskedRows:temperature:)-(UnsafeBufferPointer<Float>,_,_,_,_,_,_,_,_,_)``.
public func softmax(
  _ input: [Float], shape: [Int], axis: Int = -1, into output: inout [Float],
  algorithm: SoftmaxAlgorithm = .auto, threads: Int? = nil, mask: SoftmaxMask = .none,
  sink: Float? = nil, fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Float = 1
) {
  input.withUnsafeBufferPointer { x in
    output.withUnsafeMutableBufferPointer { y in
      softmax(
        x, shape: shape, axis: axis, into: y, algorithm: algorithm, threads: threads,
        mask: mask, sink: sink, fullyMaskedRows: fullyMaskedRows, temperature: temperature)
    }
  }
}

/// Softmax along one axis of a row-major array, as a new array. See
/// ``softmax(_:shape:axis:into:algorithm:threads:mask:sink:fullyMaskedRows:temperature:)-(UnsafeBufferPointer<Float>,_,_,_,_,_,_,_,_,_)``.
public func softmax(
  _ input: [Float], shape: [Int], axis: Int = -1, algorithm: SoftmaxAlgorithm = .auto,
  threads: Int? = nil, mask: SoftmaxMask = .none, sink: Float? = nil,
  fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Float = 1
) -> [Float] {
  [Float](unsafeUninitializedCapacity: input.count) { output, initialized in
    input.withUnsafeBufferPointer { x in
      softmax(
        x, shape: shape, axis: axis, into: output, algorithm: algorithm, threads: threads,
        mask: mask, sink: sink, fullyMaskedRows: fullyMaskedRows, temperature: temperature)
    }
    initialized = input.count
  }
}

/// Log-softmax along one axis of a row-major array of any rank: x − log Σ e^x over the axis.
///
/// ```swift
/// // Token log-probabilities for 4 sequences × 32000-word vocabulary.
/// let logits = [Float](repeating: 0, count: 4 * 32_000)
/// var logProbabilities = [Float](repeating: 0, count: logits.count)
/// logSoftmax(logits, shape: [4, 32_000], axis: 1, into: &logProbabilities)
/// ```
///
/// Layout, threads, masks, sinks and checks as for the shaped `softmax`; numerics and special
/// values as for
/// ``logSoftmax(_:into:threads:)-(UnsafeBufferPointer<Float>,_,_)``.
public func logSoftmax(
  _ input: UnsafeBufferPointer<Float>, shape: [Int], axis: Int = -1,
  into output: UnsafeMutableBufferPointer<Float>, threads: Int? = nil,
  mask: SoftmaxMask = .none, sink: Float? = nil, fullyMaskedRows: FullyMaskedRows = .zeros,
  temperature: Float = 1
) {
  let options = RowOptions(
    algorithm: .twoPass, logarithm: true, mask: mask, sink: sink,
    fullyMaskedRows: fullyMaskedRows, temperature: temperature)
  axisSoftmax(
    input, output, shape: shape, axis: axis, threads: threads, options: options,
    function: "logSoftmax")
}

/// Log-softmax along one axis of a row-major array, into an array of the same count.
public func logSoftmax(
  _ input: [Float], shape: [Int], axis: Int = -1, into output: inout [Float],
  threads: Int? = nil, mask: SoftmaxMask = .none, sink: Float? = nil,
  fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Float = 1
) {
  input.withUnsafeBufferPointer { x in
    output.withUnsafeMutableBufferPointer { y in
      logSoftmax(
        x, shape: shape, axis: axis, into: y, threads: threads, mask: mask, sink: sink,
        fullyMaskedRows: fullyMaskedRows, temperature: temperature)
    }
  }
}

/// Log-softmax along one axis of a row-major array, as a new array.
public func logSoftmax(
  _ input: [Float], shape: [Int], axis: Int = -1, threads: Int? = nil,
  mask: SoftmaxMask = .none, sink: Float? = nil, fullyMaskedRows: FullyMaskedRows = .zeros,
  temperature: Float = 1
) -> [Float] {
  [Float](unsafeUninitializedCapacity: input.count) { output, initialized in
    input.withUnsafeBufferPointer { x in
      logSoftmax(
        x, shape: shape, axis: axis, into: output, threads: threads, mask: mask, sink: sink,
        fullyMaskedRows: fullyMaskedRows, temperature: temperature)
    }
    initialized = input.count
  }
}
