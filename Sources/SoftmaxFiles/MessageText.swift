/// Text that goes into a one-line error message.
package enum MessageText {
  /// `text` with every character that could break the line or hide in it escaped: control
  /// characters (`\n`, `\r`, `\t`, `\0`, `\x1B`, ...), invisible format characters such as a
  /// byte-order mark or a bidirectional override (`\u{FEFF}`), and Unicode line and paragraph
  /// separators. Messages quote file names and cells of the input, which may hold anything.
  package static func escapingControls(_ text: String) -> String {
    var result = ""
    result.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
      switch scalar.properties.generalCategory {
      case .control, .format, .lineSeparator, .paragraphSeparator:
        result += escaped(scalar)
      default:
        result.unicodeScalars.append(scalar)
      }
    }
    return result
  }

  private static func escaped(_ scalar: Unicode.Scalar) -> String {
    switch scalar {
    case "\0": return "\\0"
    case "\t": return "\\t"
    case "\n": return "\\n"
    case "\r": return "\\r"
    default:
      let hex = String(scalar.value, radix: 16, uppercase: true)
      if scalar.value < 0x80 { return "\\x" + (hex.count < 2 ? "0" + hex : hex) }
      return "\\u{\(hex)}"
    }
  }
}
