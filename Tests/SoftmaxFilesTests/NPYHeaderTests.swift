import Testing

import SoftmaxFiles

/// Headers written the way NumPy writes them (checked against `np.save` output by hand: the
/// dictionary text, the 64-byte alignment), parsed back, and every malformed variant refused
/// with a message that says what is wrong.
@Suite struct NPYHeaderTests {
  /// A header as NumPy 1.x/2.x writes it, for `dictionary`, in format version `major`.
  static func numpyHeader(_ dictionary: String, major: UInt8 = 1) -> [UInt8] {
    let prefix = major == 1 ? 10 : 12
    var body = Array(dictionary.utf8)
    let padding = (64 - (prefix + body.count + 1) % 64) % 64
    body += [UInt8](repeating: 0x20, count: padding) + [0x0A]
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
    let lengthBytes = major == 1 ? 2 : 4
    for i in 0..<lengthBytes { bytes.append(UInt8(truncatingIfNeeded: body.count >> (8 * i))) }
    return bytes + body
  }

  @Test func parsesEveryVersionTypeAndOrder() throws {
    for major: UInt8 in [1, 2, 3] {
      for (descr, type, order) in [
        ("<f2", ElementType.float16, ByteOrder.littleEndian), ("<f4", .float32, .littleEndian),
        ("<f8", .float64, .littleEndian), (">f2", .float16, .bigEndian),
        (">f4", .float32, .bigEndian), (">f8", .float64, .bigEndian),
      ] {
        let bytes = Self.numpyHeader(
          "{'descr': '\(descr)', 'fortran_order': False, 'shape': (3, 4), }", major: major)
        let header = try NPYHeader(parsing: bytes + [1, 2, 3])
        #expect(header.elementType == type)
        #expect(header.byteOrder == order)
        #expect(header.shape == [3, 4])
        #expect(!header.fortranOrder)
        #expect(header.dataOffset == bytes.count)
        #expect(header.dataOffset % 64 == 0)
      }
    }
  }

  @Test func parsesShapesFortranOrderAndOldStyles() throws {
    let cases: [(String, [Int], Bool)] = [
      ("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 5), }", [2, 3, 5], true),
      ("{'descr': '<f4', 'fortran_order': False, 'shape': (7,), }", [7], false),
      ("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", [], false),
      ("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", [0, 4], false),
      // Python 2 long integers, double quotes, no trailing comma, another key order.
      ("{\"shape\": (10L, 2L), \"fortran_order\": False, \"descr\": \"<f8\"}", [10, 2], false),
    ]
    for (dictionary, shape, fortran) in cases {
      let header = try NPYHeader(parsing: Self.numpyHeader(dictionary))
      #expect(header.shape == shape)
      #expect(header.fortranOrder == fortran)
    }
  }

  @Test func encodesWhatItParses() throws {
    for shape in [[], [5], [3, 4], [2, 3, 4, 5], [0]] {
      for type in ElementType.allCases {
        for order in [ByteOrder.littleEndian, .bigEndian] {
          let header = NPYHeader(
            elementType: type, byteOrder: order, fortranOrder: shape.count == 2, shape: shape)
          let bytes = header.encoded()
          #expect(bytes.count % 64 == 0)
          #expect(bytes.last == 0x0A)
          #expect(try NPYHeader(parsing: bytes) == header)
        }
      }
    }
  }

  @Test func encodesTheDictionaryAsNumPyDoes() {
    let bytes = NPYHeader(elementType: .float32, shape: [3]).encoded()
    let text = String(decoding: bytes[10...], as: UTF8.self)
    #expect(text.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"))
    #expect(Array(bytes[0..<8]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
  }

  @Test(arguments: [
    ("<i4", "unsupported element type '<i4' (int32)"),
    ("<u1", "unsupported element type '<u1' (uint8)"),
    ("|b1", "unsupported element type '|b1' (bool)"),
    ("<c8", "unsupported element type '<c8' (complex64)"),
    ("|O", "unsupported element type '|O' (Python objects)"),
    ("<U5", "unsupported element type '<U5' (strings)"),
    ("<f16", "unsupported element type '<f16' (float128)"),
    ("<M8[s]", "unsupported element type '<M8[s]' (dates or times)"),
    // Found by fuzzing: sizes whose bit count overflowed while naming the type.
    (
      ">f-000002003764206520689664",
      "unsupported element type '>f-000002003764206520689664' (float)"
    ),
    (">f99999999999999999999", "unsupported element type '>f99999999999999999999' (float)"),
  ])
  func refusesOtherElementTypes(descr: String, message: String) {
    let bytes = Self.numpyHeader("{'descr': '\(descr)', 'fortran_order': False, 'shape': (3,), }")
    #expect {
      try NPYHeader(parsing: bytes)
    } throws: { error in
      (error as? FormatError)?.description.hasPrefix(message) == true
    }
  }

  /// The input on which libFuzzer first crashed the parser, byte for byte (kept as the seed
  /// Fuzz/corpus/npy/regression-npy-huge-type-size.npy): a type size that fits in an Int,
  /// 3658924497259229638 bytes behind 37 zeros, whose bit count overflowed while naming the type.
  /// The header ends in spaces and two NULs instead of a newline, and five NULs of data follow.
  @Test func refusesTheFuzzersHugeTypeSize() {
    let descr = ">f" + String(repeating: "0", count: 37) + "3658924497259229638"
    let dictionary = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (2, 3), }"
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, 136, 0] + Array(dictionary.utf8)
    bytes += [UInt8](repeating: 0x20, count: 144 - bytes.count)
    bytes += [UInt8](repeating: 0, count: 7)
    #expect(bytes.count == 151)
    #expect {
      try NPYHeader(parsing: bytes)
    } throws: { error in
      (error as? FormatError)?.description.hasPrefix("unsupported element type '\(descr)' (float)")
        == true
    }
  }

  @Test func refusesStructuredTypes() {
    let bytes = Self.numpyHeader(
      "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (3,), }")
    #expect(throws: FormatError.self) { try NPYHeader(parsing: bytes) }
  }

  @Test func refusesMalformedHeadersWithAReason() {
    let good = Self.numpyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }")
    var wrongMagic = good
    wrongMagic[1] = UInt8(ascii: "X")
    var badVersion = good
    badVersion[6] = 4
    let cases: [([UInt8], String)] = [
      ([], "the file is empty"),
      (Array("a,b\n1,2\n".utf8), "not a .npy file"),
      (wrongMagic, "not a .npy file"),
      (badVersion, "unsupported .npy format version 4.0"),
      (Array(good[0..<9]), "truncated .npy header"),
      (Array(good[0..<40]), "truncated .npy header"),
      (Self.numpyHeader("{'descr': '<f4', 'shape': (3,), }"), "corrupt .npy header: no 'fortran"),
      (Self.numpyHeader("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }"), "corrupt"),
      (Self.numpyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }"), "corrupt"),
      (Self.numpyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3.5,), }"), "corrupt"),
      (
        Self.numpyHeader("{'descr': '<f4', 'fortran_order': False}"),
        "corrupt .npy header: no 'shape"
      ),
      (
        Self.numpyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}"),
        "corrupt"
      ),
      (
        Self.numpyHeader(
          "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }"),
        "corrupt .npy header: the shape"
      ),
      (
        Self.numpyHeader(
          "{'descr': '<f4', 'fortran_order': False, 'shape': (999999999999999999999,), }"),
        "corrupt .npy header: a dimension"
      ),
      (
        Self.numpyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } junk"),
        "corrupt"
      ),
      (Self.numpyHeader("['descr']"), "corrupt .npy header: the header is not a dictionary"),
    ]
    for (bytes, message) in cases {
      #expect {
        try NPYHeader(parsing: bytes)
      } throws: { error in
        (error as? FormatError)?.description.hasPrefix(message) == true
      }
    }
  }

  @Test func refusesHugeHeaderLengths() {
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [2, 0, 0, 0, 0, 0x7F]
    bytes += [UInt8](repeating: 0x20, count: 100)
    #expect {
      try NPYHeader(parsing: bytes)
    } throws: { error in
      (error as? FormatError)?.description.contains("at most") == true
    }
  }
}

/// An empty array has no elements whatever its other dimensions are, even when their product
/// overflows: (2^40, 2^40, 0) is a valid, empty shape, (2^32, 2^32) is not a shape at all.
@Suite struct NPYZeroSizeTests {
  @Test(arguments: [[1 << 40, 1 << 40, 0], [0, 1 << 62, 1 << 62], [0, 1 << 40], [1 << 62, 0]])
  func aZeroDimensionMakesAnyShapeEmpty(shape: [Int]) throws {
    let dims = "(" + shape.map(String.init).joined(separator: ", ") + ")"
    let header = try NPYHeader(
      parsing: NPYHeaderTests.numpyHeader(
        "{'descr': '<f8', 'fortran_order': False, 'shape': \(dims), }"))
    #expect(header.shape == shape)
    #expect(header.elementCount == 0 && header.dataByteCount == 0)
  }

  @Test func overflowingShapesWithoutAZeroAreRefused() {
    #expect(NPYHeader(elementType: .float32, shape: [1 << 32, 1 << 32]).elementCount == nil)
    #expect(NPYHeader(elementType: .float64, shape: [1 << 61]).dataByteCount == nil)
  }
}
