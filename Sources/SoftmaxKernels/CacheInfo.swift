#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Cache facts that the algorithms' policies depend on, read once.
package enum CacheInfo {
  /// Size of the last-level cache in bytes, from Linux sysfs; 32 MiB where it cannot be read.
  package static let lastLevelBytes: Int = {
    var largest = 0
    for index in 0..<8 {
      let path = "/sys/devices/system/cpu/cpu0/cache/index\(index)/size"
      guard let text = readSmallFile(path), let bytes = parseCacheSize(text) else { continue }
      largest = Swift.max(largest, bytes)
    }
    return largest > 0 ? largest : 32 << 20
  }()

  /// "32768K", "2M" or "512" as bytes.
  package static func parseCacheSize(_ text: String) -> Int? {
    let trimmed = text.filter { !$0.isWhitespace }
    guard let last = trimmed.last else { return nil }
    let multiplier: Int
    var digits = trimmed
    switch last {
    case "K", "k": multiplier = 1 << 10
    case "M", "m": multiplier = 1 << 20
    case "G", "g": multiplier = 1 << 30
    default: multiplier = 1
    }
    if multiplier != 1 { digits.removeLast() }
    return Int(digits).map { $0 * multiplier }
  }

  private static func readSmallFile(_ path: String) -> String? {
    #if os(Linux)
      guard let file = fopen(path, "r") else { return nil }
      defer { fclose(file) }
      var buffer = [CChar](repeating: 0, count: 64)
      guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
      return String(
        decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    #else
      return nil
    #endif
  }
}
