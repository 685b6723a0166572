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
  /// Runs a checked call on this type's rows. An implementation detail of the package.
  static func _compute(_ call: _SoftmaxCall<Self>)
  /// The normalizer of `count` ≥ 1 values. An implementation detail of the package.
  static func _accumulate(_ x: UnsafePointer<Self>, count: Int, threads: Int)
    -> SoftmaxNormalizer
  /// Runs a checked normalization. An implementation detail of the package.
  static func _normalize(_ call: _NormalizeCall<Self>)
}

/// A checked call of a public entry point, for ``SoftmaxElement``. An implementation detail.
public struct _SoftmaxCall<Element: SoftmaxElement> {
  let input: UnsafeBufferPointer<Element>
  let output: UnsafeMutableBufferPointer<Element>
  let axis: AxisCall
  let settings: RowSettings<Element>
}

extension Float: SoftmaxElement {
  public static func _compute(_ call: _SoftmaxCall<Float>) {
    AxisEngine.run(SoftmaxRows(settings: call.settings), call.input, call.output, call: call.axis)
  }
}

extension Double: SoftmaxElement {
  public static func _compute(_ call: _SoftmaxCall<Double>) {
    AxisEngine.run(
      SoftmaxRows(settings: call.settings), call.input, call.output, call: call.axis)
  }
}

#if !(os(macOS) && arch(x86_64))
  extension Float16: SoftmaxElement {
    public static func _compute(_ call: _SoftmaxCall<Float16>) {
      AxisEngine.run(
        HalfSoftmax(settings: call.settings), call.input, call.output, call: call.axis)
    }
  }
#endif

/// Checks a call and runs it: the one path from every public entry point to the engine.
/// `shape` nil means one row of the whole buffer.
func compute<Element: SoftmaxElement>(
  _ input: UnsafeBufferPointer<Element>, _ output: UnsafeMutableBufferPointer<Element>,
  shape: [Int]?, axis: Int, threads: Int?, settings: RowSettings<Element>, function: String
) {
  var settings = settings
  let call: AxisCall
  if let shape {
    call = AxisCall(
      input, output, shape: shape, axis: axis, threads: threads, settings: &settings,
      function: function)
  } else {
    call = AxisCall(input, output, threads: threads, settings: settings, function: function)
  }
  Element._compute(_SoftmaxCall(input: input, output: output, axis: call, settings: settings))
}

/// Calls `body` with the buffers of two spans (trapping, naming `function`, when the counts
/// differ). Spans cannot alias, so the buffers are disjoint.
func withBuffers<Element, Result>(
  _ input: Span<Element>, _ output: inout MutableSpan<Element>, function: String,
  _ body: (UnsafeBufferPointer<Element>, UnsafeMutableBufferPointer<Element>) -> Result
) -> Result {
  guard input.count == output.count else {
    fatalError(
      "\(function): the input has \(input.count) elements but the output has \(output.count); "
        + "they must have the same count")
  }
  return input.withUnsafeBufferPointer { x in
    output.withUnsafeMutableBufferPointer { y in body(x, y) }
  }
}

/// A new array of `count` elements that `body` initializes through a buffer.
func makeArray<Element>(
  count: Int, _ body: (UnsafeMutableBufferPointer<Element>) -> Void
) -> [Element] {
  [Element](unsafeUninitializedCapacity: count) { output, initialized in
    body(output)
    initialized = count
  }
}
