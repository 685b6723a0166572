/// The floating-point element types that files can hold, as NumPy names them.
package enum ElementType: String, Sendable, CaseIterable {
  case float16
  case float32
  case float64

  /// Bytes per element.
  package var size: Int {
    switch self {
    case .float16: 2
    case .float32: 4
    case .float64: 8
    }
  }

  /// The type for a NumPy type code's kind and size (`f` and 2, 4 or 8), nil for others.
  init?(floatingPointSize size: Int) {
    switch size {
    case 2: self = .float16
    case 4: self = .float32
    case 8: self = .float64
    default: return nil
    }
  }
}

/// The order of an element's bytes in a file.
package enum ByteOrder: Sendable, Equatable {
  case littleEndian
  case bigEndian

  /// The order of this machine.
  package static var host: ByteOrder {
    1.littleEndian == 1 ? .littleEndian : .bigEndian
  }
}
