#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A failure to read or write a file, as one line: `data.npy: No such file or directory`.
package struct FileError: Error, Equatable, CustomStringConvertible {
  package var description: String

  package init(_ description: String) {
    self.description = description
  }

  /// `path: <the system's message for errno>`.
  static func system(_ path: String, _ code: Int32 = errno) -> FileError {
    FileError("\(path): \(String(cString: strerror(code)))")
  }
}

/// Which file a descriptor refers to, to tell whether an output would replace the input.
package struct FileIdentity: Equatable, Sendable {
  var device: UInt64
  var inode: UInt64

  init(_ status: stat) {
    // dev_t is signed on Darwin (Int32): keep its bits rather than trap on a negative one.
    device = UInt64(truncatingIfNeeded: status.st_dev)
    inode = UInt64(truncatingIfNeeded: status.st_ino)
  }

  /// The identity of the file at `path`, nil if there is none.
  package init?(path: String) {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    self.init(status)
  }
}

/// An input opened for reading: a regular file (read at any offset, any number of times), or
/// a pipe, terminal or other stream (read once, to its end).
package final class InputFile {
  /// The name used in messages: the path, or `<stdin>`.
  package let name: String
  private let descriptor: Int32
  private let ownsDescriptor: Bool
  /// Whether this is a regular file (its size is known, and it can be read again).
  package let isRegularFile: Bool
  /// The size in bytes of a regular file; 0 for streams.
  package let size: Int
  /// The file's identity, for regular files.
  package let identity: FileIdentity?

  /// Opens `path` for reading; `-` is standard input.
  ///
  /// - Throws: ``FileError`` for a missing or unreadable file or a directory.
  package init(path: String) throws(FileError) {
    if path == "-" {
      name = "<stdin>"
      descriptor = STDIN_FILENO
      ownsDescriptor = false
    } else {
      name = path
      let opened = open(path, O_RDONLY | O_CLOEXEC)
      guard opened >= 0 else { throw FileError.system(path) }
      descriptor = opened
      ownsDescriptor = true
    }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else {
      let error = FileError.system(name)
      if ownsDescriptor { close(descriptor) }
      throw error
    }
    let type = status.st_mode & S_IFMT
    if type == S_IFDIR {
      if ownsDescriptor { close(descriptor) }
      throw FileError("\(name): is a directory, not a file")
    }
    isRegularFile = type == S_IFREG
    size = isRegularFile ? Int(status.st_size) : 0
    identity = isRegularFile ? FileIdentity(status) : nil
  }

  deinit {
    if ownsDescriptor { close(descriptor) }
  }

  /// Reads up to `buffer.count` bytes at `offset` (regular files); returns how many, fewer only
  /// at the end of the file.
  package func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(FileError)
    -> Int
  {
    var done = 0
    while done < buffer.count {
      let result = pread(
        descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
      if result < 0 {
        if errno == EINTR { continue }
        throw FileError.system(name)
      }
      if result == 0 { break }
      done += result
    }
    return done
  }

  /// Reads what the input has ready from the current position, at most `buffer.count` bytes
  /// and at least one unless it has ended (one read(2)); returns how many, 0 at the end.
  package func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws(FileError) -> Int {
    while true {
      let result = systemRead(descriptor, buffer)
      if result >= 0 { return result }
      if errno != EINTR { throw FileError.system(name) }
    }
  }

  /// Reads the next bytes from the current position (where the last call stopped; the start
  /// of a file this opened) until `buffer` is full or the input ends; returns how many.
  package func readNext(into buffer: UnsafeMutableRawBufferPointer) throws(FileError) -> Int {
    var done = 0
    while done < buffer.count {
      let result = systemRead(
        descriptor, UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
      if result < 0 {
        if errno == EINTR { continue }
        throw FileError.system(name)
      }
      if result == 0 { break }
      done += result
    }
    return done
  }

  /// The next `count` bytes or fewer at the end, read by ``readNext(into:)``.
  package func readNext(_ count: Int) throws(FileError) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    let got = try bytes.withUnsafeMutableBytes { buffer in
      Result { () throws(FileError) in try readNext(into: buffer) }
    }.get()
    bytes.removeLast(count - got)
    return bytes
  }
}

/// read(2), under a name that the methods called `read` do not hide.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
  read(descriptor, buffer.baseAddress!, buffer.count)
}
