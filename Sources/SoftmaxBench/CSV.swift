import Foundation

/// results.csv: RFC 4180 (fields with commas, quotes or line breaks are quoted, quotes
/// doubled), a header line, one line per row.
enum CSV {
  static func document(_ rows: [BenchRow]) -> String {
    var lines = [BenchRow.columns.map(escape).joined(separator: ",")]
    lines += rows.map { $0.csvFields.map(escape).joined(separator: ",") }
    return lines.joined(separator: "\n") + "\n"
  }

  static func escape(_ field: String) -> String {
    guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else {
      return field
    }
    return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  /// Splits CSV text into records of fields, with the line number each record starts on.
  static func parse(_ text: String) throws -> [(line: Int, fields: [String])] {
    var records: [(line: Int, fields: [String])] = []
    var fields: [String] = []
    var field = ""
    var quoted = false
    var afterQuote = false
    var line = 1
    var recordLine = 1
    var characters = Array(text.unicodeScalars.map(Character.init))[...]
    func endRecord() {
      fields.append(field)
      field = ""
      if !(fields.count == 1 && fields[0].isEmpty) { records.append((recordLine, fields)) }
      fields = []
    }
    while let c = characters.popFirst() {
      if quoted {
        if c == "\"" {
          if characters.first == "\"" {
            characters.removeFirst()
            field.append("\"")
          } else {
            quoted = false
            afterQuote = true
          }
        } else {
          if c == "\n" { line += 1 }
          field.append(c)
        }
        continue
      }
      switch c {
      case "\"":
        guard field.isEmpty, !afterQuote else {
          throw BenchError("line \(line): stray quote inside a field")
        }
        quoted = true
      case ",":
        fields.append(field)
        field = ""
        afterQuote = false
      case "\r":
        continue
      case "\n":
        endRecord()
        afterQuote = false
        line += 1
        recordLine = line
      default:
        guard !afterQuote else { throw BenchError("line \(line): text after a closing quote") }
        field.append(c)
      }
    }
    if quoted { throw BenchError("line \(recordLine): unterminated quoted field") }
    if !field.isEmpty || !fields.isEmpty { endRecord() }
    return records
  }

  /// Rows of a results.csv-format file for `--merge`; any problem is one line naming the file.
  static func loadRows(path: String) throws -> [BenchRow] {
    let name = (path as NSString).lastPathComponent
    guard FileManager.default.fileExists(atPath: path) else {
      throw BenchError("--merge: no such file '\(path)'")
    }
    guard let data = FileManager.default.contents(atPath: path),
      let text = String(data: data, encoding: .utf8)
    else {
      throw BenchError("--merge: cannot read '\(path)' as UTF-8 text")
    }
    let records: [(line: Int, fields: [String])]
    do {
      records = try parse(text)
    } catch let error as BenchError {
      throw BenchError("--merge \(name): \(error.description)")
    }
    guard let header = records.first else { throw BenchError("--merge \(name): the file is empty") }
    let columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
    let missing = BenchRow.requiredColumns.filter { !columns.contains($0) }
    guard missing.isEmpty else {
      throw BenchError(
        "--merge \(name): not a results.csv file (missing column(s) "
          + "\(missing.joined(separator: ", ")))")
    }
    var rows: [BenchRow] = []
    for record in records.dropFirst() {
      guard record.fields.count == columns.count else {
        throw BenchError(
          "--merge \(name):\(record.line): \(record.fields.count) fields, the header has "
            + "\(columns.count)")
      }
      let fields = Dictionary(zip(columns, record.fields), uniquingKeysWith: { first, _ in first })
      do {
        rows.append(try BenchRow(csv: fields))
      } catch let error as BenchError {
        throw BenchError("--merge \(name):\(record.line): \(error.description)")
      }
    }
    guard !rows.isEmpty else { throw BenchError("--merge \(name): no rows after the header") }
    return rows
  }
}
