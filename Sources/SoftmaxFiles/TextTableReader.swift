/// Reads a ``TextTable`` from text that arrives in pieces (a pipe, a file read in chunks), so
/// that a problem is found in the first piece that shows it: `/dev/zero` read as text fails at
/// its first byte instead of after memory runs out. A line may span any number of pieces.
package struct TextTableReader {
  /// The separator; nil until the first data line decides it (commas, else tabs, else blanks).
  package private(set) var separator: TextSeparator?
  private let headerLines: Int
  private var table = TextTable(values: [], rows: 0, columns: 0)
  /// The part of the current line read so far.
  private var line: [UInt8] = []
  /// The number of the current line (1-based).
  private var lineNumber = 1
  /// Whether the last byte was a `\r`: a `\n` right after it ends no second line.
  private var afterCarriageReturn = false
  private var sawAnyByte = false
  private var blankLines = 0

  package init(separator: TextSeparator?, headerLines: Int) {
    self.separator = separator
    self.headerLines = headerLines
  }

  /// Reads the next piece of the text.
  ///
  /// - Throws: ``FormatError`` for the first problem in a complete line, or at once for a NUL
  ///   byte.
  package mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(FormatError) {
    if !bytes.isEmpty { sawAnyByte = true }
    var start = 0
    for (index, byte) in bytes.enumerated() {
      switch byte {
      case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
        let skipped = byte == UInt8(ascii: "\n") && afterCarriageReturn
        afterCarriageReturn = byte == UInt8(ascii: "\r")
        if !skipped {
          line += bytes[start..<index]
          try endLine()
        }
        start = index + 1
      case 0:
        throw FormatError(
          "a NUL byte at byte \(line.count + index - start + 1) of the line: the input is "
            + "binary, not text", line: lineNumber)
      default:
        afterCarriageReturn = false
      }
    }
    line += bytes[start...]
  }

  /// The table, once every piece has been read.
  ///
  /// - Throws: ``FormatError`` for a problem on the last line, or if there is no data.
  package mutating func finish() throws(FormatError) -> TextTable {
    if !line.isEmpty { try endLine() }
    guard table.rows > 0 else {
      if !sawAnyByte { throw FormatError("the input is empty") }
      if blankLines > 0 {
        // A (3, 0) array is written as three empty lines, but blank lines are skipped
        // everywhere else, so they are not read back as rows.
        throw FormatError(
          "the input has no values, only \(blankLines) blank line\(blankLines == 1 ? "" : "s") "
            + "(text cannot hold an array of empty rows; use .npy)")
      }
      throw FormatError("the input has no data lines")
    }
    return table
  }

  private mutating func endLine() throws(FormatError) {
    defer {
      line.removeAll(keepingCapacity: true)
      lineNumber += 1
    }
    if lineNumber == 1, line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
    if lineNumber <= headerLines {
      table.header.append(String(decoding: line, as: UTF8.self))
      return
    }
    if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
      blankLines += 1
      return
    }
    let separator = separator ?? TextSeparator.sniff(line)
    self.separator = separator
    let count = try appendValues(separator: separator)
    if table.rows == 0 {
      table.columns = count
    } else if count != table.columns {
      throw FormatError(
        "\(count) value\(count == 1 ? "" : "s") on this line, but \(table.columns) on the "
          + "lines before it (every line must have as many)", line: lineNumber)
    }
    table.rows += 1
  }

  /// Parses the values of the current line onto the table; returns how many there were.
  private mutating func appendValues(separator: TextSeparator) throws(FormatError) -> Int {
    var count = 0
    for cell in Self.cells(of: line[...], separator: separator) {
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
      let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
      guard let value = Double(text) else {
        throw FormatError("'\(shown)' is not a number", line: lineNumber, column: count)
      }
      // Double(_:) rounds a finite numeral past the largest Double to infinity; as data it
      // would silently tie with every other such value.
      if value.isInfinite && !Self.spellsInfinity(cell) {
        throw FormatError(
          "'\(shown)' is beyond the range of float64 (about ±1.8e308)", line: lineNumber,
          column: count)
      }
      table.values.append(value)
    }
    return count
  }

  /// Whether a cell that reads as ±infinity says so (`inf`, `-Infinity`), rather than being a
  /// numeral too large for Double.
  private static func spellsInfinity(_ cell: ArraySlice<UInt8>) -> Bool {
    let unsigned = cell.drop { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }
    return unsigned.first.map { $0 | 0x20 == UInt8(ascii: "i") } ?? false
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
}
