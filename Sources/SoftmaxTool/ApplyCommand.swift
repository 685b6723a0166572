import ArgumentParser
import SoftmaxApply

struct Apply: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Apply softmax (or log-softmax) to an array in a .npy, CSV, TSV or text file.",
    discussion: """
      Reads INPUT (- for text on standard input), normalizes along --axis and writes the \
      result in the input's format and element type unless --output-format/--dtype say \
      otherwise. Text is one row per line; a single column is one vector; its values are \
      read and computed in Double (a numeral beyond Double's range is an error) and the \
      result rounded to --dtype. A .npy file of 1-D data over 256 MiB is streamed in two \
      reads, with memory bounded by a chunk. Standard input, pipes and devices are read once \
      and held in memory, at most --pipe-limit bytes (1 GiB by default). The output appears \
      only when complete. Exit status: 0 on success, 1 for bad input or a failed write, 2 for \
      a usage error; every error is one line on standard error.
      """)

  @OptionGroup var arguments: ApplyArguments

  func run() throws {
    do {
      try ApplyRunner(arguments: arguments).run()
    } catch {
      StandardError.writeLine("softmax apply: \(error.description)")
      throw ExitCode(error.status.rawValue)
    }
  }
}
