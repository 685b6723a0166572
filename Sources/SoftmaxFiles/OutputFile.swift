#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where results go, so that a file appears only when it is complete.
///
/// A path to a regular file (new, or existing with `force`) is written as a file without a
/// name (Linux `O_TMPFILE`) in the destination's folder, flushed to disk, then linked into
/// place through `/proc/self/fd`: until then nothing is visible, and a process killed by any
/// signal, even SIGKILL, leaves nothing behind (the kernel frees the unnamed file). Where
/// `O_TMPFILE` or `/proc` is missing, it is a temporary file (`.NAME.tmp-XXXXXX`), removed on
/// a failure or SIGINT/SIGTERM/SIGHUP. Either way readers see the old file or the whole new
/// one, and a replaced file keeps its permission bits. `-` is standard output, and an existing
/// non-regular file (a FIFO, a device such as /dev/null) is written directly: neither can be
/// replaced atomically, nor needs to be.
package final class OutputFile {
  /// The name used in messages.
  package let name: String
  private let descriptor: Int32
  private let finalPath: String?
  /// The temporary file's name; nil for an unnamed (`O_TMPFILE`) file and for direct writes.
  private let temporaryPath: String?
  /// The folder of `finalPath`, with its slash (empty for the current folder).
  private let folder: String
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
    TemporaryFileRegistry.installHandlers()
    folder = path.lastIndex(of: "/").map { String(path[...$0]) } ?? ""
    if path == "-" {
      name = "<stdout>"
      descriptor = STDOUT_FILENO
      finalPath = nil
      temporaryPath = nil
      return
    }
    name = path
    var status = stat()
    // A new file gets the mode open(2) gives (0666 less the umask); a replaced one keeps its
    // permission bits, so that --force does not turn a private 0600 file into a 0644 one.
    var mode: mode_t?
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
      mode = status.st_mode & 0o777
    }
    finalPath = path
    if let unnamed = Self.openUnnamed(in: folder) {
      descriptor = unnamed
      temporaryPath = nil
    } else {
      let base = String(path.dropFirst(folder.count))
      let (opened, temporary) = try Self.openTemporary(in: folder, base: base)
      descriptor = opened
      temporaryPath = temporary
      TemporaryFileRegistry.register(temporary)
    }
    if let mode {
      fchmod(descriptor, mode)
    } else if temporaryPath != nil {
      // mkstemp makes the file private (0600); give it the mode a new file normally gets.
      let mask = umask(0)
      umask(mask)
      fchmod(descriptor, 0o666 & ~mask)
    }
  }

  /// An unnamed file in `folder`, nil where the system cannot make one (not Linux, a kernel
  /// or file system without `O_TMPFILE`) or could not name it later (no `/proc`).
  private static func openUnnamed(in folder: String) -> Int32? {
    #if os(Linux)
      guard access("/proc/self/fd", X_OK) == 0 else { return nil }
      // O_TMPFILE is __O_TMPFILE | O_DIRECTORY; Glibc's macro does not reach Swift.
      let temporaryFileFlag: Int32 = 0o20_000_000 | O_DIRECTORY
      let opened = open(
        folder.isEmpty ? "." : folder, temporaryFileFlag | O_WRONLY | O_CLOEXEC, 0o666)
      return opened >= 0 ? opened : nil
    #else
      return nil
    #endif
  }

  /// A new file `.BASE.tmp-XXXXXX` in `folder`.
  private static func openTemporary(in folder: String, base: String) throws(FileError)
    -> (Int32, String)
  {
    var template = Array("\(folder).\(base).tmp-XXXXXX".utf8CString)
    let opened = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard opened >= 0 else {
      throw FileError(
        "cannot create a file in '\(folder.isEmpty ? "." : folder)': "
          + String(cString: strerror(errno)))
    }
    let path = String(
      decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return (opened, path)
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

  /// Makes the output visible: flushes it to disk and moves or links it into place.
  package func commit() throws(FileError) {
    precondition(!finished, "OutputFile.commit: already finished")
    guard let finalPath else {
      finished = true
      if descriptor != STDOUT_FILENO { close(descriptor) }
      return
    }
    if fsync(descriptor) != 0 {
      let error = FileError("cannot write \(name): \(String(cString: strerror(errno)))")
      discard()
      throw error
    }
    var named = temporaryPath
    if named == nil {
      // Name the unnamed file: straight at the destination if it is still free (atomic: link
      // fails rather than replace), else under a temporary name to rename over it.
      named = try linkUnnamed(to: finalPath)
      if named == nil {
        finished = true
        close(descriptor)
        return
      }
    }
    finished = true
    let temporary = named!
    if close(descriptor) != 0 {
      let error = FileError("cannot write \(name): \(String(cString: strerror(errno)))")
      unlink(temporary)
      TemporaryFileRegistry.unregister()
      throw error
    }
    if rename(temporary, finalPath) != 0 {
      let error = FileError("cannot create \(finalPath): \(String(cString: strerror(errno)))")
      unlink(temporary)
      TemporaryFileRegistry.unregister()
      throw error
    }
    TemporaryFileRegistry.unregister()
  }

  /// Links the unnamed file at `finalPath` if nothing is there (returns nil), else at a new
  /// temporary name beside it (returned, registered for removal on a signal) for `rename`.
  private func linkUnnamed(to finalPath: String) throws(FileError) -> String? {
    let source = "/proc/self/fd/\(descriptor)"
    if linkat(AT_FDCWD, source, AT_FDCWD, finalPath, AT_SYMLINK_FOLLOW) == 0 { return nil }
    guard errno == EEXIST else {
      let error = FileError("cannot create \(finalPath): \(String(cString: strerror(errno)))")
      discard()
      throw error
    }
    let base = String(finalPath.dropFirst(folder.count))
    for attempt in 0..<100 {
      let candidate = "\(folder).\(base).tmp-\(getpid())-\(attempt)"
      // Registered first: a signal between the link and the rename still removes it.
      TemporaryFileRegistry.register(candidate)
      if linkat(AT_FDCWD, source, AT_FDCWD, candidate, AT_SYMLINK_FOLLOW) == 0 {
        return candidate
      }
      TemporaryFileRegistry.unregister()
      guard errno == EEXIST else { break }
    }
    let error = FileError("cannot create \(finalPath): \(String(cString: strerror(errno)))")
    discard()
    throw error
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
