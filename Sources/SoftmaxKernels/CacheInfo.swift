#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Cache facts that the algorithms' policies depend on, read once.
package enum CacheInfo {
  /// Size of the last-level cache in bytes (`measuredLastLevelBytes`), 32 MiB where the
  /// system does not say.
  package static let lastLevelBytes: Int = measuredLastLevelBytes ?? 32 << 20

  /// The largest cache that Linux sysfs lists for CPU 0, or on Darwin the largest of
  /// `darwinCacheNames`; nil where neither can be read.
  package static let measuredLastLevelBytes: Int? = {
    #if canImport(Darwin)
      largestCache(named: darwinCacheNames, reading: readSysctlInteger)
    #else
      largestCache(
        named: (0..<8).map { "/sys/devices/system/cpu/cpu0/cache/index\($0)/size" },
        reading: { readSmallFile($0).flatMap(parseCacheSize) })
    #endif
  }()

  /// The size in bytes of one core's level-2 cache (Linux sysfs: the level-2 data or unified
  /// cache of CPU 0; Darwin: the performance cores' L2), 1 MiB where the system does not say.
  package static let levelTwoBytes: Int = {
    #if canImport(Darwin)
      largestCache(
        named: ["hw.perflevel0.l2cachesize", "hw.l2cachesize"], reading: readSysctlInteger)
        ?? 1 << 20
    #else
      (0..<8).compactMap { index -> Int? in
        let directory = "/sys/devices/system/cpu/cpu0/cache/index\(index)/"
        guard readSmallFile(directory + "level")?.filter({ !$0.isWhitespace }) == "2",
          readSmallFile(directory + "type")?.hasPrefix("Instruction") != true
        else { return nil }
        return readSmallFile(directory + "size").flatMap(parseCacheSize)
      }.max() ?? 1 << 20
    #endif
  }()

  /// The sysctl names of Darwin's cache sizes, in bytes. Apple silicon has no L3 that the
  /// cores own: its last level is the L2 each cluster shares, and `hw.perflevel0` names the
  /// performance cores' cluster (larger than the efficiency cores' that `hw.l2cachesize` may
  /// report). Intel Macs report an L3. Names a system lacks are skipped.
  package static let darwinCacheNames = [
    "hw.perflevel0.l3cachesize", "hw.l3cachesize", "hw.perflevel0.l2cachesize", "hw.l2cachesize",
  ]

  /// The largest positive size that `read` finds under any of `names`; nil if there is none.
  package static func largestCache(named names: [String], reading read: (String) -> Int?) -> Int? {
    names.compactMap(read).filter { $0 > 0 }.max()
  }

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

  #if canImport(Darwin)
    /// An integer sysctl, nil where the name does not exist. The hw.*cachesize values are
    /// 64-bit on current systems; a 32-bit answer (older systems) is read as such.
    private static func readSysctlInteger(_ name: String) -> Int? {
      var value: Int64 = 0
      var size = MemoryLayout<Int64>.size
      guard sysctlbyname(name, &value, &size, nil, 0) == 0 else { return nil }
      switch size {
      case MemoryLayout<Int64>.size: return Int(value)
      case MemoryLayout<Int32>.size:
        // The first four bytes hold the Int32 (little-endian on every Apple CPU).
        return Int(Int32(truncatingIfNeeded: value))
      default: return nil
      }
    }
  #endif
}
