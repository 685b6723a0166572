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
/// Lines end with `\n`, `\r\n` or a lone `\r`; a leading UTF-8 byte-order mark is skipped;
/// blank lines are skipped; every data line must have the same number of values; a NUL byte
/// anywhere is an error (the input is binary). Values are anything Swift's `Double(_:)`
/// reads, which includes `nan`, `inf`, `-inf` and `infinity` in any case (they follow the
/// library's special-value contract, they are not errors); a finite numeral beyond the range
/// of Double (`1e400`) is an error, not an infinity. When every line holds one value the text
/// is a single vector (a column of numbers), otherwise a [lines, values per line] matrix.
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
  ///   is not a number or out of range, an empty cell, a NUL byte, a line with a different
  ///   number of values than the ones before it, or no data at all.
  package init(
    parsing text: some Collection<UInt8>, separator: TextSeparator, headerLines: Int = 0
  ) throws(FormatError) {
    var reader = TextTableReader(separator: separator, headerLines: headerLines)
    let bytes = Array(text)
    try bytes.withUnsafeBytes { buffer in
      Result { () throws(FormatError) in try reader.consume(buffer) }
    }.get()
    self = try reader.finish()
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
