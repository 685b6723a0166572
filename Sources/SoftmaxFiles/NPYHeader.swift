/// The header of a NumPy `.npy` file (format versions 1.0, 2.0 and 3.0): what the array holds
/// and where its data starts.
///
/// The layout: the magic bytes `\x93NUMPY`, a major and a minor version byte, the header's
/// length (2 bytes little-endian in version 1, 4 bytes in versions 2 and 3), then the header:
/// a Python dictionary literal such as `{'descr': '<f4', 'fortran_order': False,
/// 'shape': (3, 4), }`, padded with spaces and ended by a newline so that the data starts at
/// a multiple of 64 bytes (16 in older files). Version 3 differs from 2 only in allowing UTF-8
/// in the header.
package struct NPYHeader: Equatable, Sendable {
  /// The element type; only floating-point types are accepted.
  package var elementType: ElementType
  /// The byte order of the elements.
  package var byteOrder: ByteOrder
  /// Whether the data is stored column-major (Fortran order) instead of row-major.
  package var fortranOrder: Bool
  /// The dimensions, outermost first; empty for a 0-dimensional (scalar) array.
  package var shape: [Int]
  /// Where the data starts: the length of everything before it.
  package var dataOffset: Int

  /// The largest header accepted; NumPy itself refuses headers over 10 000 bytes by default.
  package static let maximumHeaderLength = 1 << 20

  /// The magic bytes every `.npy` file starts with.
  static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

  package init(
    elementType: ElementType, byteOrder: ByteOrder = .littleEndian, fortranOrder: Bool = false,
    shape: [Int]
  ) {
    self.elementType = elementType
    self.byteOrder = byteOrder
    self.fortranOrder = fortranOrder
    self.shape = shape
    self.dataOffset = 0
    self.dataOffset = encoded().count
  }

  /// The number of elements, or nil if the product of the dimensions overflows. A zero
  /// dimension makes it 0 whatever the others are, even if their product would overflow.
  package var elementCount: Int? {
    if shape.contains(0) { return 0 }
    var count = 1
    for dimension in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
      if overflow { return nil }
      count = product
    }
    return count
  }

  /// The number of data bytes the header promises, or nil if it overflows.
  package var dataByteCount: Int? {
    guard let count = elementCount else { return nil }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: elementType.size)
    return overflow ? nil : bytes
  }

  /// The total header length (magic to the end of the dictionary) that the first bytes of a
  /// file announce. `prefix` needs at most 12 bytes.
  ///
  /// - Throws: ``FormatError`` if the bytes are not the start of a `.npy` file of a known
  ///   version, or announce a header longer than ``maximumHeaderLength``.
  package static func headerLength(prefix: some Collection<UInt8>) throws(FormatError) -> Int {
    let bytes = Array(prefix.prefix(12))
    if bytes.isEmpty { throw FormatError("the file is empty, not a .npy file") }
    guard bytes.count >= 8, Array(bytes[0..<6]) == magic else {
      throw FormatError("not a .npy file (it does not start with \\x93NUMPY)")
    }
    let major = bytes[6]
    let minor = bytes[7]
    let lengthBytes: Int
    switch (major, minor) {
    case (1, 0): lengthBytes = 2
    case (2, 0), (3, 0): lengthBytes = 4
    default:
      throw FormatError(
        "unsupported .npy format version \(major).\(minor) (supported: 1.0, 2.0, 3.0)")
    }
    guard bytes.count >= 8 + lengthBytes else {
      throw FormatError("truncated .npy header (the file ends inside its length field)")
    }
    var length = 0
    for i in (0..<lengthBytes).reversed() { length = length << 8 | Int(bytes[8 + i]) }
    guard length <= maximumHeaderLength else {
      throw FormatError(
        "corrupt .npy header: it claims \(length) bytes (at most \(maximumHeaderLength) accepted)")
    }
    return 8 + lengthBytes + length
  }

  /// Parses a header from the first bytes of a file; `bytes` may continue past the header.
  ///
  /// - Throws: ``FormatError`` saying what is wrong: not a `.npy` file, a truncated or corrupt
  ///   header, or an element type other than float16, float32 or float64.
  package init(parsing bytes: some Collection<UInt8>) throws(FormatError) {
    let total = try Self.headerLength(prefix: bytes)
    let bytes = Array(bytes.prefix(total))
    guard bytes.count == total else {
      throw FormatError(
        "truncated .npy header: it announces \(total) bytes, the file has \(bytes.count)")
    }
    let start = bytes[6] == 1 ? 10 : 12
    var parser = PythonLiteralParser(bytes[start...])
    var dictionary = try parser.parseHeaderDictionary()
    let descr: String
    switch dictionary.removeValue(forKey: "descr") {
    case .string(let text)?: descr = text
    case .list?:
      throw FormatError(
        "unsupported element type (structured records): softmax needs float16, float32 or float64")
    default: throw FormatError("corrupt .npy header: no 'descr' string (the element type)")
    }
    guard case .boolean(let fortran)? = dictionary.removeValue(forKey: "fortran_order") else {
      throw FormatError("corrupt .npy header: no 'fortran_order' True or False")
    }
    guard case .tuple(let shape)? = dictionary.removeValue(forKey: "shape") else {
      throw FormatError("corrupt .npy header: no 'shape' tuple")
    }
    if let extra = dictionary.keys.sorted().first {
      throw FormatError("corrupt .npy header: unexpected key '\(extra)'")
    }
    (elementType, byteOrder) = try Self.parseDescription(descr)
    self.fortranOrder = fortran
    self.shape = shape
    self.dataOffset = total
    guard dataByteCount != nil else {
      throw FormatError("corrupt .npy header: the shape \(Self.describe(shape)) is too large")
    }
  }

  /// The element type and byte order of a NumPy type string such as `<f4`.
  static func parseDescription(_ descr: String) throws(FormatError) -> (ElementType, ByteOrder) {
    let characters = Array(descr.utf8)
    guard characters.count >= 2 else {
      throw FormatError("corrupt .npy header: unknown element type '\(descr)'")
    }
    var kindIndex = 0
    var order = ByteOrder.host
    switch characters[0] {
    case UInt8(ascii: "<"): order = .littleEndian; kindIndex = 1
    case UInt8(ascii: ">"): order = .bigEndian; kindIndex = 1
    case UInt8(ascii: "|"), UInt8(ascii: "="): kindIndex = 1
    default: break
    }
    let kind = characters[kindIndex]
    let sizeText = String(decoding: characters[(kindIndex + 1)...], as: UTF8.self)
    let size = Int(sizeText)
    if kind == UInt8(ascii: "f"), let size, let type = ElementType(floatingPointSize: size) {
      return (type, order)
    }
    let name = unsupportedTypeName(kind: kind, size: size)
    throw FormatError(
      "unsupported element type '\(descr)' (\(name)): softmax needs float16, float32 or float64")
  }

  /// A person's name for a NumPy type code that is not supported.
  private static func unsupportedTypeName(kind: UInt8, size: Int?) -> String {
    // (A size too large to be real is left out rather than overflowing.)
    let bits = size.flatMap { (1..<(1 << 20)).contains($0) ? String($0 * 8) : nil } ?? ""
    switch kind {
    case UInt8(ascii: "f"): return "float\(bits)"
    case UInt8(ascii: "i"): return "int\(bits)"
    case UInt8(ascii: "u"): return "uint\(bits)"
    case UInt8(ascii: "b"), UInt8(ascii: "?"): return "bool"
    case UInt8(ascii: "c"): return "complex\(bits)"
    case UInt8(ascii: "O"): return "Python objects"
    case UInt8(ascii: "U"), UInt8(ascii: "S"), UInt8(ascii: "a"): return "strings"
    case UInt8(ascii: "V"): return "raw or structured records"
    case UInt8(ascii: "M"), UInt8(ascii: "m"): return "dates or times"
    default: return "unknown"
    }
  }

  /// The whole header, padded so that the data starts at a multiple of 64 bytes: version 1.0
  /// when the dictionary fits its 2-byte length, 2.0 otherwise.
  package func encoded() -> [UInt8] {
    let order = byteOrder == .littleEndian ? "<" : ">"
    let dictionary =
      "{'descr': '\(order)f\(elementType.size)', 'fortran_order': "
      + "\(fortranOrder ? "True" : "False"), 'shape': \(Self.describe(shape)), }"
    var body = Array(dictionary.utf8)
    let version: UInt8 = body.count + 1 + 10 <= 65_535 ? 1 : 2
    let prefixLength = version == 1 ? 10 : 12
    let padding = (64 - (prefixLength + body.count + 1) % 64) % 64
    body += [UInt8](repeating: UInt8(ascii: " "), count: padding)
    body.append(UInt8(ascii: "\n"))
    var header = Self.magic + [version, 0]
    let lengthBytes = version == 1 ? 2 : 4
    for i in 0..<lengthBytes { header.append(UInt8(truncatingIfNeeded: body.count >> (8 * i))) }
    return header + body
  }

  /// A shape as NumPy prints it: `(3, 4)`, `(5,)` or `()`.
  package static func describe(_ shape: [Int]) -> String {
    shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
  }
}
