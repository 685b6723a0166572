#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// What a row of a softmax-like operation holds: probabilities or their logarithms. The
/// special-value contract writes the same limits in either form (a share s, or log s).
package enum RowOutput: Sendable {
  case probabilities
  case logProbabilities

  /// What an entry with no mass becomes: 0, or −inf.
  @inline(__always)
  package func empty<T: BinaryFloatingPoint>(_: T.Type = T.self) -> T {
    self == .probabilities ? 0 : -.infinity
  }

  /// An equal share of the mass among `shares` entries: 1/shares, or −log(shares).
  @inline(__always)
  package func share<T: BinaryFloatingPoint>(among shares: Int, _: T.Type = T.self) -> T {
    self == .probabilities ? T(1 / Double(shares)) : T(-log(Double(shares)))
  }
}

/// The one special-value contract of every operation, element type and layout, for a line
/// (a row, or a column `stride` elements apart) whose maximum is not finite:
/// - any NaN makes every output NaN;
/// - otherwise the +inf entries (and `extraInfinities` more outside the line, such as a sink
///   of +inf or other chunks and shards) share the mass equally and every other entry gets
///   nothing;
/// - a line of only −inf entries (and no extra infinity) gives nothing everywhere: zeros, or
///   −inf for log-probabilities (the fully-masked-row policy `.nan` is the caller's).
package enum SpecialValues {
  /// Whether the line holds a NaN, and how many +inf entries it holds.
  package static func census<T: BinaryFloatingPoint>(
    _ x: UnsafePointer<T>, count: Int, stride: Int = 1
  ) -> (hasNaN: Bool, infinities: Int) {
    var infinities = 0
    for i in 0..<count {
      let v = x[i * stride]
      if v.isNaN { return (true, infinities) }
      if v == .infinity { infinities += 1 }
    }
    return (false, infinities)
  }

  /// Writes the limit for a line with `infinities` +inf entries in all (0: nothing has mass):
  /// each +inf entry of the line gets its share, every other entry nothing. `y` may be `x`.
  package static func writeShares<T: BinaryFloatingPoint>(
    _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, count: Int, stride: Int = 1,
    infinities: Int, output: RowOutput
  ) {
    let empty: T = output.empty()
    let share: T = infinities > 0 ? output.share(among: infinities) : empty
    for i in 0..<count {
      y[i * stride] = x[i * stride] == .infinity ? share : empty
    }
  }

  /// Writes NaN to every entry of the line.
  package static func writeNaN<T: BinaryFloatingPoint>(
    _ y: UnsafeMutablePointer<T>, count: Int, stride: Int = 1
  ) {
    for i in 0..<count { y[i * stride] = .nan }
  }

  /// The whole contract for one line whose maximum is not finite. `y` may be `x`.
  package static func apply<T: BinaryFloatingPoint>(
    _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, count: Int, stride: Int = 1,
    extraInfinities: Int = 0, output: RowOutput
  ) {
    let (hasNaN, infinities) = census(x, count: count, stride: stride)
    if hasNaN { return writeNaN(y, count: count, stride: stride) }
    writeShares(
      x, y, count: count, stride: stride, infinities: infinities + extraInfinities,
      output: output)
  }
}

/// The limit of a softmax as the temperature goes to 0, accumulated over one line or many
/// chunks of it: the largest entries (and a sink equal to them) share the mass equally, the
/// rest get nothing; NaN anywhere gives NaN; a sink larger than every entry takes all the
/// mass. `isEmpty` says that nothing had mass (every entry −inf, and no sink above −inf).
package struct ArgmaxLimit<T: BinaryFloatingPoint & Sendable>: Sendable {
  package private(set) var maximum = -T.infinity
  package private(set) var ties = 0
  package private(set) var sawNaN = false

  package init() {}

  /// Adds `count` entries, `stride` apart.
  package mutating func accumulate(_ x: UnsafePointer<T>, count: Int, stride: Int = 1) {
    for i in 0..<count { accumulate(x[i * stride]) }
  }

  /// Adds one entry.
  @inline(__always)
  package mutating func accumulate(_ v: T) {
    if v.isNaN {
      sawNaN = true
    } else if v > maximum {
      maximum = v
      ties = 1
    } else if v == maximum && v > -.infinity {
      ties += 1
    }
  }

  /// Whether only −inf entries (or none) were accumulated.
  package var isEmpty: Bool { !sawNaN && ties == 0 }

  /// Writes the limit for entries of the accumulated line. `y` may be `x`.
  package func write(
    _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, count: Int, stride: Int = 1,
    output: RowOutput
  ) {
    if sawNaN { return SpecialValues.writeNaN(y, count: count, stride: stride) }
    let empty: T = output.empty()
    let share: T = ties > 0 ? output.share(among: ties) : empty
    for i in 0..<count {
      y[i * stride] = ties > 0 && x[i * stride] == maximum ? share : empty
    }
  }
}
