import SoftmaxFiles

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The tool's only way to report an error: one line on standard error, by write(2).
///
/// Foundation's `FileHandle.write` traps when the write fails, so an error message to a closed
/// or full standard error (`2>&-`, `2>/dev/full`) crashed the tool instead of letting it exit
/// with its status; a failed write here is ignored (there is nowhere left to report it).
public enum StandardError {
  /// Writes `message` (control characters escaped, so it stays one line) and a newline.
  public static func writeLine(_ message: String) {
    var line = MessageText.escapingControls(message) + "\n"
    line.withUTF8 { bytes in
      var done = 0
      while done < bytes.count {
        let result = write(STDERR_FILENO, bytes.baseAddress! + done, bytes.count - done)
        if result < 0 && errno == EINTR { continue }
        guard result > 0 else { return }
        done += result
      }
    }
  }

  /// Opens `/dev/null` on standard input, output or error if one is closed, in the direction
  /// that makes its use fail (read-only on output and error, write-only on input).
  ///
  /// Otherwise the next file the tool opens gets the closed descriptor's number: with `2>&-`
  /// the output file became descriptor 2, and the progress bar and error messages went into it.
  /// Reopened the wrong way round, a write to a closed standard output still fails and is
  /// reported ("cannot write <stdout>: Bad file descriptor") instead of vanishing.
  public static func reserveStandardDescriptors() {
    for descriptor in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO]
    where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
      let flags = descriptor == STDIN_FILENO ? O_WRONLY : O_RDONLY
      let opened = open("/dev/null", flags)
      if opened >= 0 && opened != descriptor {
        dup2(opened, descriptor)
        close(opened)
      }
    }
  }
}
