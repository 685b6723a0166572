import Foundation

/// The independent reference every softmax test compares against: Double arithmetic,
/// max-subtraction, and Neumaier-compensated summation, with the special-value contract
/// written out element by element. It shares no code with the library.
public enum ReferenceSoftmax {
  /// Softmax of `x` in Double precision.
  public static func softmax(_ x: [Float]) -> [Double] {
    if x.isEmpty { return [] }
    if x.contains(where: { $0.isNaN }) { return Array(repeating: .nan, count: x.count) }
    let infinities = x.filter { $0 == .infinity }.count
    if infinities > 0 {
      return x.map { $0 == .infinity ? 1 / Double(infinities) : 0 }
    }
    if x.allSatisfy({ $0 == -.infinity }) { return Array(repeating: 0, count: x.count) }
    let maximum = Double(x.max()!)
    let exponentials = x.map { Foundation.exp(Double($0) - maximum) }
    let total = compensatedSum(exponentials)
    return exponentials.map { $0 / total }
  }

  /// Log-softmax of `x` in Double: x − max − log Σ e^(x − max), with the same special-value
  /// contract (NaN → NaN everywhere; +inf entries → −log(count), the rest −inf; only −inf →
  /// −inf everywhere).
  public static func logSoftmax(_ x: [Float]) -> [Double] {
    if x.isEmpty { return [] }
    if x.contains(where: { $0.isNaN }) { return Array(repeating: .nan, count: x.count) }
    let infinities = x.filter { $0 == .infinity }.count
    if infinities > 0 {
      return x.map { $0 == .infinity ? -Foundation.log(Double(infinities)) : -.infinity }
    }
    guard let maximum = x.max(), maximum > -.infinity else {
      return Array(repeating: -.infinity, count: x.count)
    }
    let shift = Double(maximum)
    let logSum = Foundation.log(compensatedSum(x.map { Foundation.exp(Double($0) - shift) }))
    return x.map { (Double($0) - shift) - logSum }
  }

  /// Softmax of logits given in Double (the exact quotients of a temperature, say), finite
  /// or −inf, with at least one finite.
  public static func softmax(ofLogits q: [Double]) -> [Double] {
    let maximum = q.max()!
    let exponentials = q.map { Foundation.exp($0 - maximum) }
    let total = compensatedSum(exponentials)
    return exponentials.map { $0 / total }
  }

  /// Log-softmax of logits given in Double, finite or −inf, with at least one finite.
  public static func logSoftmax(ofLogits q: [Double]) -> [Double] {
    let maximum = q.max()!
    let logSum = Foundation.log(compensatedSum(q.map { Foundation.exp($0 - maximum) }))
    return q.map { ($0 - maximum) - logSum }
  }

  /// log Σ e^x in Double (−inf for an empty or all −inf row).
  public static func logSumExp(_ x: [Float]) -> Double {
    guard let maximum = x.max(), maximum > -.infinity else { return -.infinity }
    if maximum == .infinity { return .infinity }
    let shift = Double(maximum)
    return shift + Foundation.log(compensatedSum(x.map { Foundation.exp(Double($0) - shift) }))
  }

  /// Σ values with Neumaier's compensation: error about one ulp of the result, independent of
  /// the count. A sum that is infinite or NaN is the plain one, as IEEE arithmetic gives it
  /// (the compensation of an infinite sum is inf − inf).
  public static func compensatedSum(_ values: [Double]) -> Double {
    var sum = 0.0
    var compensation = 0.0
    for v in values {
      let t = sum + v
      if abs(sum) >= abs(v) {
        compensation += (sum - t) + v
      } else {
        compensation += (v - t) + sum
      }
      sum = t
    }
    return sum.isFinite ? sum + compensation : sum
  }
}
