#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A one-line progress bar on standard error, redrawn in place at most ten times a second.
///
/// It appears only when standard error is a terminal (or when forced, for `--progress`), and
/// only once the work has taken a second: quick runs print nothing.
final class ProgressBar {
  private let total: Int
  private let enabled: Bool
  private let forced: Bool
  private let label: String
  private var done = 0
  private var start = 0.0
  private var lastDraw = 0.0
  private var drawn = false

  /// - Parameters:
  ///   - total: The units (bytes) the work will report through ``advance(by:)``.
  ///   - label: What is being done, before the bar.
  ///   - forced: Whether to show it even when standard error is not a terminal, from the start.
  init(total: Int, label: String, forced: Bool) {
    self.total = max(total, 1)
    self.label = label
    self.forced = forced
    self.enabled = forced || isatty(STDERR_FILENO) == 1
    self.start = Self.now()
  }

  func advance(by units: Int) {
    guard enabled else { return }
    done += units
    let now = Self.now()
    guard forced || now - start >= 1 else { return }
    guard now - lastDraw >= 0.1 || done >= total else { return }
    lastDraw = now
    draw()
  }

  /// Ends the bar's line, if one was drawn.
  func finish() {
    guard drawn else { return }
    writeToStandardError("\n")
  }

  private func draw() {
    let fraction = min(1, Double(done) / Double(total))
    let width = 30
    let filled = Int(fraction * Double(width))
    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
    let percent = Int(fraction * 100)
    let mib = Double(done) / 1_048_576
    let text = "\r\(label) [\(bar)] \(percent)% \(Int(mib)) MiB"
    writeToStandardError(text)
    drawn = true
  }

  private static func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
  }
}

private func writeToStandardError(_ text: String) {
  var text = text
  text.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
