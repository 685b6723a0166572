#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Large buffers on transparent huge pages, for the tools (the CLI's loaded arrays, the
/// benchmark's rows). A streaming pass over a row of 4 KiB pages takes a TLB miss every 1024
/// floats; with 2 MiB pages every 512 Ki floats. On this machine (Zen 4, THP in `madvise`
/// mode) that made a 2^28-float softmax 3–5% faster and the 2R+1W roofline kernel faster
/// still (BENCHMARKS.md, "Huge pages"), so a roofline measured on small pages understates the
/// real limit.
package enum HugePages {
  /// The size of one huge page on x86-64 and arm64 Linux.
  package static let pageBytes = 2 << 20

  /// `byteCount` bytes aligned to 64 bytes, and to a huge page when the buffer spans at least
  /// one, advised as `MADV_HUGEPAGE` on Linux (a hint: the kernel may still use small pages,
  /// and where THP is `never` nothing changes). nil if the memory is not available. Release
  /// with `free`.
  package static func allocate(byteCount: Int) -> UnsafeMutableRawPointer? {
    let huge = byteCount >= pageBytes
    // Rounded up to whole huge pages so that the last one is not split with another buffer.
    let size = huge ? (byteCount + pageBytes - 1) / pageBytes * pageBytes : max(64, byteCount)
    var raw: UnsafeMutableRawPointer?
    guard posix_memalign(&raw, huge ? pageBytes : 64, size) == 0, let raw else { return nil }
    #if os(Linux)
      // Before the first touch, so that the page faults themselves allocate huge pages.
      if huge { _ = madvise(raw, size, MADV_HUGEPAGE) }
    #endif
    return raw
  }
}
