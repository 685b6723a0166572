// log Σ e^x: of one row, or of every row along an axis.

/// log Σ e^(x_i) of a whole buffer, computed without overflow: pass 1 of the softmax kept as a
/// number (Float: the Two-Pass pair sum, no maximum needed; Double: the maximum and a
/// compensated Σ e^(x − max); Float16: in Float).
///
/// ```swift
/// let x: [Float] = [1000, 1000]
/// let lse = logSumExp(x)  // 1000.6931 (a naive log(exp(x).sum()) gives +inf)
/// ```
///
/// Finite for every finite, non-empty input, within a few ulp of the exact value after the
/// one rounding to `Element` (tested against a Double reference, logits up to ±1e30 for
/// Float). Special values: any NaN gives NaN; a +inf entry gives +inf; an empty input or one
/// of only −inf entries gives −inf. Float16 results beyond 65504 are +inf.
///
/// - Parameters:
///   - x: The values.
///   - threads: The most threads to use, or nil to decide by the length.
@inlinable
public func logSumExp<Element: SoftmaxElement>(
  _ x: UnsafeBufferPointer<Element>, threads: Int? = nil
) -> Element {
  var result = Element.zero
  withUnsafeMutablePointer(to: &result) { r in
    let call = _TrainingCall(
      "logSumExp", .logSumExp, input: x, shape: nil, axis: -1, threads: threads,
      logSums: UnsafeMutableBufferPointer(start: r, count: 1))
    _ = Element._train(call)
  }
  return result
}

/// log Σ e^(x_i) of a span (arrays, slices, contiguous storage). See
/// ``logSumExp(_:threads:)-(UnsafeBufferPointer<Element>,_)``.
@inlinable
public func logSumExp<Element: SoftmaxElement>(_ x: Span<Element>, threads: Int? = nil)
  -> Element
{
  x.withUnsafeBufferPointer { logSumExp($0, threads: threads) }
}

/// log Σ e^(x_i) of an array. See ``logSumExp(_:threads:)-(UnsafeBufferPointer<Element>,_)``.
@inlinable
public func logSumExp<Element: SoftmaxElement>(_ x: [Element], threads: Int? = nil) -> Element {
  x.withUnsafeBufferPointer { logSumExp($0, threads: threads) }
}

/// log Σ e^x along one axis of a row-major array: one value per row, in the order of the shape
/// without the axis, into `output`. Rows of length 0 give −inf. Numerics and special values as
/// for ``logSumExp(_:threads:)-(UnsafeBufferPointer<Element>,_)``, row by row; the result does
/// not depend on the thread count.
///
/// - Precondition: the shape's element count equals `input.count`, `axis` is in
///   `-rank..<rank`, and `output` has one element per row.
@inlinable
public func logSumExp<Element: SoftmaxElement>(
  _ input: UnsafeBufferPointer<Element>, shape: [Int], axis: Int = -1,
  into output: UnsafeMutableBufferPointer<Element>, threads: Int? = nil
) {
  let call = _TrainingCall(
    "logSumExp", .logSumExp, input: input, shape: shape, axis: axis, threads: threads,
    logSums: output)
  _ = Element._train(call)
}

/// log Σ e^x along one axis, from a span into a span of one element per row. See
/// ``logSumExp(_:shape:axis:into:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_)``.
@inlinable
public func logSumExp<Element: SoftmaxElement>(
  _ input: Span<Element>, shape: [Int], axis: Int = -1, into output: inout MutableSpan<Element>,
  threads: Int? = nil
) {
  input.withUnsafeBufferPointer { x in
    output.withUnsafeMutableBufferPointer { y in
      logSumExp(x, shape: shape, axis: axis, into: y, threads: threads)
    }
  }
}

/// log Σ e^x along one axis, as a new array of one element per row. See
/// ``logSumExp(_:shape:axis:into:threads:)-(UnsafeBufferPointer<Element>,_,_,_,_)``.
///
/// ```swift
/// let logits: [Float] = [0, 0, 1, 2, 3, 4]
/// let perRow = logSumExp(logits, shape: [2, 3])  // [log 2 + log(1 + e) ≈ 1.5514, 4.4076]
/// ```
@inlinable
public func logSumExp<Element: SoftmaxElement>(
  _ input: [Element], shape: [Int], axis: Int = -1, threads: Int? = nil
) -> [Element] {
  let rows = _rowCount(shape: shape, axis: axis, count: input.count, function: "logSumExp")
  return makeArray(count: rows) { y in
    input.withUnsafeBufferPointer { x in
      logSumExp(x, shape: shape, axis: axis, into: y, threads: threads)
    }
  }
}

/// The number of rows of `shape` along `axis` (checked), for the array-returning forms. An
/// implementation detail.
public func _rowCount(shape: [Int], axis: Int, count: Int, function: StaticString) -> Int {
  let layout = AxisLayout(shape: shape, axis: axis, count: count, function: function)
  if layout.length > 0 { return count / layout.length }
  let index = axis < 0 ? axis + shape.count : axis
  var rows = 1
  for (position, dimension) in shape.enumerated() where position != index {
    let (product, overflow) = rows.multipliedReportingOverflow(by: dimension)
    if overflow { fatalError("\(function): shape \(shape) has more rows than Int can count") }
    rows = product
  }
  return rows
}
