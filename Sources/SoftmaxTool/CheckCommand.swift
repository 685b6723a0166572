import ArgumentParser
import SoftmaxApply
import SoftmaxCheck

struct Check: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Measure the library's accuracy on this machine against the README's bounds.",
    discussion: """
      Runs every algorithm, logSoftmax, and the Float16 and Double functions on every kernel \
      set this CPU supports (each in a child process with SOFTMAX_ISA set), over several input \
      distributions and row lengths and every special-value case, and compares each output \
      with an exact Double reference. Prints a table of the largest errors; exits 0 if all are \
      within the documented bounds, 1 if any is not, 2 for a usage error.
      """)

  @OptionGroup var arguments: CheckArguments

  func run() throws {
    let runner = CheckRunner(
      arguments: arguments,
      source: .childProcesses(executable: CheckRunner.currentExecutable, subcommand: ["check"]),
      standardError: StandardError.writeLine)
    let status = runner.run()
    if status != 0 { throw ExitCode(status) }
  }
}
