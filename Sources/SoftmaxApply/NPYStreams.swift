import SoftmaxFiles

/// A `.npy` input: its header, checked against the file's size, and its elements read in
/// chunks and converted to the compute type.
struct NPYSource {
  let file: InputFile
  let header: NPYHeader
  /// The bytes of the whole input, for inputs that are not regular files (read once).
  private let bytes: [UInt8]?

  /// Raw bytes converted per read: bounds the conversion buffer.
  static let conversionChunkBytes = 1 << 20

  init(file: InputFile) throws(ToolError) {
    self.file = file
    do {
      if file.isRegularFile {
        var prefix = [UInt8](repeating: 0, count: 12)
        let count = try prefix.withUnsafeMutableBytes { b throws(FileError) in
          try file.read(at: 0, into: b)
        }
        let length = try NPYHeader.headerLength(prefix: prefix[0..<count])
        var headerBytes = [UInt8](repeating: 0, count: length)
        let read = try headerBytes.withUnsafeMutableBytes { b throws(FileError) in
          try file.read(at: 0, into: b)
        }
        header = try NPYHeader(parsing: headerBytes[0..<read])
        bytes = nil
      } else {
        let all = try file.readAll()
        header = try NPYHeader(parsing: all)
        bytes = all
      }
    } catch let error as FormatError {
      throw ToolError(error.message(in: file.name))
    } catch let error as FileError {
      throw ToolError(error.description)
    } catch {
      throw ToolError("\(file.name): \(error)")
    }
    let available = (bytes?.count ?? file.size) - header.dataOffset
    let expected = header.dataByteCount!
    let type = header.elementType.rawValue
    if available < expected {
      throw ToolError(
        "\(file.name): truncated: the header promises \(expected) bytes of \(type) data "
          + "(shape \(NPYHeader.describe(header.shape))), the file has \(available)")
    }
    if available > expected {
      throw ToolError(
        "\(file.name): \(available - expected) bytes follow the \(expected) bytes of data the "
          + "header describes (a corrupt file, or several arrays in one file)")
    }
  }

  var count: Int { header.elementCount! }

  /// Reads elements `start ..< start + output.count`, converted.
  func read<T: ComputeScalar>(from start: Int, into output: UnsafeMutableBufferPointer<T>)
    throws(ToolError)
  {
    try forEachConversionChunk(of: output.count, type: header.elementType) {
      (done, chunk) throws(ToolError) in
      let n = chunk.count / header.elementType.size
      let offset = header.dataOffset + (start + done) * header.elementType.size
      if let bytes {
        bytes.withUnsafeBytes {
          chunk.copyMemory(
            from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + chunk.count]))
        }
      } else {
        let got: Int
        do throws(FileError) { got = try file.read(at: offset, into: chunk) } catch {
          throw ToolError(error.description)
        }
        guard got == chunk.count else {
          throw ToolError("\(file.name): the file shrank while it was being read")
        }
      }
      T.decode(
        UnsafeRawBufferPointer(chunk), header.elementType, header.byteOrder,
        into: UnsafeMutableBufferPointer(rebasing: output[done..<done + n]))
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
