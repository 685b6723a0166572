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
    for text in ["", "\n\n  \n"] {
      #expect(throws: FormatError.self) { try parse(text, .comma) }
    }
    #expect(throws: FormatError.self) { try parse("a,b\n", .comma, header: 1) }
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
