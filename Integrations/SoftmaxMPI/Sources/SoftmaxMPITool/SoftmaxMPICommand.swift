import ArgumentParser
import SoftmaxMPI

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

@main
struct SoftmaxMPICommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "softmax-mpi",
    abstract: "Sharded softmax and vocabulary-parallel cross-entropy over MPI.",
    discussion: """
      Run under mpirun, for example:
        mpirun -np 4 softmax-mpi check
        mpirun -np 2 softmax-mpi bench --shape 8x128256
      """,
    subcommands: [CheckCommand.self, BenchCommand.self, FaultCommand.self])

  /// ArgumentParser's `main()`, except that a user error is one line on stderr and exits
  /// with 2; `--help` prints its screen as usual.
  static func main() {
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      let code = exitCode(for: error)
      if code == .success { exit(withError: error) }
      let message = message(for: error).split(whereSeparator: \.isNewline).joined(separator: "; ")
      if !message.isEmpty {
        writeLine(to: 2, "softmax-mpi: \(message) (see softmax-mpi --help)")
      }
      Glibc.exit(code == .validationFailure ? 2 : code.rawValue)
    }
  }
}

/// Writes one line to a descriptor (stdout 1, stderr 2) with write(2), unbuffered.
func writeLine(to descriptor: Int32, _ text: String) {
  var line = text
  line += "\n"
  line.withUTF8 { bytes in
    var offset = 0
    while offset < bytes.count {
      let n = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
      if n <= 0 { return }
      offset += n
    }
  }
}

/// "8x128256" as (rows, classes).
struct BatchShape: ExpressibleByArgument, CustomStringConvertible {
  let rows: Int
  let classes: Int

  init(rows: Int, classes: Int) {
    self.rows = rows
    self.classes = classes
  }

  init?(argument: String) {
    let parts = argument.split(separator: "x", omittingEmptySubsequences: false)
    guard parts.count == 2, let r = Int(parts[0]), let c = Int(parts[1]), r >= 1, c >= 1,
      r.multipliedReportingOverflow(by: c).overflow == false
    else { return nil }
    self.init(rows: r, classes: c)
  }

  var description: String { "\(rows)x\(classes)" }
}
