#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where results go, so that a file appears only when it is complete.
///
/// A path to a regular file (new, or existing with `force`) is written as a temporary file in
/// the same folder (`.NAME.tmp-XXXXXX`), flushed to disk, then renamed over the path: readers see
/// either the old file or the whole new one, and a failure (disk full, a signal) removes the
/// temporary file and leaves the path as it was. `-` is standard output, and an existing
/// non-regular file (a FIFO, a device such as /dev/null) is written directly: neither can be
/// replaced atomically, nor needs to be.
package final class OutputFile {
  /// The name used in messages.
  package let name: String
  private let descriptor: Int32
  private let finalPath: String?
  private let temporaryPath: String?
  private var finished = false

  /// Opens the output.
  ///
  /// - Parameters:
  ///   - path: The destination, or `-` for standard output.
  ///   - force: Whether an existing file (even the input itself) may be replaced.
  ///   - input: The input's identity, to refuse replacing it without `force`.
  /// - Throws: ``FileError`` if the path exists and `force` is false, is a directory, or its
  ///   folder does not allow creating the temporary file.
  package init(path: String, force: Bool, input: FileIdentity?) throws(FileError) {
    if path == "-" {
      name = "<stdout>"
      descriptor = STDOUT_FILENO
      finalPath = nil
      temporaryPath = nil
      return
    }
    name = path
    var status = stat()
    if stat(path, &status) == 0 {
      let type = status.st_mode & S_IFMT
      if type == S_IFDIR { throw FileError("\(path): is a directory") }
      if type != S_IFREG {
        let opened = open(path, O_WRONLY | O_CLOEXEC)
        guard opened >= 0 else { throw FileError.system(path) }
        descriptor = opened
        finalPath = nil
        temporaryPath = nil
        return
      }
      if !force {
        if let input, FileIdentity(status) == input {
          throw FileError("\(path): refusing to overwrite the input (use --force)")
        }
        throw FileError("\(path): already exists (use --force to replace it)")
      }
    }
    let slash = path.lastIndex(of: "/")
    let folder = slash.map { String(path[...$0]) } ?? ""
    let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
    var template = Array("\(folder).\(base).tmp-XXXXXX".utf8CString)
    let opened = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard opened >= 0 else {
      throw FileError(
        "cannot create a file in '\(folder.isEmpty ? "." : folder)': "
          + String(cString: strerror(errno)))
    }
    let temporary = String(
      decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    // mkstemp makes the file private (0600); give it the mode a new file normally gets.
    let mask = umask(0)
    umask(mask)
    fchmod(opened, 0o666 & ~mask)
    descriptor = opened
    finalPath = path
    temporaryPath = temporary
    TemporaryFileRegistry.register(temporary)
  }

  deinit {
    if !finished { discard() }
  }

  /// Appends `bytes`.
  package func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
    var done = 0
    while done < bytes.count {
      let result = systemWrite(descriptor, bytes.baseAddress! + done, bytes.count - done)
      if result < 0 {
        if errno == EINTR { continue }
        throw FileError("cannot write \(name): \(String(cString: strerror(errno)))")
      }
      done += result
    }
  }

  /// Appends `bytes`.
  package func write(_ bytes: [UInt8]) throws(FileError) {
    try bytes.withUnsafeBytes { buffer in
      Result { () throws(FileError) in try write(buffer) }
    }.get()
  }

  /// Makes the output visible: flushes it to disk and renames it into place.
  package func commit() throws(FileError) {
    precondition(!finished, "OutputFile.commit: already finished")
    guard let temporaryPath, let finalPath else {
      finished = true
      if descriptor != STDOUT_FILENO { close(descriptor) }
      return
    }
    if fsync(descriptor) != 0 {
      let error = FileError("cannot write \(name): \(String(cString: strerror(errno)))")
      discard()
      throw error
    }
    if close(descriptor) != 0 {
      let error = FileError("cannot write \(name): \(String(cString: strerror(errno)))")
      finished = true
      unlink(temporaryPath)
      TemporaryFileRegistry.unregister()
      throw error
    }
    finished = true
    if rename(temporaryPath, finalPath) != 0 {
      let error = FileError("cannot create \(finalPath): \(String(cString: strerror(errno)))")
      unlink(temporaryPath)
      TemporaryFileRegistry.unregister()
      throw error
    }
    TemporaryFileRegistry.unregister()
  }

  /// Abandons the output: removes the temporary file (the destination is untouched).
  package func discard() {
    guard !finished else { return }
    finished = true
    if let temporaryPath {
      close(descriptor)
      unlink(temporaryPath)
      TemporaryFileRegistry.unregister()
    } else if descriptor != STDOUT_FILENO {
      close(descriptor)
    }
  }
}

/// write(2), under a name that the methods called `write` do not hide.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
  write(descriptor, bytes, count)
}
