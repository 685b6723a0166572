import Foundation
import SoftmaxKernels
import Testing

/// The last-level cache size that `.auto` and the streaming thresholds follow.
@Suite struct CacheInfoTests {
  /// What Darwin's sysctl answers on two kinds of Mac (sizes of an M1 Pro and of an Intel
  /// Core i9 MacBook Pro), and on a system that answers nothing.
  @Test("Darwin: the largest cache any of the sysctl names reports")
  func darwinNames() {
    let appleSilicon = [
      "hw.perflevel0.l2cachesize": 12 << 20, "hw.perflevel1.l2cachesize": 4 << 20,
      "hw.l2cachesize": 4 << 20,
    ]
    let intel = ["hw.l2cachesize": 256 << 10, "hw.l3cachesize": 16 << 20]
    let names = CacheInfo.darwinCacheNames
    #expect(CacheInfo.largestCache(named: names, reading: { appleSilicon[$0] }) == 12 << 20)
    #expect(CacheInfo.largestCache(named: names, reading: { intel[$0] }) == 16 << 20)
    #expect(CacheInfo.largestCache(named: names, reading: { _ in nil }) == nil)
    #expect(CacheInfo.largestCache(named: names, reading: { _ in 0 }) == nil)
  }

  #if os(Linux)
    /// The same number read another way: every cache of CPU 0 through Foundation.
    @Test("Linux: the largest cache sysfs lists for CPU 0")
    func linuxSysfs() throws {
      let base = "/sys/devices/system/cpu/cpu0/cache"
      let entries = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
      let sizes = entries.filter { $0.hasPrefix("index") }.compactMap { entry -> Int? in
        guard
          let text = try? String(contentsOfFile: "\(base)/\(entry)/size", encoding: .utf8),
          let kibibytes = Int(text.trimmingCharacters(in: .whitespacesAndNewlines).dropLast())
        else { return nil }
        return kibibytes << 10
      }
      try #require(!sizes.isEmpty, "no sysfs cache entries on this machine")
      #expect(CacheInfo.lastLevelBytes == sizes.max())
    }
  #endif
}
