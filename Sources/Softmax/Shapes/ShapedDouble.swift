/// Softmax along one axis of a row-major Double array of any rank, in Double precision.
///
/// ```swift
/// // Logits beyond the Float range: 2 rows of 3, softmax over each row.
/// let logits: [Double] = [1e39, 1e39, -1e39, 0, 1, 2]
/// let p = softmax(logits, shape: [2, 3])  // ≈ [0.5, 0.5, 0, 0.090, 0.245, 0.665]
/// ```
///
/// Contiguous rows run the Double row kernels of
/// ``softmax(_:into:)-(UnsafeBufferPointer<Double>,_)`` (Three-Pass reload on `SIMD8<Double>`):
/// every probability of at least 1e-300 is within a relative error of 1e-13 of the exact
/// softmax (tested), probabilities below about 1e-307 are 0, never subnormal, and logits of
/// any finite Double magnitude work. A row of fewer than 2^16 elements gives exactly the
/// one-row result; longer ones are cut into chunks by their length alone, across the threads
/// when they are few (as for Float arrays), with compensated partial sums merged in chunk
/// order. An inner axis computes 8 adjacent columns at once, one per vector lane, from
/// contiguous loads, summing 64-row blocks into a compensated total per lane. The bounds hold
/// at any length. The
/// result does not depend on the thread count. No allocation.
///
/// Masks, sinks, fully masked rows and temperatures have the semantics of
/// ``softmax(_:shape:axis:into:algorithm:threads:mask:sink:fullyMaskedRows:temperature:)-(UnsafeBufferPointer<Float>,_,_,_,_,_,_,_,_,_)``,
/// in Double: the quotients x / T are correctly rounded Doubles, an additive mask's Float
/// values are added in Double, and the sink adds e^s to the denominator for any s. Special
/// values and checks are those of the Float function.
///
/// - Parameters:
///   - input: The values, `shape.reduce(1, *)` of them, last dimension contiguous.
///   - shape: The dimensions, outermost first; zero-sized dimensions are allowed.
///   - axis: The axis to normalize over; negative values count from the end (−1 is the last).
///   - output: Receives the result; the same count; may be the same memory as `input`.
///   - algorithm: Accepted so that calls read the same for every element type; Double rows
///     always use their one algorithm, Three-Pass reload.
///   - threads: The most threads to use, or nil to decide by the size.
///   - mask: Entries to leave out, as for Float arrays; they get exactly 0.
///   - sink: An extra logit s that only adds e^s to every row's denominator; nil for none.
///   - fullyMaskedRows: What a row with nothing kept becomes (zeros by default).
///   - temperature: T in softmax(x / T), finite and ≥ 0 (the sink is divided too); T = 0 is
///     the argmax limit.
/// - Precondition: as for the Float function; a violation traps with a message that names it.
public func softmax(
  _ input: UnsafeBufferPointer<Double>, shape: [Int], axis: Int = -1,
  into output: UnsafeMutableBufferPointer<Double>, algorithm: SoftmaxAlgorithm = .auto,
  threads: Int? = nil, mask: SoftmaxMask = .none, sink: Double? = nil,
  fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Double = 1
) {
  let options = DoubleRowOptions(
    logarithm: false, mask: mask, sink: sink, fullyMaskedRows: fullyMaskedRows,
    temperature: temperature)
  doubleAxisSoftmax(
    input, output, shape: shape, axis: axis, threads: threads, options: options,
    function: "softmax")
}

/// Softmax along one axis of a row-major Double array, into an array of the same count. See
/// ``softmax(_:shape:axis:into:algorithm:threads:mask:sink:fullyMaskedRows:temperature:)-(UnsafeBufferPointer<Double>,_,_,_,_,_,_,_,_,_)``.
public func softmax(
  _ input: [Double], shape: [Int], axis: Int = -1, into output: inout [Double],
  algorithm: SoftmaxAlgorithm = .auto, threads: Int? = nil, mask: SoftmaxMask = .none,
  sink: Double? = nil, fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Double = 1
) {
  input.withUnsafeBufferPointer { x in
    output.withUnsafeMutableBufferPointer { y in
      softmax(
        x, shape: shape, axis: axis, into: y, algorithm: algorithm, threads: threads,
        mask: mask, sink: sink, fullyMaskedRows: fullyMaskedRows, temperature: temperature)
    }
  }
}

/// Softmax along one axis of a row-major Double array, as a new array. See
/// ``softmax(_:shape:axis:into:algorithm:threads:mask:sink:fullyMaskedRows:temperature:)-(UnsafeBufferPointer<Double>,_,_,_,_,_,_,_,_,_)``.
public func softmax(
  _ input: [Double], shape: [Int], axis: Int = -1, algorithm: SoftmaxAlgorithm = .auto,
  threads: Int? = nil, mask: SoftmaxMask = .none, sink: Double? = nil,
  fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Double = 1
) -> [Double] {
  [Double](unsafeUninitializedCapacity: input.count) { output, initialized in
    input.withUnsafeBufferPointer { x in
      softmax(
        x, shape: shape, axis: axis, into: output, algorithm: algorithm, threads: threads,
        mask: mask, sink: sink, fullyMaskedRows: fullyMaskedRows, temperature: temperature)
    }
    initialized = input.count
  }
}

/// Log-softmax along one axis of a row-major Double array of any rank, in Double precision:
/// (x − max) − log Σ e^(x − max) over the axis, with no exponential of the outputs, so no
/// overflow or log of an underflowed 0 for logits of any finite magnitude.
///
/// Layout, threads, masks, sinks and checks as for the shaped Double `softmax`; each output
/// is within 1e-12 · max(1, |result|) of the exact log-softmax (tested); special values as
/// for ``logSoftmax(_:into:)-(UnsafeBufferPointer<Double>,_)``.
public func logSoftmax(
  _ input: UnsafeBufferPointer<Double>, shape: [Int], axis: Int = -1,
  into output: UnsafeMutableBufferPointer<Double>, threads: Int? = nil,
  mask: SoftmaxMask = .none, sink: Double? = nil, fullyMaskedRows: FullyMaskedRows = .zeros,
  temperature: Double = 1
) {
  let options = DoubleRowOptions(
    logarithm: true, mask: mask, sink: sink, fullyMaskedRows: fullyMaskedRows,
    temperature: temperature)
  doubleAxisSoftmax(
    input, output, shape: shape, axis: axis, threads: threads, options: options,
    function: "logSoftmax")
}

/// Log-softmax along one axis of a row-major Double array, into an array of the same count.
public func logSoftmax(
  _ input: [Double], shape: [Int], axis: Int = -1, into output: inout [Double],
  threads: Int? = nil, mask: SoftmaxMask = .none, sink: Double? = nil,
  fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Double = 1
) {
  input.withUnsafeBufferPointer { x in
    output.withUnsafeMutableBufferPointer { y in
      logSoftmax(
        x, shape: shape, axis: axis, into: y, threads: threads, mask: mask, sink: sink,
        fullyMaskedRows: fullyMaskedRows, temperature: temperature)
    }
  }
}

/// Log-softmax along one axis of a row-major Double array, as a new array.
public func logSoftmax(
  _ input: [Double], shape: [Int], axis: Int = -1, threads: Int? = nil,
  mask: SoftmaxMask = .none, sink: Double? = nil, fullyMaskedRows: FullyMaskedRows = .zeros,
  temperature: Double = 1
) -> [Double] {
  [Double](unsafeUninitializedCapacity: input.count) { output, initialized in
    input.withUnsafeBufferPointer { x in
      logSoftmax(
        x, shape: shape, axis: axis, into: output, threads: threads, mask: mask, sink: sink,
        fullyMaskedRows: fullyMaskedRows, temperature: temperature)
    }
    initialized = input.count
  }
}
