import ArgumentParser
import Foundation
import SoftmaxApply
import SoftmaxBench

/// `softmax`: the package's command-line tool: `bench` times the algorithms, `apply` runs them
/// on files, `check` measures their accuracy on this machine. Errors are one line each
/// (OneLineErrors.swift).
@main
struct SoftmaxCommand: ParsableCommand {
  // No `version:` here: the configuration is built when the process starts, and the version
  // text names the kernel set, so building it then chose the set before `bench --isa` could.
  static let configuration = CommandConfiguration(
    commandName: "softmax",
    abstract: "Two-Pass softmax on the CPU: time it, check its accuracy, apply it to files.",
    subcommands: [Bench.self, Apply.self, Check.self])

  @Flag(help: "Print the package version and the kernel set this process runs, then exit.")
  var version = false

  func run() throws {
    guard version else { throw CleanExit.helpRequest(self) }
    print(ToolVersion.text)
  }
}

extension BuildConfiguration {
  /// Only the tool target knows how it was compiled; the benchmark refuses debug builds.
  static var current: BuildConfiguration {
    #if DEBUG
      .debug
    #else
      .release
    #endif
  }
}

struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Time every softmax algorithm against same-binary memory rooflines.",
    discussion: """
      Sweeps row lengths from 1K floats to far past the last-level cache, timing each \
      algorithm of the library and roofline kernels that move the same bytes. Prints a table \
      per size and a summary on stdout, progress on stderr, and writes results.csv, \
      results.json and two SVG charts. Merge peer timings from scripts/compare-peers.sh with \
      --merge. With --operation, the training operations (log-softmax, softmax and \
      log-softmax backward, cross-entropy, logsumexp) join the same rounds, each against a \
      roofline of its own traffic and divided by the softmax's time. Build with -c release.
      """)

  @OptionGroup var arguments: BenchArguments

  func run() throws {
    do {
      // Progress lines by write(2): FileHandle traps on a closed or full stderr.
      try BenchRunner(
        arguments: arguments, build: .current, standardError: StandardError.writeLine
      ).run()
    } catch let error as BenchError {
      StandardError.writeLine("softmax bench: \(error.description)")
      throw ExitCode(2)
    }
  }
}
