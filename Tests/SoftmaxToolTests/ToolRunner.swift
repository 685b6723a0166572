import Foundation

/// Runs the built `softmax` executable, which SwiftPM puts beside the test bundle.
struct ToolRunner {
  struct Result {
    var status: Int32
    var stdout: Data
    var stderr: String
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
  }

  static let executable: URL = {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !directory.path.isEmpty && directory.path != "/" {
      let candidate = directory.appendingPathComponent("softmax")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
      directory = directory.deletingLastPathComponent()
    }
    fatalError("the softmax executable was not found beside \(CommandLine.arguments[0])")
  }()

  /// Runs `softmax arguments…` with `stdin` as standard input, in `directory`; `shell` wraps
  /// the command in `bash -c` with that prefix (for ulimit).
  static func run(
    _ arguments: [String], stdin: Data = Data(), in directory: URL? = nil,
    shellPrefix: String? = nil
  ) throws -> Result {
    let process = Process()
    if let shellPrefix {
      process.executableURL = URL(fileURLWithPath: "/bin/bash")
      let quoted = ([executable.path] + arguments).map {
        "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'"
      }
      process.arguments = ["-c", shellPrefix + " " + quoted.joined(separator: " ")]
    } else {
      process.executableURL = executable
      process.arguments = arguments
    }
    if let directory { process.currentDirectoryURL = directory }
    let input = Pipe()
    let output = Pipe()
    let error = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = error
    try process.run()
    input.fileHandleForWriting.write(stdin)
    try input.fileHandleForWriting.close()
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus, stdout: outData,
      stderr: String(decoding: errData, as: UTF8.self))
  }
}
