/// A failure the `softmax` tool reports as one line on standard error, with an exit status.
public struct ToolError: Error, Equatable, CustomStringConvertible {
  /// Exit statuses of the tool, documented in the README.
  public enum Status: Int32, Sendable {
    /// The input or output failed: a missing, unreadable or malformed file, a full disk.
    case dataError = 1
    /// The command line asked for something impossible: an unknown format, an axis out of
    /// range, a temperature that is not allowed.
    case usageError = 2
  }

  /// The message, without the `softmax apply: ` prefix.
  public var description: String
  public var status: Status

  public init(_ description: String, status: Status = .dataError) {
    self.description = description
    self.status = status
  }

  static func usage(_ description: String) -> ToolError {
    ToolError(description, status: .usageError)
  }
}
