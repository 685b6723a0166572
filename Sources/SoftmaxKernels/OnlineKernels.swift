// Pass 1 of the online softmax (Milakov & Gimelshein, "Online normalizer calculation for
// softmax", 2018), portable Swift SIMD: one read of the row yields its maximum M and the sum
// of e^(x − M) together. Each lane keeps a running maximum m and s = Σ e^(x − m) over what it
// has seen; a new value v costs one exponential, e = e^(−|v − m|) (argument ≤ 0):
//   v > m:  s = s · e + 1, m = v     (the old terms are rescaled to the new maximum)
//   else:   s = s + e
// The output pass is Three-Pass recompute's: y = e^(x − M) · (1/S).

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#elseif canImport(ucrt)
  import ucrt
#endif

/// A maximum with the sum of e^(x − maximum) over the same elements: the value that pass 1 of
/// the online softmax produces for a row or part of one.
///
/// Two such values merge by rescaling the sum whose maximum is smaller by e^(difference),
/// computed in Double, so chunks of one row are summed on different threads and merged in
/// chunk order.
///
/// - The empty sum is (−inf, 0); so is a part of a row whose elements are all −inf.
/// - A NaN element makes `sum` NaN (the maximum ignores it).
/// - A +inf element makes `maximum` +inf; the sum is then unspecified (it may be NaN), so
///   callers test the maximum before the sum.
package struct OnlineSum: Sendable, Equatable {
  /// The largest element; −inf when there is none (or every element is −inf).
  package var maximum: Float
  /// The smallest element minus `maximum` where a pass found it (the chunks of Three-Pass
  /// reload, for `flushThreshold(inverseSum:spread:)`), else −inf: nothing known. Declared
  /// beside `maximum`, in what was the padding before `sum`: the value stays 16 bytes, and the
  /// per-chunk arrays of long rows stay small enough for the stack (at 24 bytes, rows of 2^23
  /// floats allocated theirs on the heap: `AllocationTests`).
  package var spread: Float
  /// Σ e^(x − maximum); at least 1 for a non-empty sum with a finite maximum.
  package var sum: Double

  package static let empty = OnlineSum(maximum: -.infinity, sum: 0)

  package init(maximum: Float, sum: Double, spread: Float = -.infinity) {
    self.maximum = maximum
    self.sum = sum
    self.spread = spread
  }

  /// The sum over the elements of both: the larger maximum, and both sums rescaled to it.
  package func merged(with other: OnlineSum) -> OnlineSum {
    let target = Swift.max(maximum, other.maximum)
    return OnlineSum(
      maximum: target,
      sum: rescaledSum(sum, from: maximum, to: target)
        + rescaledSum(other.sum, from: other.maximum, to: target))
  }
}

/// s · e^(from − to) in Double, for from ≤ to. An empty sum stays exactly 0 (the difference of
/// two −inf maximums would be NaN) and equal maximums need no exponential (nor give NaN when
/// both are +inf); a NaN sum stays NaN.
@inline(__always)
package func rescaledSum(_ s: Double, from: Float, to target: Float) -> Double {
  s == 0 || from == target ? s : s * exp(Double(from) - Double(target))
}

/// −|x| lane-wise, by setting the sign bit: exact, and NaN stays NaN.
@_transparent
func negativeMagnitude(_ x: FloatVector) -> FloatVector {
  unsafeBitCast(unsafeBitCast(x, to: BitsVector.self) | 0x8000_0000, to: FloatVector.self)
}

/// One vector of running (maximum, sum) pairs, one per lane.
///
/// The maximum starts at −greatestFiniteMagnitude rather than −inf, so that v − m is never
/// −inf − (−inf): a −inf element gives e = 0 and leaves the lane alone, and a lane that saw
/// nothing but −inf keeps s = 0. Every other lane has s ≥ 1 (the term of its maximum), so
/// s = 0 identifies the empty lanes. Each e is 0 or at least 2^-126, and s ≥ 1 whenever it is
/// multiplied, so no product is subnormal.
struct RunningMaxSum {
  var maximum = FloatVector(repeating: -.greatestFiniteMagnitude)
  var sum = FloatVector(repeating: 0)

  /// Adds one vector of elements (pad tails with −inf).
  @_transparent
  mutating func add(_ v: FloatVector) {
    let e = expOfNonPositive(negativeMagnitude(v - maximum))
    let larger = v .> maximum
    sum = (sum + e).replacing(with: sum * e + 1, where: larger)
    maximum = maximum.replacing(with: v, where: larger)
  }

  /// Merges another accumulator lane by lane.
  @_transparent
  mutating func add(_ other: RunningMaxSum) {
    let m = maximum.replacing(with: other.maximum, where: other.maximum .> maximum)
    sum = sum * expOfNonPositive(maximum - m) + other.sum * expOfNonPositive(other.maximum - m)
    maximum = m
  }

  /// The lanes reduced to one (maximum, sum); (−inf, 0) when every lane is empty.
  @_transparent
  func total() -> OnlineSum {
    let m = maximum.max()
    let s = (sum * expOfNonPositive(maximum - m)).sum()
    return OnlineSum(maximum: s == 0 ? -.infinity : m, sum: Double(s))
  }
}

/// Pass 1 over one block (count ≤ sumBlockSize), two accumulators of 16 lanes.
@inline(never)
func onlineSumBlock_simd16_acc2(_ x: UnsafePointer<Float>, count: Int) -> OnlineSum {
  var acc0 = RunningMaxSum()
  var acc1 = RunningMaxSum()
  var i = 0
  while i + 32 <= count {
    acc0.add(x.loadVector(at: i))
    acc1.add(x.loadVector(at: i + 16))
    i += 32
  }
  while i < count {
    let rest = count - i
    acc0.add(
      rest >= 16
        ? x.loadVector(at: i) : x.loadPartialVector(at: i, count: rest, padding: -.infinity))
    i += 16
  }
  acc0.add(acc1)
  return acc0.total()
}

/// Pass 1 of the online softmax: the row's maximum and Σ e^(x_i − maximum), in one read.
/// Blocks of `sumBlockSize` elements are summed in Float vectors and merged in Double. A NaN
/// input makes the sum NaN; ±inf inputs follow `OnlineSum`.
package func onlineSum_simd16_acc2(_ x: UnsafePointer<Float>, count: Int) -> OnlineSum {
  mergeBlocks(count: count, from: .empty, { onlineSumBlock_simd16_acc2(x + $0, count: $1) }) {
    $0.merged(with: $1)
  }
}
