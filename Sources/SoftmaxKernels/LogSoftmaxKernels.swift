/// The output pass of log-softmax: y_i = ((x_i − shift) − high) − low, where the caller has
/// split log Σ e^x into `shift` (an input value, or 0) plus the Float pair high + low. The first
/// subtraction is exact when x_i is close to `shift`, and the pair carries the small part to
/// about 2^-48 relative, so entries near the top of the row keep an absolute error of a few
/// ulp of |log y| even when the logits are 10^8 or 10^30. `y` may be `x`.
///
/// The portable set's kernel and the reference for the others: the x86 sets run the same three
/// subtractions in C (`softmax_log_output_*`), which can also stream their stores.
package func logSoftmaxOutput_simd16(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, shift: Float,
  high: Float, low: Float
) {
  var i = 0
  while i + 16 <= count {
    y.storeVector(((x.loadVector(at: i) - shift) - high) - low, at: i)
    i += 16
  }
  while i < count {
    y[i] = ((x[i] - shift) - high) - low
    i += 1
  }
}
