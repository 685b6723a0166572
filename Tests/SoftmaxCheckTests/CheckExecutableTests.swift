import Foundation
import Softmax
import SoftmaxCheck
import Testing

/// Runs the built `softmax` executable, which measures each kernel set in a child process of
/// itself. SwiftPM builds it because this test target depends on the tool's target, and puts
/// it beside the test bundle.
@Suite struct CheckExecutableTests {
  struct Outcome {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  static var executable: URL {
    get throws {
      let testBinary = URL(
        fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(
          atPath: "/proc/self/exe")) ?? Bundle.main.executablePath ?? CommandLine.arguments[0])
      // On Linux the test binary sits in .build/<configuration>/; on macOS it is inside a
      // bundle there, so look up a few levels.
      var directory = testBinary.deletingLastPathComponent()
      for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("softmax")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory = directory.deletingLastPathComponent()
      }
      throw CheckError("no softmax executable near \(testBinary.path)")
    }
  }

  static func run(_ arguments: [String]) throws -> Outcome {
    let process = Process()
    process.executableURL = try executable
    process.arguments = arguments
    // stderr goes to a file, so that the test reads one pipe only and neither can fill up
    // while the other is being read (blocking a thread of the test's pool is no option).
    let errorPath = NSTemporaryDirectory() + "softmax-check-stderr-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errorPath) }
    let errorFile = try #require(FileHandle(forWritingAtPath: errorPath))
    let out = Pipe()
    process.standardOutput = out
    process.standardError = errorFile
    try process.run()
    let outputData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try errorFile.close()
    return Outcome(
      status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
      stderr: try String(contentsOfFile: errorPath, encoding: .utf8))
  }

  @Test func quickCheckPassesOnEveryKernelSet() throws {
    let outcome = try Self.run(["check", "--quick"])
    #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)")
    let lines = outcome.stdout.split(separator: "\n").map(String.init)
    for isa in SoftmaxRuntime.availableKernelSets {
      let rows = lines.filter { $0.hasPrefix(isa + " ") && $0.hasSuffix("PASS") }
      #expect(rows.count == CheckedFunction.allCases.count, "\(isa): \(rows)")
      #expect(lines.contains { $0.hasPrefix("kernels \(isa): ") }, "\(isa)")
    }
    #expect(lines.last?.hasPrefix("PASS: all") == true, "\(lines.last ?? "")")
  }

  @Test func eachKernelSetRunsInItsOwnProcess() throws {
    let outcome = try Self.run(["check", "--sizes", "7,100", "--json"])
    #expect(outcome.status == 0, "\(outcome.stderr)")
    let report = try CheckRunner.decode(CheckReport.self, from: outcome.stdout)
    #expect(report.paths.map(\.isa) == SoftmaxRuntime.availableKernelSets)
    let descriptions = Set(report.paths.map(\.kernelPath))
    #expect(descriptions.count == report.paths.count, "a different kernel set in each child")
    #expect(report.paths.allSatisfy { $0.passed && $0.functions.count > 0 })
  }

  @Test func usageErrorsExitTwoWithOneLine() throws {
    let available = SoftmaxRuntime.availableKernelSets.joined(separator: ", ")
    let cases: [([String], String)] = [
      (
        ["check", "--isa", "sse9"],
        "softmax check: --isa: 'sse9' is not available on this CPU (available: \(available))\n"
      ),
      (
        ["check", "--bogus"],
        "softmax check: Unknown option '--bogus' (see softmax check --help)\n"
      ),
      (
        ["check", "--seed", "minus-one"],
        "softmax check: The value 'minus-one' is invalid for '--seed <seed>' "
          + "(see softmax check --help)\n"
      ),
    ]
    for (arguments, message) in cases {
      let outcome = try Self.run(arguments)
      #expect(outcome.status == 2, "\(arguments)")
      #expect(outcome.stdout.isEmpty && outcome.stderr == message, "\(outcome.stderr)")
    }
  }
}
