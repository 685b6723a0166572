import ArgumentParser
import Foundation
import SoftmaxBench

/// `softmax`: the package's command-line tool: `bench` times the algorithms, `apply` runs them
/// on files.
@main
struct SoftmaxCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "softmax",
    abstract: "Softmax of Float rows: Two-Pass and Three-Pass algorithms.",
    subcommands: [Bench.self, Apply.self])

  /// Parses and runs the command, turning a command-line mistake into one line on standard
  /// error and exit status 2 (ArgumentParser would print the whole usage and exit 64).
  static func main() {
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      let status = exitCode(for: error)
      if error is ExitCode || error is CleanExit || status == .success {
        exit(withError: error)
      }
      let message =
        self.message(for: error)
        .split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
      let subcommand = CommandLine.arguments.dropFirst().first { !$0.hasPrefix("-") }
      let known = configuration.subcommands.map { $0._commandName }
      let name = subcommand.flatMap { known.contains($0) ? "softmax \($0)" : nil } ?? "softmax"
      FileHandle.standardError.write(Data("\(name): \(message)\n".utf8))
      Foundation.exit(2)
    }
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
      --merge. Build with -c release.
      """)

  @OptionGroup var arguments: BenchArguments

  func run() throws {
    do {
      try BenchRunner(arguments: arguments, build: .current).run()
    } catch let error as BenchError {
      FileHandle.standardError.write(Data("softmax bench: \(error.description)\n".utf8))
      throw ExitCode(2)
    }
  }
}
