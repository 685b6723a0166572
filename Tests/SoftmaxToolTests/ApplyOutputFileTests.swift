import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

#if os(Linux)
  private let isLinux = true
#else
  private let isLinux = false
#endif

/// Outputs are unnamed until complete (nothing is left even after SIGKILL), and a replaced
/// file keeps its permission bits.
@Suite struct ApplyOutputFileTests {
  /// Stops the tool while it writes a streamed output, looks at the folder, kills it with
  /// SIGKILL and looks again: only the input, ever. Linux only: elsewhere the output is a
  /// named temporary file (no `O_TMPFILE`), which SIGKILL leaves behind, and the test finds
  /// the tool's open files through /proc.
  @Test(.enabled(if: isLinux, "unnamed output files need Linux's O_TMPFILE and /proc"))
  func killedMidWriteLeavesNothing() throws {
    let scratch = try Scratch()
    let count = 1 << 22
    var bytes = NPYFixture.bytes([], descr: "<f4", shape: [count])
    bytes += [UInt8](repeating: 0, count: 4 * count)
    try scratch.write("big.npy", bytes)
    let process = Process()
    process.executableURL = ToolRunner.executable
    process.arguments = [
      "apply", "big.npy", "-o", "out.npy", "--stream", "always", "--chunk-elements", "1000",
    ]
    process.currentDirectoryURL = scratch.url
    try process.run()
    let pid = process.processIdentifier
    // Wait until the output (an open file in the scratch folder) holds data.
    let deadline = Date().addingTimeInterval(20)
    var written = false
    while !written && process.isRunning && Date() < deadline {
      let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))
      for descriptor in descriptors ?? [] {
        let link = "/proc/\(pid)/fd/\(descriptor)"
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link),
          target.hasPrefix(scratch.url.path), !target.hasSuffix("big.npy")
        else { continue }
        var status = stat()
        written = stat(link, &status) == 0 && status.st_size > 0
      }
      if !written { usleep(1000) }
    }
    kill(pid, SIGSTOP)
    #expect(written, "the tool finished or never wrote")
    #expect(scratch.contents == ["big.npy"], "visible while stopped mid-write")
    kill(pid, SIGKILL)
    process.waitUntilExit()
    #expect(process.terminationReason == .uncaughtSignal)
    #expect(scratch.contents == ["big.npy"], "left after SIGKILL")
  }

  @Test func forceKeepsTheReplacedFilesMode() throws {
    let scratch = try Scratch()
    try scratch.write("m.csv", text: "1,1\n")
    for mode: mode_t in [0o600, 0o640, 0o755] {
      try scratch.write("o.csv", text: "old\n")
      chmod(scratch.path("o.csv"), mode)
      let result = try ToolRunner.run(
        ["apply", "m.csv", "-o", "o.csv", "--force"], in: scratch.url)
      #expect(result.status == 0, "\(result.stderr)")
      #expect(try scratch.read("o.csv") == Array("0.5,0.5\n".utf8))
      var status = stat()
      stat(scratch.path("o.csv"), &status)
      #expect(status.st_mode & 0o777 == mode)
    }
    // A new file gets 0666 less the umask.
    let fresh = try ToolRunner.run(
      ["apply", "m.csv", "-o", "n.csv"], in: scratch.url, shellPrefix: "umask 027;")
    #expect(fresh.status == 0)
    var status = stat()
    stat(scratch.path("n.csv"), &status)
    #expect(status.st_mode & 0o777 == 0o640)
    #expect(scratch.contents == ["m.csv", "n.csv", "o.csv"])
  }
}
