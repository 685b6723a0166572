import Foundation
import Softmax
internal import SoftmaxKernels
import _SoftmaxRoofline

/// The facts about the machine and the build that a benchmark result means nothing without.
/// They go into the header, into every CSV row and into the JSON report.
public struct MachineInfo: Sendable, Codable, Equatable {
  /// The CPU model as /proc/cpuinfo names it.
  public var cpu: String
  /// Logical processors available to this process.
  public var cores: Int
  /// The level-1 data cache in bytes (0 when unknown).
  public var l1dBytes: Int
  /// The level-2 cache in bytes (0 when unknown).
  public var l2Bytes: Int
  /// The last-level cache; 32 MiB when neither sysfs nor sysctl says, so cold buffers are
  /// still sized.
  public var llcBytes: Int
  /// Whether `llcBytes` was read from the machine or is the fallback.
  public var llcKnown: Bool
  /// Memory the kernel reports as available when the run started (MemAvailable), in bytes.
  public var memoryAvailableBytes: Int
  /// The kernel implementation the library runs (``SoftmaxRuntime/kernelPath``).
  public var isaPath: String
  /// Whether the roofline kernels have a streaming-store variant on this CPU.
  public var streamingStores: Bool
  /// The build configuration of the benchmark code.
  public var build: BuildConfiguration

  /// Reads the facts from /proc and /sys; every field has a fallback so that this never fails.
  public static func current(build: BuildConfiguration) -> MachineInfo {
    let caches = cacheSizes()
    // Darwin has no sysfs: there the library's own reading (sysctl) gives the last level.
    let llc = caches.max(by: { $0.level < $1.level })?.bytes ?? CacheInfo.measuredLastLevelBytes
    return MachineInfo(
      cpu: cpuModel(),
      cores: ProcessInfo.processInfo.activeProcessorCount,
      l1dBytes: caches.first(where: { $0.level == 1 && $0.type != "Instruction" })?.bytes ?? 0,
      l2Bytes: caches.first(where: { $0.level == 2 })?.bytes ?? 0,
      llcBytes: llc ?? 32 << 20,
      llcKnown: llc != nil,
      memoryAvailableBytes: memoryAvailable(),
      isaPath: SoftmaxRuntime.kernelPath,
      streamingStores: _softmax_roofline_streaming_available() != 0,
      build: build)
  }

  /// Bytes the benchmark may allocate: what is available less a margin for everything else.
  var allocationBudgetBytes: Int {
    max(0, memoryAvailableBytes - (1 << 30))
  }

  static func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
      return darwinCPUBrand() ?? ProcessInfo.processInfo.machineHardwareName ?? "unknown"
    }
    for line in text.split(separator: "\n") where line.hasPrefix("model name") {
      if let colon = line.firstIndex(of: ":") {
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      }
    }
    return SoftmaxRuntime.architecture
  }

  static func cacheSizes() -> [(level: Int, type: String, bytes: Int)] {
    var result: [(level: Int, type: String, bytes: Int)] = []
    let base = "/sys/devices/system/cpu/cpu0/cache"
    for index in 0..<8 {
      let dir = "\(base)/index\(index)"
      func read(_ name: String) -> String? {
        (try? String(contentsOfFile: "\(dir)/\(name)", encoding: .utf8))?
          .trimmingCharacters(in: .whitespacesAndNewlines)
      }
      guard let levelText = read("level"), let level = Int(levelText),
        let sizeText = read("size"), let bytes = parseCacheSize(sizeText)
      else { continue }
      result.append((level, read("type") ?? "Unified", bytes))
    }
    return result
  }

  /// Parses sysfs sizes such as "32K", "1024K" or "32768K".
  static func parseCacheSize(_ text: String) -> Int? {
    let multipliers: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
    if let last = text.last, let multiplier = multipliers[last] {
      return Int(text.dropLast()).map { $0 * multiplier }
    }
    return Int(text)
  }

  static func memoryAvailable() -> Int {
    if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
      for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
        let fields = line.split(separator: " ")
        if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
      }
    }
    return Int(clamping: ProcessInfo.processInfo.physicalMemory / 2)
  }
}

/// The CPU's name on Darwin ("Apple M2 Pro", "Intel(R) Core(TM) i9-9880H ..."), which has no
/// /proc/cpuinfo; nil elsewhere.
private func darwinCPUBrand() -> String? {
  #if canImport(Darwin)
    var size = 0
    guard sysctlbyname("machdep.cpu.brand_string", nil, &size, nil, 0) == 0, size > 1 else {
      return nil
    }
    var bytes = [CChar](repeating: 0, count: size)
    guard sysctlbyname("machdep.cpu.brand_string", &bytes, &size, nil, 0) == 0 else { return nil }
    return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  #else
    return nil
  #endif
}

extension ProcessInfo {
  fileprivate var machineHardwareName: String? {
    var info = utsname()
    guard uname(&info) == 0 else { return nil }
    return withUnsafeBytes(of: &info.machine) { raw in
      String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
  }
}
