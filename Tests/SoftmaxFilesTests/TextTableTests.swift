import Testing

import SoftmaxFiles

@Suite struct TextTableTests {
  func parse(_ text: String, _ separator: TextSeparator, header: Int = 0) throws -> TextTable {
    try TextTable(parsing: Array(text.utf8), separator: separator, headerLines: header)
  }

  @Test func readsCSVTSVAndWhitespace() throws {
    let csv = try parse("1, 2,3\r\n4,5 ,6\n\n", .comma)
    #expect(csv.values == [1, 2, 3, 4, 5, 6])
    #expect(csv.shape == [2, 3])
    let tsv = try parse("1\t2\n3\t4", .tab)
    #expect(tsv.shape == [2, 2])
    let spaces = try parse("  1   2\t3\n4 5 6  \n", .whitespace)
    #expect(spaces.values == [1, 2, 3, 4, 5, 6])
  }

  @Test func aSingleColumnIsAVector() throws {
    let column = try parse("0.5\n-1e3\n2\n", .whitespace)
    #expect(column.shape == [3])
    #expect(column.values == [0.5, -1000, 2])
  }

  @Test func specialValuesAreData() throws {
    let table = try parse("nan,inf,-inf,Infinity,-0", .comma)
    #expect(table.values[0].isNaN)
    #expect(Array(table.values[1...]) == [.infinity, -.infinity, .infinity, 0])
  }

  @Test func keepsHeaderLinesAndQuotedCells() throws {
    let table = try parse("a,b\n\"1\",\" 2 \"\n", .comma, header: 1)
    #expect(table.header == ["a,b"])
    #expect(table.values == [1, 2])
    let text = String(
      decoding: table.formatted([0.25, 0.75] as [Double], separator: .comma) { "\($0)" },
      as: UTF8.self)
    #expect(text == "a,b\n0.25,0.75\n")
  }

  @Test(
    arguments: [
      ("1,2\n3,x\n", TextSeparator.comma, "'x' is not a number", 2, 2),
      ("1,2\n3,,4\n", .comma, "empty value", 2, 2),
      ("1,2,3\n4,5\n", .comma, "2 values on this line, but 3 on the lines before it", 2, nil),
      // Kept by the first fuzzing run as crash-1d4516e5… (the same bytes as the seed ragged.csv).
      ("1,2\n3\n", .comma, "1 value on this line, but 2 on the lines before it", 2, nil),
      ("1 2\n3 4 5\n", .whitespace, "3 values on this line, but 2", 2, nil),
      ("1\t2\n1.0.0\t3\n", .tab, "'1.0.0' is not a number", 2, 1),
      ("1,2,\n", .comma, "empty value", 1, 3),
    ] as [(String, TextSeparator, String, Int, Int?)])
  func locatesProblems(
    text: String, separator: TextSeparator, message: String, line: Int, column: Int?
  ) {
    #expect {
      try parse(text, separator)
    } throws: { error in
      guard let error = error as? FormatError else { return false }
      return error.description.hasPrefix(message) && error.line == line && error.column == column
    }
  }

  @Test func emptyInputsAreErrors() {
    #expect(throws: FormatError("the input is empty")) { try parse("", .comma) }
    #expect(
      throws: FormatError(
        "the input has no values, only 3 blank lines (text cannot hold an array of empty rows; "
          + "use .npy)")
    ) { try parse("\n\n  \n", .comma) }
    #expect(throws: FormatError("the input has no data lines")) {
      try parse("a,b\n", .comma, header: 1)
    }
  }

  /// A (3, 0) array is written as three empty lines (its rows are kept); read back, they are
  /// blank lines, refused above.
  @Test func aTableWithoutColumnsIsEmptyLines() {
    let table = TextTable(header: ["h"], values: [], rows: 3, columns: 0)
    let text = table.formatted([] as [Double], separator: .comma) { "\($0)" }
    #expect(text == Array("h\n\n\n\n".utf8))
  }

  /// Pieces split anywhere, even inside a `\r\n`, read as the whole text does.
  @Test func readsTextInPiecesOfAnySize() throws {
    let text = Array("\u{FEFF}1,2\r\n3,4\r5,6\n\r\n7,8".utf8)
    for size in 1...6 {
      var reader = TextTableReader(separator: nil, headerLines: 0)
      for start in stride(from: 0, to: text.count, by: size) {
        try text[start..<min(start + size, text.count)].withUnsafeBytes { try reader.consume($0) }
      }
      let table = try reader.finish()
      #expect(table.values == [1, 2, 3, 4, 5, 6, 7, 8] && table.shape == [4, 2], "\(size)")
      #expect(reader.separator == .comma)
    }
  }

  @Test func lineEndsOfEveryKind() throws {
    #expect(try parse("1 2\r3 4\r", .whitespace).shape == [2, 2])
    #expect(try parse("1 2\r\n3 4\n", .whitespace).shape == [2, 2])
    // A lone CR ends a header line too; it is never copied into it.
    #expect(try parse("a b\r1 2\r", .whitespace, header: 1).header == ["a b"])
  }

  @Test func skipsALeadingByteOrderMarkOnly() throws {
    #expect(try parse("\u{FEFF}1,2\n", .comma).values == [1, 2])
    #expect(try parse("\u{FEFF}id,x\n1,2\n", .comma, header: 1).header == ["id,x"])
    #expect(throws: FormatError("'\u{FEFF}2' is not a number", line: 1, column: 2)) {
      try parse("1,\u{FEFF}2\n", .comma)
    }
  }

  @Test func refusesNULBytesWhereverTheyAre() {
    let cases: [(String, Int, Int)] = [("1,2\0,3\n", 1, 4), ("1\n\0", 2, 1), ("h\0\n1\n", 1, 2)]
    for (text, line, byte) in cases {
      #expect(
        throws: FormatError(
          "a NUL byte at byte \(byte) of the line: the input is binary, not text", line: line)
      ) { try parse(text, .comma, header: text.hasPrefix("h") ? 1 : 0) }
    }
  }

  @Test func refusesNumeralsBeyondDoubleButKeepsInfinities() throws {
    for numeral in ["1e400", "-1e999", "0x1p2000"] {
      #expect(
        throws: FormatError(
          "'\(numeral)' is beyond the range of float64 (about ±1.8e308)", line: 1, column: 2)
      ) { try parse("1,\(numeral)\n", .comma) }
    }
    let infinities = try parse("inf,-INF,+Infinity,1.7e308", .comma).values
    #expect(infinities == [.infinity, -.infinity, .infinity, 1.7e308])
  }

  @Test func sniffsTheSeparator() {
    #expect(TextSeparator.sniff(Array("1,2".utf8)) == .comma)
    #expect(TextSeparator.sniff(Array("1\t2".utf8)) == .tab)
    #expect(TextSeparator.sniff(Array("1 2".utf8)) == .whitespace)
  }

  @Test func messagesNameTheLocation() {
    let error = FormatError("'x' is not a number", line: 3, column: 2)
    #expect(error.message(in: "scores.csv") == "scores.csv:3:2: 'x' is not a number")
    #expect(FormatError("bad").message(in: "a.npy") == "a.npy: bad")
  }
}
