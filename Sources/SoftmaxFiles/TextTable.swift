/// How the values on a line of text are separated.
package enum TextSeparator: String, Sendable, CaseIterable {
  /// Commas (CSV); spaces around a value are ignored, a cell may be in double quotes.
  case comma
  /// Tabs (TSV).
  case tab
  /// Runs of spaces and tabs.
  case whitespace

  /// What the writer puts between values.
  package var written: String {
    switch self {
    case .comma: ","
    case .tab: "\t"
    case .whitespace: " "
    }
  }

  /// The separator of a text whose first data line is `line`: commas if it has one, else tabs
  /// if it has one, else whitespace.
  package static func sniff(_ line: some Collection<UInt8>) -> TextSeparator {
    if line.contains(UInt8(ascii: ",")) { return .comma }
    if line.contains(UInt8(ascii: "\t")) { return .tab }
    return .whitespace
  }
}

/// Numbers read from text, one row per line.
///
/// Lines end with `\n` or `\r\n`; blank lines are skipped; every data line must have the same
/// number of values. Values are anything Swift's `Double(_:)` reads, which includes `nan`,
/// `inf`, `-inf` and `infinity` in any case (they follow the library's special-value contract,
/// they are not errors). When every line holds one value the text is a single vector (a column
/// of numbers), otherwise a [lines, values per line] matrix.
package struct TextTable: Equatable, Sendable {
  /// Header lines, kept verbatim (without their line ends) to be written back.
  package var header: [String]
  /// The values, row after row.
  package var values: [Double]
  /// The number of data lines.
  package var rows: Int
  /// The number of values on each line.
  package var columns: Int

  package init(header: [String] = [], values: [Double], rows: Int, columns: Int) {
    self.header = header
    self.values = values
    self.rows = rows
    self.columns = columns
  }

  /// The array's shape: [rows] for a single column, [rows, columns] otherwise.
  package var shape: [Int] { columns == 1 ? [rows] : [rows, columns] }

  /// Parses `text`. The first `headerLines` lines (blank or not) are the header.
  ///
  /// - Throws: ``FormatError`` with the line (and column) of the first problem: a value that
  ///   is not a number, an empty cell, a line with a different number of values than the ones
  ///   before it, or no data at all.
  package init(
    parsing text: some Collection<UInt8>, separator: TextSeparator, headerLines: Int = 0
  ) throws(FormatError) {
    let bytes = Array(text)
    header = []
    values = []
    rows = 0
    columns = 0
    var lineNumber = 0
    var start = 0
    while start < bytes.count {
      var end = start
      while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
      lineNumber += 1
      var contentEnd = end
      if contentEnd > start, bytes[contentEnd - 1] == UInt8(ascii: "\r") { contentEnd -= 1 }
      let line = bytes[start..<contentEnd]
      start = end + 1
      if lineNumber <= headerLines {
        header.append(String(decoding: line, as: UTF8.self))
        continue
      }
      if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
      let count = try appendValues(of: line, separator: separator, lineNumber: lineNumber)
      if rows == 0 {
        columns = count
      } else if count != columns {
        throw FormatError(
          "\(count) value\(count == 1 ? "" : "s") on this line, but \(columns) on the lines "
            + "before it (every line must have as many)", line: lineNumber)
      }
      rows += 1
    }
    if rows == 0 {
      throw FormatError(bytes.isEmpty ? "the input is empty" : "the input has no data lines")
    }
  }

  /// Parses the values of one line onto `values`; returns how many there were.
  private mutating func appendValues(
    of line: ArraySlice<UInt8>, separator: TextSeparator, lineNumber: Int
  ) throws(FormatError) -> Int {
    var count = 0
    for cell in Self.cells(of: line, separator: separator) {
      count += 1
      var cell = cell
      Self.trimBlanks(&cell)
      if separator == .comma, cell.count >= 2, cell.first == UInt8(ascii: "\""),
        cell.last == UInt8(ascii: "\"")
      {
        cell = cell.dropFirst().dropLast()
        Self.trimBlanks(&cell)
      }
      guard !cell.isEmpty else {
        throw FormatError("empty value", line: lineNumber, column: count)
      }
      let text = String(decoding: cell, as: UTF8.self)
      guard let value = Double(text) else {
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        throw FormatError("'\(shown)' is not a number", line: lineNumber, column: count)
      }
      values.append(value)
    }
    return count
  }

  /// The cells of a line: split at every separator, or at runs of blanks for whitespace.
  private static func cells(
    of line: ArraySlice<UInt8>, separator: TextSeparator
  ) -> [ArraySlice<UInt8>] {
    switch separator {
    case .comma:
      return line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
    case .tab:
      return line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false)
    case .whitespace:
      return line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
    }
  }

  private static func trimBlanks(_ cell: inout ArraySlice<UInt8>) {
    while let first = cell.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
      cell.removeFirst()
    }
    while let last = cell.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") {
      cell.removeLast()
    }
  }

  /// The text of `values` laid out as this table: its header lines, then `columns` values per
  /// line, each printed by `format`, every line ending with `\n`. A table without columns is
  /// `rows` empty lines, so that a (3, 0) array keeps its three rows.
  package func formatted<T>(
    _ values: some Collection<T>, separator: TextSeparator, format: (T) -> String
  ) -> [UInt8] {
    var text = ""
    text.reserveCapacity(values.count * 12 + header.count * 80)
    for line in header {
      text += line
      text += "\n"
    }
    if columns == 0 { text += String(repeating: "\n", count: rows) }
    var column = 0
    for value in values {
      if column > 0 { text += separator.written }
      text += format(value)
      column += 1
      if column == columns {
        text += "\n"
        column = 0
      }
    }
    return Array(text.utf8)
  }
}
