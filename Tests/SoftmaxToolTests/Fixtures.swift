import Foundation
import SoftmaxFiles

/// A scratch folder per test, removed at the end.
final class Scratch {
  let url: URL

  init() throws {
    url = FileManager.default.temporaryDirectory
      .appendingPathComponent("softmax-tool-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  func path(_ name: String) -> String { url.appendingPathComponent(name).path }

  /// The names in the folder (to check that no temporary file was left behind).
  var contents: [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted()
  }

  func write(_ name: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: url.appendingPathComponent(name))
  }

  func write(_ name: String, text: String) throws {
    try write(name, Array(text.utf8))
  }

  func read(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: url.appendingPathComponent(name)))
  }
}

/// `.npy` bytes built the way NumPy writes them, independently of the tool's writer: the
/// dictionary text by hand, little- or big-endian elements by explicit byte shuffling.
enum NPYFixture {
  static func bytes(
    _ values: [Double], descr: String, shape: [Int], fortran: Bool = false, major: UInt8 = 1
  ) -> [UInt8] {
    let dims =
      shape.count == 1
      ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    let dictionary =
      "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(dims), }"
    let prefix = major == 1 ? 10 : 12
    var body = Array(dictionary.utf8)
    body += [UInt8](repeating: 0x20, count: (64 - (prefix + body.count + 1) % 64) % 64) + [0x0A]
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
    for i in 0..<(major == 1 ? 2 : 4) {
      out.append(UInt8(truncatingIfNeeded: body.count >> (8 * i)))
    }
    out += body
    let big = descr.hasPrefix(">")
    for value in values {
      var element: [UInt8]
      switch descr.dropFirst() {
      case "f2":
        let bits = Float16(Float(value)).bitPattern
        element = [UInt8(bits & 0xFF), UInt8(bits >> 8)]
      case "f4":
        let bits = Float(value).bitPattern
        element = (0..<4).map { UInt8(truncatingIfNeeded: bits >> (8 * $0)) }
      default:
        let bits = value.bitPattern
        element = (0..<8).map { UInt8(truncatingIfNeeded: bits >> (8 * $0)) }
      }
      out += big ? element.reversed() : element
    }
    return out
  }

  /// The header and the values (as Double) of an `.npy` file the tool wrote.
  static func read(_ bytes: [UInt8]) throws -> (NPYHeader, [Double]) {
    let header = try NPYHeader(parsing: bytes)
    var values = [Double](repeating: 0, count: header.elementCount!)
    let data = Array(bytes[header.dataOffset...])
    precondition(data.count == header.dataByteCount!, "wrong data size")
    data.withUnsafeBytes { raw in
      values.withUnsafeMutableBufferPointer {
        ElementCodec.decode(raw, header.elementType, header.byteOrder, into: $0)
      }
    }
    return (header, values)
  }
}

/// Softmax along `axis` of a C-order array, in Double (max-shifted, as every reference).
func referenceSoftmax(
  _ x: [Double], shape: [Int], axis: Int, logarithm: Bool = false, temperature: Double = 1
) -> [Double] {
  let length = shape[axis]
  let inner = shape[(axis + 1)...].reduce(1, *)
  let outer = shape[..<axis].reduce(1, *)
  var y = x
  for o in 0..<outer {
    for i in 0..<inner {
      let indices = (0..<length).map { o * length * inner + $0 * inner + i }
      let line = indices.map { x[$0] / temperature }
      let m = line.max() ?? 0
      let sum = line.reduce(0) { $0 + exp($1 - m) }
      for (k, index) in indices.enumerated() {
        y[index] = logarithm ? line[k] - m - log(sum) : exp(line[k] - m) / sum
      }
    }
  }
  return y
}

/// The largest |a − b| / max(|b|, floor) over both arrays (NaN where only one is NaN is +inf).
func maxRelativeError(_ a: [Double], _ b: [Double], floor: Double = 1e-30) -> Double {
  precondition(a.count == b.count, "counts differ: \(a.count) and \(b.count)")
  var worst = 0.0
  for (x, y) in zip(a, b) {
    if x.isNaN || y.isNaN {
      if x.isNaN != y.isNaN { return .infinity }
      continue
    }
    if x == y { continue }
    worst = max(worst, abs(x - y) / max(abs(y), floor))
  }
  return worst
}

/// Deterministic values: a linear congruential sequence mapped to [-scale, scale].
func pseudoRandom(_ count: Int, seed: UInt64, scale: Double = 8) -> [Double] {
  var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
  return (0..<count).map { _ in
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return (Double(state >> 11) / Double(1 << 53) * 2 - 1) * scale
  }
}
