// An exact sum of Float values, in digits that merge word by word: what lets a batch's loss
// travel as one sum instead of one target logit per row.

/// The exact sum of finite Float values: a fixed-point number of `count` signed 16-bit
/// digits (each in an Int32 word), digit i worth 2^(16 i − 160). Every finite Float is an
/// integer of at most 24 bits times 2^e with −149 ≤ e ≤ 104, so its bits lie between 2^-160
/// and 2^128; 2^31 of them and 2^15 merges stay below the top digit's range.
///
/// Merging two sums adds their digits, word by word, without carries: each of the MPI
/// operation's calls may see any slice of the words. Digits are brought back into [0, 2^16)
/// (the top one signed) after the local additions, so that up to 2^15 ranks add up without
/// overflowing a word.
struct ExactFloatSum: Equatable {
  static let count = 20
  private static let base = -160

  var digits = [Int64](repeating: 0, count: count)

  /// Adds a finite value exactly.
  mutating func add(_ x: Float) {
    precondition(x.isFinite, "ExactFloatSum: \(x) is not finite")
    if x == 0 { return }
    // x = ±significand · 2^(exponent − 23), the significand an integer below 2^24.
    let bits = x.bitPattern
    let biased = Int((bits >> 23) & 0xff)
    let fraction = Int64(bits & 0x7f_ffff)
    let significand = biased == 0 ? fraction : fraction | 0x80_0000
    let position = (biased == 0 ? -149 : biased - 150) - Self.base
    let shifted = significand << Int64(position % 16)
    let sign: Int64 = x < 0 ? -1 : 1
    let i = position / 16
    digits[i] += sign * (shifted & 0xffff)
    digits[i + 1] += sign * ((shifted >> 16) & 0xffff)
    digits[i + 2] += sign * (shifted >> 32)
  }

  /// Brings every digit but the top one into [0, 2^16) by carrying upwards.
  mutating func normalize() {
    for i in 0..<(Self.count - 1) {
      let carry = digits[i] >> 16  // floor division: negative digits borrow
      digits[i] -= carry << 16
      digits[i + 1] += carry
    }
  }

  /// The sum minus `other`, exactly.
  func subtracting(_ other: ExactFloatSum) -> ExactFloatSum {
    var result = self
    for i in 0..<Self.count { result.digits[i] -= other.digits[i] }
    return result
  }

  /// The sum, rounded to Double (within an ulp).
  var value: Double {
    var n = self
    n.normalize()
    let negative = n.digits[Self.count - 1] < 0
    if negative {
      for i in 0..<Self.count { n.digits[i] = -n.digits[i] }
      n.normalize()
    }
    var total = 0.0
    for i in stride(from: Self.count - 1, through: 0, by: -1) where n.digits[i] != 0 {
      total +=
        Double(n.digits[i]) * Double(sign: .plus, exponent: 16 * i + Self.base, significand: 1)
    }
    return negative ? -total : total
  }

  /// The normalized digits as words, for a message.
  var words: [UInt32] {
    var n = self
    n.normalize()
    return n.digits.map { d in
      precondition(d >= Int64(Int32.min) && d <= Int64(Int32.max), "ExactFloatSum: overflow")
      return UInt32(bitPattern: Int32(d))
    }
  }

  /// The sum whose digits are `words` (as merged by adding word by word).
  init<Words: Collection<UInt32>>(words: Words) {
    precondition(words.count == Self.count)
    digits = words.map { Int64(Int32(bitPattern: $0)) }
  }

  init() {}
}
