import Foundation
import Testing

/// `softmax --version`: the version CHANGELOG.md implies, and the kernel set this process runs.
@Suite struct VersionTests {
  /// The version the changelog implies: its latest release heading `## [x.y.z]`, plus
  /// "+unreleased" when the `## [Unreleased]` section lists anything.
  static func changelogVersion() throws -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    let text = try String(
      contentsOf: root.appendingPathComponent("CHANGELOG.md"), encoding: .utf8)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let headings = lines.indices.filter { lines[$0].hasPrefix("## [") }
    let releases = headings.filter { !lines[$0].hasPrefix("## [Unreleased]") }
    let release = try #require(releases.first, "no release heading in CHANGELOG.md")
    let version = String(lines[release].dropFirst(4).prefix { $0 != "]" })
    guard let unreleased = headings.first(where: { lines[$0].hasPrefix("## [Unreleased]") })
    else { return version }
    let pending = lines[(unreleased + 1)..<release].contains {
      !$0.trimmingCharacters(in: .whitespaces).isEmpty
    }
    return pending ? version + "+unreleased" : version
  }

  @Test("the first line is the package version that CHANGELOG.md implies")
  func versionLine() throws {
    let result = try ToolRunner.run(["--version"])
    #expect(result.status == 0, "\(result.stderr)")
    let lines = result.stdoutText.split(separator: "\n")
    #expect(lines.first.map(String.init) == "softmax \(try Self.changelogVersion())")
    #expect(result.stderr.isEmpty)
  }

  @Test("the kernel line names the set in use: the widest by default, SOFTMAX_ISA's if set")
  func kernelLine() throws {
    func kernelLine(_ prefix: String) throws -> (used: String, available: [String]) {
      let result = try ToolRunner.run(["--version"], shellPrefix: prefix)
      #expect(result.status == 0, "\(result.stderr)")
      let line = try #require(result.stdoutText.split(separator: "\n").dropFirst().first)
      #expect(line.hasPrefix("kernels: "))
      let used = String(line.dropFirst("kernels: ".count).prefix { $0 != "," })
      let list = try #require(line.range(of: "(this CPU: "))
      let available = line[list.upperBound...].dropLast().split(separator: ", ").map(String.init)
      return (used, available)
    }
    let widest = try kernelLine("env -u SOFTMAX_ISA")
    #expect(widest.available.first == "portable")
    #expect(widest.used == widest.available.last)
    #expect(try kernelLine("SOFTMAX_ISA=portable").used == "portable")
  }

  /// Building the version text at startup once chose the kernel set before `bench --isa`
  /// could, and every `--isa` failed with "already chosen in this process".
  @Test("bench --isa chooses the kernel set of a new process")
  func benchIsa() throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("softmax-isa-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let result = try ToolRunner.run([
      "bench", "--isa", "portable", "--quick", "--sizes", "1K", "--algorithms", "auto",
      "--repetitions", "1", "--min-sample-ms", "0.1", "--hot", "--allow-debug", "--output",
      directory.path,
    ])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdoutText.contains("portable Swift"), "\(result.stdoutText)")
  }

  @Test("softmax alone prints the help and succeeds")
  func noArguments() throws {
    let result = try ToolRunner.run([])
    #expect(result.status == 0, "\(result.stderr)")
    #expect((result.stdoutText + result.stderr).contains("SUBCOMMANDS"))
  }
}
