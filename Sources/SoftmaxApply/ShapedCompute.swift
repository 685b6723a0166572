import Softmax
import SoftmaxFiles

/// What to compute on an array, resolved for its layout.
struct ComputeOptions {
  var logarithm: Bool
  var algorithm: SoftmaxAlgorithm
  var temperature: Double
  var threads: Int?
  var fullyMaskedRows: FullyMaskedRows
}

/// A compute type with the library's shaped softmax, applied in place.
protocol ShapedSoftmax: ComputeScalar {
  /// The library's shaped softmax or log-softmax along the last axis of `shape` (or an axis
  /// followed only by dimensions of size 1), in place, with the temperature and policy.
  static func lastAxisSoftmax(
    _ values: UnsafeMutableBufferPointer<Self>, shape: [Int], axis: Int, options: ComputeOptions)
  /// The same along any axis, without temperature or policy.
  static func plainSoftmax(
    _ values: UnsafeMutableBufferPointer<Self>, shape: [Int], axis: Int, options: ComputeOptions)
}

extension Float: ShapedSoftmax {
  static func lastAxisSoftmax(
    _ values: UnsafeMutableBufferPointer<Float>, shape: [Int], axis: Int, options: ComputeOptions
  ) {
    let input = UnsafeBufferPointer(values)
    let temperature = Float(options.temperature)
    if options.logarithm {
      logSoftmax(
        input, shape: shape, axis: axis, into: values, threads: options.threads,
        fullyMaskedRows: options.fullyMaskedRows, temperature: temperature)
    } else {
      softmax(
        input, shape: shape, axis: axis, into: values, algorithm: options.algorithm,
        threads: options.threads, fullyMaskedRows: options.fullyMaskedRows,
        temperature: temperature)
    }
  }

  static func plainSoftmax(
    _ values: UnsafeMutableBufferPointer<Float>, shape: [Int], axis: Int, options: ComputeOptions
  ) {
    let input = UnsafeBufferPointer(values)
    if options.logarithm {
      logSoftmax(input, shape: shape, axis: axis, into: values, threads: options.threads)
    } else {
      softmax(
        input, shape: shape, axis: axis, into: values, algorithm: options.algorithm,
        threads: options.threads)
    }
  }
}

extension Double: ShapedSoftmax {
  static func lastAxisSoftmax(
    _ values: UnsafeMutableBufferPointer<Double>, shape: [Int], axis: Int, options: ComputeOptions
  ) {
    let input = UnsafeBufferPointer(values)
    if options.logarithm {
      logSoftmax(
        input, shape: shape, axis: axis, into: values, threads: options.threads,
        fullyMaskedRows: options.fullyMaskedRows, temperature: options.temperature)
    } else {
      softmax(
        input, shape: shape, axis: axis, into: values, algorithm: options.algorithm,
        threads: options.threads, fullyMaskedRows: options.fullyMaskedRows,
        temperature: options.temperature)
    }
  }

  static func plainSoftmax(
    _ values: UnsafeMutableBufferPointer<Double>, shape: [Int], axis: Int, options: ComputeOptions
  ) {
    let input = UnsafeBufferPointer(values)
    if options.logarithm {
      logSoftmax(input, shape: shape, axis: axis, into: values, threads: options.threads)
    } else {
      softmax(
        input, shape: shape, axis: axis, into: values, algorithm: options.algorithm,
        threads: options.threads)
    }
  }
}

/// Softmax (or log-softmax) of `values` in place along `axis` of the C-order `shape`.
///
/// The library applies temperatures and the fully-masked-row policy to contiguous rows; along
/// an inner axis the temperature is applied here first (the same correctly rounded division)
/// and the policy afterwards: a line along the axis whose outputs are all 0 (log: all −inf)
/// had nothing kept, since any kept entry gets at least 1/length.
func computeInPlace<T: ShapedSoftmax>(
  _ values: UnsafeMutableBufferPointer<T>, shape: [Int], axis: Int, options: ComputeOptions
) throws(ToolError) {
  let shape = shape.isEmpty ? [1] : shape
  let inner = shape[(axis + 1)...].reduce(1, *)
  if inner == 1 {
    T.lastAxisSoftmax(values, shape: shape, axis: axis, options: options)
    return
  }
  guard options.temperature != 0 else {
    throw .usage(
      "--temperature 0 (argmax) needs the axis to be contiguous in memory: the last axis of a "
        + "C-order array, the first of a Fortran-order one")
  }
  if options.temperature != 1 {
    let t = T(options.temperature)
    for i in values.indices { values[i] /= t }
  }
  T.plainSoftmax(values, shape: shape, axis: axis, options: options)
  guard options.fullyMaskedRows == .nan else { return }
  let length = shape[axis]
  let outer = shape[..<axis].reduce(1, *)
  let empty: T = options.logarithm ? -.infinity : 0
  for o in 0..<outer {
    for i in 0..<inner {
      let base = o * length * inner + i
      if length > 0 && (0..<length).allSatisfy({ values[base + $0 * inner] == empty }) {
        for k in 0..<length { values[base + k * inner] = .nan }
      }
    }
  }
}
