/// A problem with the contents of an input: what is wrong, in words a person can act on,
/// with the line and column where they help; the caller adds the file name.
package struct FormatError: Error, Equatable, CustomStringConvertible {
  package var description: String
  /// The 1-based line of a text input the problem is on, if any.
  package var line: Int?
  /// The 1-based column (value number) on that line, if any.
  package var column: Int?

  package init(_ description: String, line: Int? = nil, column: Int? = nil) {
    self.description = description
    self.line = line
    self.column = column
  }

  /// The problem as one line, located in `source` (a path, or `<stdin>`):
  /// `scores.csv:3:2: 'abc' is not a number`.
  package func message(in source: String) -> String {
    var location = source
    if let line { location += ":\(line)" }
    if let column { location += ":\(column)" }
    return "\(location): \(description)"
  }
}
