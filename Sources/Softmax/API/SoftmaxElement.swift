/// The element types that the functions of this package compute on: `Float`, `Double` and
/// `Float16` (where Swift has it).
///
/// - `Float`: the AVX-512, AVX2 or portable kernels of every ``SoftmaxAlgorithm``.
/// - `Double`: Double range and precision (logits beyond the Float range), Three-Pass reload
///   on `SIMD8<Double>` with compensated sums: every probability of at least 1e-300 within a
///   relative error of 1e-13 of the exact softmax, log-probabilities within
///   1e-12 · max(1, |result|); the `algorithm` argument is accepted and has no effect.
/// - `Float16`: storage only; computed in Float and rounded once, so every output is within
///   1 ulp of the correctly rounded exact softmax (Float16 subnormals included).
///
/// The package's own types conform; a conformance outside it is not supported (the
/// requirement is an implementation detail and traps).
public protocol SoftmaxElement: BinaryFloatingPoint, Sendable {
  /// Runs `request` on this type's rows. An implementation detail of the package: the public
  /// functions are inlined into their callers, so that they reach this concrete code without
  /// running generic code (which instantiates type metadata on every call).
  static func _compute(
    _ input: UnsafeBufferPointer<Self>, _ output: UnsafeMutableBufferPointer<Self>,
    _ request: _SoftmaxRequest<Self>)
  /// The softmax (or log-softmax) of one whole row, with no options: the hot path of short
  /// rows, which skips the settings of the shaped entry points. An implementation detail.
  static func _row(
    _ input: UnsafeBufferPointer<Self>, _ output: UnsafeMutableBufferPointer<Self>,
    logarithm: Bool, algorithm: SoftmaxAlgorithm, threads: Int?, function: StaticString)
  /// The normalizer of `values`. An implementation detail of the package.
  static func _accumulate(_ values: UnsafeBufferPointer<Self>, threads: Int?)
    -> SoftmaxNormalizer
  /// Writes the softmax (or log-softmax) of `values` within `normalizer` into `output`. An
  /// implementation detail of the package.
  static func _normalize(
    _ values: UnsafeBufferPointer<Self>, into output: UnsafeMutableBufferPointer<Self>,
    by normalizer: SoftmaxNormalizer, logarithm: Bool, threads: Int?)
  /// Runs a training function (log-sum-exp, a backward pass, a loss) and returns its reduced
  /// loss. An implementation detail of the package.
  static func _train(_ call: _TrainingCall<Self>) -> Double
  /// Routes tokens to experts (mixture-of-experts gating). An implementation detail of the
  /// package.
  static func _moeGating(_ call: _GatingCall<Self>)
}

/// What a public entry point asks for, for ``SoftmaxElement``. An implementation detail.
public struct _SoftmaxRequest<Element: SoftmaxElement> {
  @usableFromInline let function: StaticString
  @usableFromInline let logarithm: Bool
  /// nil: the whole buffer is one row.
  @usableFromInline let shape: [Int]?
  @usableFromInline let axis: Int
  @usableFromInline let algorithm: SoftmaxAlgorithm
  @usableFromInline let threads: Int?
  @usableFromInline let mask: SoftmaxMask
  @usableFromInline let sink: Element?
  @usableFromInline let fullyMaskedRows: FullyMaskedRows
  @usableFromInline let temperature: Element

  @inlinable
  init(
    _ function: StaticString, logarithm: Bool, shape: [Int]? = nil, axis: Int = -1,
    algorithm: SoftmaxAlgorithm = .auto, threads: Int?, mask: SoftmaxMask = .none,
    sink: Element? = nil, fullyMaskedRows: FullyMaskedRows = .zeros, temperature: Element = 1
  ) {
    self.function = function
    self.logarithm = logarithm
    self.shape = shape
    self.axis = axis
    self.algorithm = algorithm
    self.threads = threads
    self.mask = mask
    self.sink = sink
    self.fullyMaskedRows = fullyMaskedRows
    self.temperature = temperature
  }

  /// Checks the request against the buffers and runs `operation` on the engine: the one path
  /// from every public entry point to the rows, compiled for each element type.
  func run<Operation: AxisOperation>(
    _ input: UnsafeBufferPointer<Element>, _ output: UnsafeMutableBufferPointer<Element>,
    _ operation: (RowSettings) -> Operation
  ) where Operation.Element == Element {
    checkTemperature(temperature, function: function)
    var settings = RowSettings(
      output: logarithm ? .logProbabilities : .probabilities, algorithm: algorithm, mask: mask,
      sink: sink.map { Double($0) }, fullyMaskedRows: fullyMaskedRows,
      temperature: Double(temperature))
    let call: AxisCall
    if let shape {
      call = AxisCall(
        input, output, shape: shape, axis: axis, threads: threads, settings: &settings,
        function: function)
    } else {
      call = AxisCall(input, output, threads: threads, function: function)
    }
    AxisEngine.run(operation(settings), input, output, call: call)
  }
}

extension Float: SoftmaxElement {
  public static func _row(
    _ input: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
    logarithm: Bool, algorithm: SoftmaxAlgorithm, threads: Int?, function: StaticString
  ) {
    oneRow(
      input, output, algorithm: algorithm, logarithm: logarithm, threads: threads,
      function: function)
  }

  public static func _compute(
    _ input: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
    _ request: _SoftmaxRequest<Float>
  ) {
    request.run(input, output) { SoftmaxRows(settings: $0) }
  }
}

extension Double: SoftmaxElement {
  public static func _row(
    _ input: UnsafeBufferPointer<Double>, _ output: UnsafeMutableBufferPointer<Double>,
    logarithm: Bool, algorithm: SoftmaxAlgorithm, threads: Int?, function: StaticString
  ) {
    oneRow(
      input, output, algorithm: algorithm, logarithm: logarithm, threads: threads,
      function: function)
  }

  public static func _compute(
    _ input: UnsafeBufferPointer<Double>, _ output: UnsafeMutableBufferPointer<Double>,
    _ request: _SoftmaxRequest<Double>
  ) {
    request.run(input, output) { SoftmaxRows(settings: $0) }
  }
}

#if !(os(macOS) && arch(x86_64))
  extension Float16: SoftmaxElement {
    public static func _row(
      _ input: UnsafeBufferPointer<Float16>, _ output: UnsafeMutableBufferPointer<Float16>,
      logarithm: Bool, algorithm: SoftmaxAlgorithm, threads: Int?, function: StaticString
    ) {
      let request = _SoftmaxRequest<Float16>(
        function, logarithm: logarithm, algorithm: algorithm, threads: threads)
      request.run(input, output) { HalfSoftmax(settings: $0) }
    }

    public static func _compute(
      _ input: UnsafeBufferPointer<Float16>, _ output: UnsafeMutableBufferPointer<Float16>,
      _ request: _SoftmaxRequest<Float16>
    ) {
      request.run(input, output) { HalfSoftmax(settings: $0) }
    }
  }
#endif

/// Calls `body` with the buffers of two spans. Spans cannot alias, so the buffers are
/// disjoint; the callee checks the counts.
@inlinable
func withBuffers<Element, Result>(
  _ input: Span<Element>, _ output: inout MutableSpan<Element>,
  _ body: (UnsafeBufferPointer<Element>, UnsafeMutableBufferPointer<Element>) -> Result
) -> Result {
  input.withUnsafeBufferPointer { x in
    output.withUnsafeMutableBufferPointer { y in body(x, y) }
  }
}

/// A new array of `count` elements that `body` initializes through a buffer.
@inlinable
func makeArray<Element>(
  count: Int, _ body: (UnsafeMutableBufferPointer<Element>) -> Void
) -> [Element] {
  [Element](unsafeUninitializedCapacity: count) { output, initialized in
    body(output)
    initialized = count
  }
}
