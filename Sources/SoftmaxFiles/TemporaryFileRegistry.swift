#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Removes the output's named temporary file, where there is one (see ``OutputFile``), when the
/// process is interrupted (SIGINT, SIGTERM, SIGHUP), so that Ctrl-C leaves no
/// `.NAME.tmp-XXXXXX` behind (SIGKILL cannot be caught: that is why outputs are unnamed files
/// where the system allows), and makes a write past the file-size limit (`ulimit -f`) fail
/// with EFBIG instead of killing the process (SIGXFSZ).
///
/// A signal handler may only call async-signal-safe functions, so the path is kept as a
/// C string in a fixed buffer, written before the handler can need it. The tool has at most
/// one temporary file at a time.
enum TemporaryFileRegistry {
  private static let capacity = 4096
  nonisolated(unsafe) private static let path: UnsafeMutablePointer<CChar> = {
    let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
    buffer.initialize(repeating: 0, count: capacity)
    return buffer
  }()
  nonisolated(unsafe) private static var installed = false

  static func register(_ temporary: String) {
    let bytes = Array(temporary.utf8CString)
    guard bytes.count <= capacity else { return }
    path.update(repeating: 0, count: capacity)
    for (i, byte) in bytes.enumerated() { path[i] = byte }
  }

  static func unregister() {
    path[0] = 0
  }

  /// Installs the signal handlers (once): before any output is opened, so that SIGXFSZ is
  /// ignored for every output and a temporary file registered later is removed on a signal.
  static func installHandlers() {
    guard !installed else { return }
    installed = true
    signal(SIGXFSZ, SIG_IGN)
    for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
      signal(signalNumber) { received in
        if TemporaryFileRegistry.path[0] != 0 { unlink(TemporaryFileRegistry.path) }
        signal(received, SIG_DFL)
        raise(received)
      }
    }
  }
}
