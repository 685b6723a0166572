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

/// The element types `softmax apply` computes in: the file's own, or Double.
protocol ShapedSoftmax: ComputeScalar, SoftmaxElement {}

extension Float: ShapedSoftmax {}
extension Double: ShapedSoftmax {}

/// Softmax (or log-softmax) of `values` in place along `axis` of the C-order `shape`, by the
/// library's shaped functions, with the temperature and the fully-masked-row policy.
func computeInPlace<T: ShapedSoftmax>(
  _ values: UnsafeMutableBufferPointer<T>, shape: [Int], axis: Int, options: ComputeOptions
) throws(ToolError) {
  let shape = shape.isEmpty ? [1] : shape
  // Whether the axis is contiguous, without multiplying the dimensions after it: their
  // product may overflow when another dimension is 0 (a (0, 2^40, 2^40) array is empty).
  let contiguous = shape[(axis + 1)...].allSatisfy { $0 == 1 }
  guard options.temperature != 0 || contiguous else {
    throw .usage(
      "--temperature 0 (argmax) needs the axis to be contiguous in memory: the last axis of a "
        + "C-order array, the first of a Fortran-order one")
  }
  // Nothing to compute, whatever the other dimensions are.
  if values.isEmpty { return }
  let input = UnsafeBufferPointer(values)
  let temperature = T(options.temperature)
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
