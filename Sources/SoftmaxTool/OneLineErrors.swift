import ArgumentParser
import Foundation
import SoftmaxApply

extension SoftmaxCommand {
  /// ArgumentParser's `main()`, except that a user error is one line on stderr, "softmax
  /// check: Unknown option '--bogus' (see softmax check --help)", instead of the message and
  /// the usage screen, and a usage error exits with 2 (as the subcommands' own checks do)
  /// rather than 64. `--help` and `--version` print their screens as usual; errors the
  /// subcommands already reported (thrown as `ExitCode`) only set the exit status.
  static func main() {
    StandardError.reserveStandardDescriptors()
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      let code = exitCode(for: error)
      if code == .success { exit(withError: error) }
      let message = message(for: error).split(whereSeparator: \.isNewline).joined(separator: "; ")
      if !message.isEmpty {
        let name = invokedName
        StandardError.writeLine("\(name): \(message) (see \(name) --help)")
      }
      Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
    }
  }

  /// "softmax check" when the first argument names a subcommand, else "softmax".
  private static var invokedName: String {
    let root = configuration.commandName ?? "softmax"
    guard let first = CommandLine.arguments.dropFirst().first,
      configuration.subcommands.contains(where: { $0._commandName == first })
    else { return root }
    return "\(root) \(first)"
  }
}
