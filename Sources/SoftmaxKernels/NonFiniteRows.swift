/// Softmax of a row whose maximum is not finite (it is +inf or −inf, or NaN was seen), by the
/// limits that the public contract documents:
/// - any NaN makes every output NaN;
/// - otherwise the +inf entries share the mass equally and every other entry gets 0;
/// - a row of only −inf entries gives all zeros.
/// `y` may be `x`.
package func nonFiniteRowSoftmax(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int
) {
  var positiveInfinities = 0
  for i in 0..<count {
    if x[i].isNaN {
      y.update(repeating: .nan, count: count)
      return
    }
    if x[i] == .infinity { positiveInfinities += 1 }
  }
  let share = positiveInfinities > 0 ? 1 / Float(positiveInfinities) : 0
  for i in 0..<count {
    y[i] = x[i] == .infinity ? share : 0
  }
}
