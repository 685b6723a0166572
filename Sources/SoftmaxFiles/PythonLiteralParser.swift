/// A value in a `.npy` header dictionary.
enum HeaderValue: Equatable {
  case string(String)
  case boolean(Bool)
  case tuple([Int])
  /// A list: NumPy writes structured (record) element types this way.
  case list
}

/// Reads the small subset of Python literals that `.npy` headers use: a dictionary of string
/// keys whose values are strings, `True`/`False`, tuples of non-negative integers, or lists
/// (recognized only to be refused). Anything else is a corrupt header. Bounded: every step
/// consumes input, and nesting is at most a list of lists.
struct PythonLiteralParser {
  private let bytes: [UInt8]
  private var index = 0

  init(_ bytes: some Collection<UInt8>) {
    self.bytes = Array(bytes)
  }

  /// The header's dictionary; only spaces and a newline may follow it.
  mutating func parseHeaderDictionary() throws(FormatError) -> [String: HeaderValue] {
    skipSpaces()
    try expect(UInt8(ascii: "{"), "the header is not a dictionary")
    var result: [String: HeaderValue] = [:]
    while true {
      skipSpaces()
      if consume(UInt8(ascii: "}")) { break }
      let key = try parseString()
      skipSpaces()
      try expect(UInt8(ascii: ":"), "expected ':' after '\(key)'")
      skipSpaces()
      guard result[key] == nil else { throw corrupt("the key '\(key)' appears twice") }
      result[key] = try parseValue(depth: 0)
      skipSpaces()
      if consume(UInt8(ascii: ",")) { continue }
      try expect(UInt8(ascii: "}"), "expected ',' or '}' after the value of '\(key)'")
      break
    }
    while index < bytes.count {
      let byte = bytes[index]
      guard byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == 0 else {
        throw corrupt("unexpected text after the dictionary")
      }
      index += 1
    }
    return result
  }

  private mutating func parseValue(depth: Int) throws(FormatError) -> HeaderValue {
    guard index < bytes.count else { throw corrupt("the header ends inside a value") }
    switch bytes[index] {
    case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "("): return .tuple(try parseTuple())
    case UInt8(ascii: "["):
      guard depth < 8 else { throw corrupt("lists nested too deeply") }
      try skipList(depth: depth)
      return .list
    default:
      if consumeWord("True") { return .boolean(true) }
      if consumeWord("False") { return .boolean(false) }
      throw corrupt("unexpected value at byte \(index)")
    }
  }

  private mutating func parseString() throws(FormatError) -> String {
    guard index < bytes.count,
      bytes[index] == UInt8(ascii: "'") || bytes[index] == UInt8(ascii: "\"")
    else { throw corrupt("expected a quoted string at byte \(index)") }
    let quote = bytes[index]
    index += 1
    let start = index
    while index < bytes.count, bytes[index] != quote {
      guard bytes[index] != UInt8(ascii: "\\"), bytes[index] != UInt8(ascii: "\n") else {
        throw corrupt("unsupported character in a string")
      }
      index += 1
    }
    guard index < bytes.count else { throw corrupt("a string is not closed") }
    let text = String(decoding: bytes[start..<index], as: UTF8.self)
    index += 1
    return text
  }

  private mutating func parseTuple() throws(FormatError) -> [Int] {
    index += 1
    var values: [Int] = []
    while true {
      skipSpaces()
      if consume(UInt8(ascii: ")")) { return values }
      values.append(try parseDimension())
      skipSpaces()
      if consume(UInt8(ascii: ",")) { continue }
      try expect(UInt8(ascii: ")"), "expected ',' or ')' in the shape")
      return values
    }
  }

  /// A non-negative integer, with the `L` suffix that Python 2 wrote for long integers.
  private mutating func parseDimension() throws(FormatError) -> Int {
    var value = 0
    var digits = 0
    while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9")
    {
      let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
      let (sum, overflow2) = times10.addingReportingOverflow(Int(bytes[index] - UInt8(ascii: "0")))
      guard !overflow1, !overflow2 else { throw corrupt("a dimension of the shape is too large") }
      value = sum
      digits += 1
      index += 1
    }
    guard digits > 0 else { throw corrupt("the shape must hold non-negative integers") }
    _ = consume(UInt8(ascii: "L"))
    return value
  }

  /// Skips a (possibly nested) list of strings, numbers and tuples.
  private mutating func skipList(depth: Int) throws(FormatError) {
    let open = bytes[index]
    let close = open == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: ")")
    index += 1
    while index < bytes.count {
      let byte = bytes[index]
      if byte == close {
        index += 1
        return
      }
      if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
        _ = try parseString()
      } else if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "(") {
        guard depth < 8 else { throw corrupt("lists nested too deeply") }
        try skipList(depth: depth + 1)
      } else {
        index += 1
      }
    }
    throw corrupt("a list is not closed")
  }

  private mutating func skipSpaces() {
    while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
  }

  private mutating func consume(_ byte: UInt8) -> Bool {
    guard index < bytes.count, bytes[index] == byte else { return false }
    index += 1
    return true
  }

  private mutating func consumeWord(_ word: String) -> Bool {
    let utf8 = Array(word.utf8)
    guard bytes.count - index >= utf8.count, Array(bytes[index..<index + utf8.count]) == utf8
    else { return false }
    index += utf8.count
    return true
  }

  private mutating func expect(_ byte: UInt8, _ problem: String) throws(FormatError) {
    guard consume(byte) else { throw corrupt(problem) }
  }

  private func corrupt(_ problem: String) -> FormatError {
    FormatError("corrupt .npy header: \(problem)")
  }
}
