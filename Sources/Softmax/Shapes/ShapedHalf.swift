// The shaped entry points for Float16 arrays. Swift has no Float16 on macOS for Intel; there
// these entry points do not exist (use Float).
#if !(os(macOS) && arch(x86_64))
  /// Softmax along one axis of a row-major Float16 array of any rank, computed in Float.
  ///
  /// ```swift
  /// // 8 heads × 16 queries × 1024 keys in half precision, causal over the last two axes.
  /// let scores = [Float16](repeating: 0, count: 8 * 16 * 1024)
  /// var weights = [Float16](repeating: 0, count: scores.count)
  /// softmax(scores, shape: [8, 16, 1024], into: &weights, mask: .causal(offset: 1008))
  /// ```
  ///
  /// Each row along the axis is widened to Float (exactly; F16C where the CPU has it) in a
  /// scratch row, computed there by the Float row machinery with every option of
  /// ``softmax(_:shape:axis:into:algorithm:threads:mask:sink:fullyMaskedRows:temperature:)-(UnsafeBufferPointer<Float>,_,_,_,_,_,_,_,_,_)``,
  /// and rounded once to Float16 (to nearest, ties to even). The Float result is within a
  /// relative error of 1e-5 of the exact one, far below half a Float16 ulp (2^-12 relative),
  /// so every output is within 1 ulp of the correctly rounded exact softmax, Float16
  /// subnormals included (tested for rows and inner axes up to 2^20); outputs below the
  /// smallest Float16 subnormal are 0. An inner axis is gathered, up to 16 adjacent columns
  /// at once, into contiguous Float rows, so `algorithm` applies to every axis. Threads,
  /// special values, masks and their checks are those of the Float function; the result does
  /// not depend on the thread count.
  ///
  /// Memory: each thread uses a scratch of the row length (an inner axis: up to 16 columns)
  /// in Floats, on the stack up to 16 KiB (rows of up to 4096 elements), otherwise allocated
  /// once per call or per task of the thread pool, never per row; at most 4 MiB per thread
  /// for inner axes up to 2^20, and 4 bytes per element for longer rows.
  ///
  /// - Parameters:
  ///   - input: The values, `shape.reduce(1, *)` of them, last dimension contiguous.
  ///   - shape: The dimensions, outermost first; zero-sized dimensions are allowed.
  ///   - axis: The axis to normalize over; negative values count from the end (−1 is the last).
  ///   - output: Receives the result; the same count; may be the same memory as `input`.
  ///   - algorithm: The Float row algorithm.
  ///   - threads: The most threads to use, or nil to decide by the size.
  ///   - mask: Entries to leave out, as for Float arrays (an additive mask's values are Float
  ///     and are added in Float); they get exactly 0.
  ///   - sink: An extra logit that only adds e^s to every row's denominator; nil for none.
  ///   - fullyMaskedRows: What a row with nothing kept becomes (zeros by default).
  ///   - temperature: T in softmax(x / T), finite and ≥ 0; the quotients are computed and
  ///     rounded in Float. T = 0 is the argmax limit.
  /// - Precondition: as for the Float function; a violation traps with a message that names
  ///   it.
  public func softmax(
    _ input: UnsafeBufferPointer<Float16>, shape: [Int], axis: Int = -1,
    into output: UnsafeMutableBufferPointer<Float16>, algorithm: SoftmaxAlgorithm = .auto,
    threads: Int? = nil, mask: SoftmaxMask = .none, sink: Float16? = nil,
    fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Float16 = 1
  ) {
    let options = RowOptions(
      algorithm: algorithm, logarithm: false, mask: mask, sink: sink.map { Float($0) },
      fullyMaskedRows: fullyMaskedRows, temperature: Float(temperature))
    halfAxisSoftmax(
      input, output, shape: shape, axis: axis, threads: threads, options: options,
      temperature: temperature, function: "softmax")
  }

  /// Softmax along one axis of a row-major Float16 array, into an array of the same count. See
  /// ``softmax(_:shape:axis:into:algorithm:threads:mask:sink:fullyMaskedRows:temperature:)-(UnsafeBufferPointer<Float16>,_,_,_,_,_,_,_,_,_)``.
  public func softmax(
    _ input: [Float16], shape: [Int], axis: Int = -1, into output: inout [Float16],
    algorithm: SoftmaxAlgorithm = .auto, threads: Int? = nil, mask: SoftmaxMask = .none,
    sink: Float16? = nil, fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Float16 = 1
  ) {
    input.withUnsafeBufferPointer { x in
      output.withUnsafeMutableBufferPointer { y in
        softmax(
          x, shape: shape, axis: axis, into: y, algorithm: algorithm, threads: threads,
          mask: mask, sink: sink, fullyMaskedRows: fullyMaskedRows, temperature: temperature)
      }
    }
  }

  /// Softmax along one axis of a row-major Float16 array, as a new array. See
  /// ``softmax(_:shape:axis:into:algorithm:threads:mask:sink:fullyMaskedRows:temperature:)-(UnsafeBufferPointer<Float16>,_,_,_,_,_,_,_,_,_)``.
  public func softmax(
    _ input: [Float16], shape: [Int], axis: Int = -1, algorithm: SoftmaxAlgorithm = .auto,
    threads: Int? = nil, mask: SoftmaxMask = .none, sink: Float16? = nil,
    fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Float16 = 1
  ) -> [Float16] {
    [Float16](unsafeUninitializedCapacity: input.count) { output, initialized in
      input.withUnsafeBufferPointer { x in
        softmax(
          x, shape: shape, axis: axis, into: output, algorithm: algorithm, threads: threads,
          mask: mask, sink: sink, fullyMaskedRows: fullyMaskedRows, temperature: temperature)
      }
      initialized = input.count
    }
  }

  /// Log-softmax along one axis of a row-major Float16 array of any rank, computed in Float:
  /// x − log Σ e^x over the axis, rounded once to Float16.
  ///
  /// Layout, scratch memory, threads, masks, sinks and checks as for the shaped Float16
  /// `softmax`; each output is within 1e-5 · max(1, |result|) of the exact log-softmax plus
  /// the final rounding (tested), as for
  /// ``logSoftmax(_:into:)-(UnsafeBufferPointer<Float16>,_)``. Results beyond the Float16
  /// range (below −65520) are −inf.
  public func logSoftmax(
    _ input: UnsafeBufferPointer<Float16>, shape: [Int], axis: Int = -1,
    into output: UnsafeMutableBufferPointer<Float16>, threads: Int? = nil,
    mask: SoftmaxMask = .none, sink: Float16? = nil, fullyMaskedRows: FullyMaskedRows = .zeros,
    temperature: Float16 = 1
  ) {
    let options = RowOptions(
      algorithm: .twoPass, logarithm: true, mask: mask, sink: sink.map { Float($0) },
      fullyMaskedRows: fullyMaskedRows, temperature: Float(temperature))
    halfAxisSoftmax(
      input, output, shape: shape, axis: axis, threads: threads, options: options,
      temperature: temperature, function: "logSoftmax")
  }

  /// Log-softmax along one axis of a row-major Float16 array, into an array of the same count.
  public func logSoftmax(
    _ input: [Float16], shape: [Int], axis: Int = -1, into output: inout [Float16],
    threads: Int? = nil, mask: SoftmaxMask = .none, sink: Float16? = nil,
    fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Float16 = 1
  ) {
    input.withUnsafeBufferPointer { x in
      output.withUnsafeMutableBufferPointer { y in
        logSoftmax(
          x, shape: shape, axis: axis, into: y, threads: threads, mask: mask, sink: sink,
          fullyMaskedRows: fullyMaskedRows, temperature: temperature)
      }
    }
  }

  /// Log-softmax along one axis of a row-major Float16 array, as a new array.
  public func logSoftmax(
    _ input: [Float16], shape: [Int], axis: Int = -1, threads: Int? = nil,
    mask: SoftmaxMask = .none, sink: Float16? = nil, fullyMaskedRows: FullyMaskedRows = .zeros,
    temperature: Float16 = 1
  ) -> [Float16] {
    [Float16](unsafeUninitializedCapacity: input.count) { output, initialized in
      input.withUnsafeBufferPointer { x in
        logSoftmax(
          x, shape: shape, axis: axis, into: output, threads: threads, mask: mask, sink: sink,
          fullyMaskedRows: fullyMaskedRows, temperature: temperature)
      }
      initialized = input.count
    }
  }
#endif
