import Foundation

/// Measures one kernel set in a child process of the tool. The library reads `SOFTMAX_ISA`
/// once, when it first runs, so a kernel set other than the process's own can only be forced
/// in a fresh process: the child runs `softmax check --child-isa NAME` with `SOFTMAX_ISA=NAME`
/// and prints a ``PathReport`` as JSON; its stderr goes straight to ours.
struct ChildMeasurement {
  var executable: String
  var subcommand: [String]
  var kernelSet: String
  var configuration: CheckConfiguration

  /// The child's report, or a report whose ``PathReport/error`` says why there is none (a
  /// crash, a trap in the library, unreadable output): a failed check, not a usage error.
  func run() -> PathReport {
    do {
      return try measure()
    } catch {
      return PathReport(
        isa: kernelSet, kernelPath: "?", functions: [], error: "\(error)")
    }
  }

  private func measure() throws -> PathReport {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments =
      subcommand + [
        "--child-isa", kernelSet, "--seed", String(configuration.seed),
        "--sizes", configuration.sizes.map(String.init).joined(separator: ","),
      ]
    var environment = ProcessInfo.processInfo.environment
    environment["SOFTMAX_ISA"] = kernelSet
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    // Read to the end before waiting, so that a large report cannot fill the pipe and block.
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    if process.terminationReason == .uncaughtSignal {
      throw CheckError(
        "the child process measuring \(kernelSet) died from signal \(process.terminationStatus)")
    }
    guard process.terminationStatus == 0 else {
      throw CheckError(
        "the child process measuring \(kernelSet) exited with status \(process.terminationStatus)")
    }
    let text = String(decoding: output, as: UTF8.self)
    let report: PathReport
    do {
      report = try CheckRunner.decode(PathReport.self, from: text)
    } catch {
      throw CheckError("the child process measuring \(kernelSet) printed no report: \(error)")
    }
    guard report.isa == kernelSet else {
      throw CheckError("asked the child process for \(kernelSet), it ran \(report.isa)")
    }
    return report
  }
}
