/// A mistake in how `softmax bench` was called or in a file it was given. The tool prints its
/// `description` as one line on stderr and exits non-zero; nothing is written.
public struct BenchError: Error, CustomStringConvertible, Equatable {
  /// The one-line message for the user.
  public var description: String

  /// An error with the one-line message `description`.
  public init(_ description: String) {
    self.description = description
  }
}

/// How the code running the benchmark was compiled. Only the tool target can tell (with
/// `#if DEBUG`), so it passes this in.
public enum BuildConfiguration: String, Sendable, Codable {
  /// Unoptimized (`swift build`): the benchmark refuses it unless `--allow-debug`.
  case debug
  /// Optimized (`-c release`).
  case release
}
