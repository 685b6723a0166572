import SoftmaxFiles

/// A `.npy` input: its header, checked against the file's size, and its elements read in
/// chunks and converted to the compute type.
///
/// A regular file is read at any offset, as often as needed. Standard input, a pipe or a
/// device is read once, in order: the header first (refused after its first bytes if it is not
/// one, so gigabytes of zeros on standard input fail at once), then the data straight into the
/// caller's buffer, never more than the header promises and at most `pipeLimit` bytes.
final class NPYSource {
  let file: InputFile
  let header: NPYHeader
  /// The next data byte a stream will deliver (streams are read in order only).
  private var streamOffset = 0

  /// Raw bytes converted per read: bounds the conversion buffer.
  static let conversionChunkBytes = 1 << 20

  init(file: InputFile, pipeLimit: Int) throws(ToolError) {
    self.file = file
    do {
      header = try file.isRegularFile ? Self.readHeader(of: file) : Self.readHeader(from: file)
    } catch let error as FormatError {
      throw ToolError(error.message(in: file.name))
    } catch let error as FileError {
      throw ToolError(error.description)
    } catch {
      throw ToolError("\(file.name): \(error)")
    }
    let expected = header.dataByteCount!
    guard file.isRegularFile else {
      if expected > pipeLimit {
        throw ToolError(
          "\(file.name): the header promises \(expected) bytes of data, more than the "
            + "\(pipeLimit) bytes (--pipe-limit) held in memory from a pipe or device; save "
            + "the input to a file or raise the limit")
      }
      return
    }
    let available = file.size - header.dataOffset
    if available < expected { throw truncated(available) }
    if available > expected {
      throw ToolError(
        "\(file.name): \(available - expected) bytes follow the \(expected) bytes of data the "
          + "header describes (a corrupt file, or several arrays in one file)")
    }
  }

  private static func readHeader(of file: InputFile) throws -> NPYHeader {
    var prefix = [UInt8](repeating: 0, count: 12)
    let count = try prefix.withUnsafeMutableBytes { try file.read(at: 0, into: $0) }
    let length = try NPYHeader.headerLength(prefix: prefix[0..<count])
    var headerBytes = [UInt8](repeating: 0, count: length)
    let read = try headerBytes.withUnsafeMutableBytes { try file.read(at: 0, into: $0) }
    return try NPYHeader(parsing: headerBytes[0..<read])
  }

  /// The header of a stream, read exactly (the data follows): the 10 bytes every version has,
  /// checked, then the rest of the length field, then the announced length (at most 1 MiB).
  private static func readHeader(from file: InputFile) throws -> NPYHeader {
    var bytes = try file.readNext(10)
    if bytes.count == 10 && (bytes[6] == 2 || bytes[6] == 3) { bytes += try file.readNext(2) }
    let length = try NPYHeader.headerLength(prefix: bytes)
    bytes += try file.readNext(length - bytes.count)
    return try NPYHeader(parsing: bytes)
  }

  private func truncated(_ available: Int) -> ToolError {
    ToolError(
      "\(file.name): truncated: the header promises \(header.dataByteCount!) bytes of "
        + "\(header.elementType.rawValue) data (shape \(NPYHeader.describe(header.shape))), the "
        + "\(file.isRegularFile ? "file" : "input") has \(available)")
  }

  var count: Int { header.elementCount! }

  /// Whether the data can be read more than once (by the streamed path's two passes).
  var isRereadable: Bool { file.isRegularFile }

  /// Reads elements `start ..< start + output.count`, converted. A stream must be read in
  /// order, each element once.
  func read<T: ComputeScalar>(from start: Int, into output: UnsafeMutableBufferPointer<T>)
    throws(ToolError)
  {
    try forEachConversionChunk(of: output.count, type: header.elementType) {
      (done, chunk) throws(ToolError) in
      let n = chunk.count / header.elementType.size
      let offset = (start + done) * header.elementType.size
      let got: Int
      do throws(FileError) {
        if file.isRegularFile {
          got = try file.read(at: header.dataOffset + offset, into: chunk)
        } else {
          precondition(offset == streamOffset, "NPYSource: a stream is read in order")
          got = try file.readNext(into: chunk)
          streamOffset += got
        }
      } catch {
        throw ToolError(error.description)
      }
      guard got == chunk.count else {
        if !file.isRegularFile { throw truncated(offset + got) }
        throw ToolError("\(file.name): the file shrank while it was being read")
      }
      T.decode(
        UnsafeRawBufferPointer(chunk), header.elementType, header.byteOrder,
        into: UnsafeMutableBufferPointer(rebasing: output[done..<done + n]))
    }
  }

  /// Checks that a stream ends with the data (a regular file's size was checked at once).
  func checkEnd() throws(ToolError) {
    guard !file.isRegularFile else { return }
    let extra: [UInt8]
    do { extra = try file.readNext(1) } catch { throw ToolError(error.description) }
    if !extra.isEmpty {
      throw ToolError(
        "\(file.name): more bytes follow the \(header.dataByteCount!) bytes of data the header "
          + "describes (a corrupt file, or several arrays in one file)")
    }
  }
}

/// Calls `body` with consecutive chunks of a conversion buffer covering `count` elements of
/// `type` (at most `NPYSource.conversionChunkBytes` each, allocated once) and the index of
/// each chunk's first element.
private func forEachConversionChunk(
  of count: Int, type: ElementType,
  _ body: (Int, UnsafeMutableRawBufferPointer) throws(ToolError) -> Void
) throws(ToolError) {
  let size = type.size
  let perChunk = max(1, NPYSource.conversionChunkBytes / size)
  let raw = UnsafeMutableRawBufferPointer.allocate(
    byteCount: min(perChunk, max(count, 1)) * size, alignment: 64)
  defer { raw.deallocate() }
  var done = 0
  while done < count {
    let n = min(perChunk, count - done)
    try body(done, UnsafeMutableRawBufferPointer(rebasing: raw[0..<(n * size)]))
    done += n
  }
}

/// A `.npy` output: the header, then elements converted from the compute type in chunks.
struct NPYSink {
  let file: OutputFile
  let header: NPYHeader

  init(file: OutputFile, header: NPYHeader) throws(ToolError) {
    self.file = file
    self.header = header
    do { try file.write(header.encoded()) } catch { throw ToolError(error.description) }
  }

  /// Appends `values`, converted to the header's element type and byte order.
  func write<T: ComputeScalar>(_ values: UnsafeBufferPointer<T>) throws(ToolError) {
    try forEachConversionChunk(of: values.count, type: header.elementType) {
      (done, chunk) throws(ToolError) in
      let n = chunk.count / header.elementType.size
      T.encode(
        UnsafeBufferPointer(rebasing: values[done..<done + n]), header.elementType,
        header.byteOrder, into: chunk)
      do throws(FileError) { try file.write(UnsafeRawBufferPointer(chunk)) } catch {
        throw ToolError(error.description)
      }
    }
  }
}
