import Softmax
import SoftmaxFiles
internal import SoftmaxKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// `softmax apply`: reads an array, applies softmax along an axis, writes the result.
///
/// Every failure is a ``ToolError`` thrown before the output exists: the output is a temporary
/// file until the last byte is written and flushed, then renamed into place.
public struct ApplyRunner {
  let plan: ApplyPlan

  public init(arguments: ApplyArguments) throws(ToolError) {
    plan = try ApplyPlan(arguments)
  }

  public func run() throws(ToolError) {
    let file: InputFile
    do { file = try InputFile(path: plan.input) } catch { throw ToolError(error.description) }
    guard let format = plan.inputFormat ?? (plan.input == "-" ? .text : nil) else {
      throw .usage(
        "\(plan.input): cannot tell the format from the extension; use --format "
          + FileFormat.names)
    }
    if format == .npy {
      try applyToNPY(file)
    } else {
      try applyToText(file, separator: plan.inputFormat?.separator)
    }
  }

  // MARK: - .npy input

  private func applyToNPY(_ file: InputFile) throws(ToolError) {
    let source = try NPYSource(file: file, pipeLimit: plan.pipeLimit)
    let header = source.header
    let axis = try plan.resolvedAxis(for: header.shape)
    let format = plan.outputFormat ?? .npy
    let type = plan.dtype ?? header.elementType
    let useDouble = header.elementType == .float64 || type == .float64
    let streamable = header.shape.count <= 1 && format == .npy && source.isRereadable
    if plan.stream == .always && !streamable {
      throw .usage(
        "--stream always needs a 1-D .npy input in a regular file (it is read twice) and a "
          + ".npy output")
    }
    let large = header.dataByteCount! > StreamMode.automaticThreshold
    if plan.stream == .never || !streamable || (plan.stream == .auto && !large) {
      let loaded =
        useDouble
        ? try loadComputeWrite(Double.self, source, axis: axis, format: format, type: type)
        : try loadComputeWrite(Float.self, source, axis: axis, format: format, type: type)
      if loaded { return }
      // Not enough memory to hold the array: a vector can still stream.
      guard streamable && plan.stream == .auto else {
        let (bytes, overflow) = source.count.multipliedReportingOverflow(by: useDouble ? 8 : 4)
        let size = overflow ? "more than \(Int.max)" : "\(bytes)"
        throw ToolError(
          "\(file.name): not enough memory to load the array (\(size) bytes)"
            + (streamable ? "; --stream always processes it in chunks" : ""))
      }
    }
    try streamNPY(source, type: type, useDouble: useDouble)
  }

  /// The streamed path: a 1-D `.npy` read twice in chunks, the output written chunk by chunk.
  private func streamNPY(_ source: NPYSource, type: ElementType, useDouble: Bool)
    throws(ToolError)
  {
    let header = source.header
    let output = try openOutput(binary: true, input: source.file)
    let outputHeader = NPYHeader(
      elementType: type, byteOrder: header.byteOrder, fortranOrder: header.fortranOrder,
      shape: header.shape)
    let sink = try NPYSink(file: output, header: outputHeader)
    let progress = ProgressBar(
      total: 2 * header.dataByteCount!, label: "softmax apply", forced: plan.forceProgress)
    switch (plan.temperature == 0, useDouble) {
    case (true, true):
      try streamSoftmax(
        source: source, sink: sink, accumulator: ArgmaxAccumulator<Double>(), plan: plan,
        progress: progress)
    case (true, false):
      try streamSoftmax(
        source: source, sink: sink, accumulator: ArgmaxAccumulator<Float>(), plan: plan,
        progress: progress)
    case (false, true):
      try streamSoftmax(
        source: source, sink: sink, accumulator: NormalizerAccumulator<Double>(), plan: plan,
        progress: progress)
    case (false, false):
      try streamSoftmax(
        source: source, sink: sink, accumulator: NormalizerAccumulator<Float>(), plan: plan,
        progress: progress)
    }
    progress.finish()
    try commit(output)
  }

  /// The loaded path: the whole array in memory (in place), any rank and axis. Returns false,
  /// having written nothing, if the memory for the array cannot be allocated.
  private func loadComputeWrite<T: ShapedSoftmax>(
    _: T.Type, _ source: NPYSource, axis: Int, format: FileFormat, type: ElementType
  ) throws(ToolError) -> Bool {
    let header = source.header
    let rank = header.shape.count
    // A Fortran-order array is the C-order array of the reversed shape, transposed.
    let layoutShape = header.fortranOrder ? Array(header.shape.reversed()) : header.shape
    let layoutAxis = header.fortranOrder ? max(rank, 1) - 1 - axis : axis
    if format != .npy && rank > 2 {
      throw .usage(
        "text output needs a 1-D or 2-D array, not shape \(NPYHeader.describe(header.shape)); "
          + "use --output-format npy")
    }
    let (byteCount, overflow) = max(source.count, 1).multipliedReportingOverflow(
      by: MemoryLayout<T>.stride)
    // Unlike an Array, this reports a failure instead of trapping; huge pages spare a
    // multi-gigabyte array most of its TLB misses (see HugePages).
    guard !overflow, let memory = HugePages.allocate(byteCount: byteCount) else { return false }
    defer { free(memory) }
    let buffer = UnsafeMutableBufferPointer(
      start: memory.bindMemory(to: T.self, capacity: source.count), count: source.count)
    let progress = ProgressBar(
      total: header.dataByteCount!, label: "softmax apply", forced: plan.forceProgress)
    try source.read(from: 0, into: buffer)
    try source.checkEnd()
    progress.advance(by: header.dataByteCount!)
    try computeInPlace(buffer, shape: layoutShape, axis: layoutAxis, options: computeOptions)
    progress.finish()
    let output = try openOutput(binary: format == .npy, input: source.file)
    if format == .npy {
      let outputHeader = NPYHeader(
        elementType: type, byteOrder: header.byteOrder, fortranOrder: header.fortranOrder,
        shape: header.shape)
      let sink = try NPYSink(file: output, header: outputHeader)
      try sink.write(UnsafeBufferPointer(buffer))
    } else {
      var values = Array(buffer)
      if header.fortranOrder && rank == 2 {
        values = transposed(values, rows: layoutShape[0], columns: layoutShape[1])
      }
      let rows = rank == 2 ? header.shape[0] : values.count
      let columns = rank == 2 ? header.shape[1] : 1
      try checkTextSize(rows: rows, columns: columns, shape: header.shape)
      let table = TextTable(values: [], rows: rows, columns: columns)
      try write(
        table.formatted(values, separator: format.separator!, format: printer(type)), output)
    }
    try commit(output)
    return true
  }

  /// The most empty lines a text output of an array without columns may have: its rows are
  /// kept (a (3, 0) array is three empty lines), but a 128-byte `.npy` of shape (2^40, 0) must
  /// not become a terabyte of newlines.
  static let maximumEmptyTextRows = 1 << 20

  private func checkTextSize(rows: Int, columns: Int, shape: [Int]) throws(ToolError) {
    guard columns == 0, rows > Self.maximumEmptyTextRows else { return }
    throw .usage(
      "text output of shape \(NPYHeader.describe(shape)) would be \(rows) empty lines (at most "
        + "\(Self.maximumEmptyTextRows)); use --output-format npy")
  }

  // MARK: - Text input

  private func applyToText(_ file: InputFile, separator: TextSeparator?) throws(ToolError) {
    let (table, separator) = try readTable(file, separator: separator)
    let axis = try plan.resolvedAxis(for: table.shape)
    let format = plan.outputFormat ?? FileFormat(separator)
    // Text is computed in Double, whatever --dtype says: its values are decimal numerals, and
    // rounding them to Float first turned 1e39 and 1e40 into two infinities that tied
    // (0.5, 0.5 instead of 0, 1). The output is then rounded to the element type.
    try computeWrite(table.values, table, axis, format, plan.dtype ?? .float32, file)
  }

  /// The table of a text input, read piece by piece as it arrives, so that garbage (a NUL, a
  /// value that is not a number) is refused at the first line that shows it; at most
  /// `--pipe-limit` bytes from a pipe or device.
  private func readTable(_ file: InputFile, separator: TextSeparator?) throws(ToolError)
    -> (table: TextTable, separator: TextSeparator)
  {
    var reader = TextTableReader(separator: separator, headerLines: plan.headerLines)
    let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { piece.deallocate() }
    var total = 0
    do {
      while true {
        let count = try file.readAvailable(into: piece)
        if count == 0 { break }
        total += count
        if !file.isRegularFile && total > plan.pipeLimit {
          throw ToolError(overPipeLimit(file.name))
        }
        try reader.consume(UnsafeRawBufferPointer(rebasing: piece[0..<count]))
      }
      let table = try reader.finish()
      return (table, reader.separator ?? .whitespace)
    } catch let error as FormatError {
      throw ToolError(error.message(in: file.name))
    } catch let error as FileError {
      throw ToolError(error.description)
    } catch let error as ToolError {
      throw error
    } catch {
      throw ToolError("\(file.name): \(error)")
    }
  }

  private func overPipeLimit(_ name: String) -> String {
    "\(name): more than \(plan.pipeLimit) bytes from a pipe or device, which must be held in "
      + "memory (--pipe-limit); save the input to a file or raise the limit"
  }

  private func computeWrite<T: ShapedSoftmax>(
    _ values: [T], _ table: TextTable, _ axis: Int, _ format: FileFormat, _ type: ElementType,
    _ input: InputFile
  ) throws(ToolError) {
    var values = values
    try values.withUnsafeMutableBufferPointer { buffer throws(ToolError) in
      try computeInPlace(buffer, shape: table.shape, axis: axis, options: computeOptions)
    }
    let output = try openOutput(binary: format == .npy, input: input)
    if format == .npy {
      let sink = try NPYSink(file: output, header: NPYHeader(elementType: type, shape: table.shape))
      try values.withUnsafeBufferPointer { buffer throws(ToolError) in try sink.write(buffer) }
    } else {
      try write(
        table.formatted(values, separator: format.separator!, format: printer(type)), output)
    }
    try commit(output)
  }

  // MARK: - Shared steps

  private var computeOptions: ComputeOptions {
    ComputeOptions(
      logarithm: plan.logarithm, algorithm: plan.algorithm ?? .auto,
      temperature: plan.temperature, threads: plan.threads,
      fullyMaskedRows: plan.fullyMaskedRows)
  }

  private func openOutput(binary: Bool, input: InputFile) throws(ToolError) -> OutputFile {
    if binary && plan.output == "-" && isatty(STDOUT_FILENO) == 1 {
      throw .usage("refusing to write binary .npy data to a terminal; use -o FILE")
    }
    do {
      return try OutputFile(path: plan.output, force: plan.force, input: input.identity)
    } catch {
      throw ToolError(error.description)
    }
  }

  private func write(_ bytes: [UInt8], _ output: OutputFile) throws(ToolError) {
    do { try output.write(bytes) } catch { throw ToolError(error.description) }
  }

  private func commit(_ output: OutputFile) throws(ToolError) {
    do { try output.commit() } catch { throw ToolError(error.description) }
  }

  /// How a text output prints a value of `type`: the shortest text that reads back as the
  /// same value of that type.
  private func printer<T: ComputeScalar>(_ type: ElementType) -> (T) -> String {
    switch type {
    case .float16:
      return { value in
        let half = ElementCodec.floatFromHalfBits(ElementCodec.halfBits(value.floatValue))
        return "\(half)"
      }
    case .float32: return { "\($0.floatValue)" }
    case .float64: return { "\($0.doubleValue)" }
    }
  }

  private func transposed<T>(_ values: [T], rows: Int, columns: Int) -> [T] {
    var result = values
    for r in 0..<rows {
      for c in 0..<columns { result[c * rows + r] = values[r * columns + c] }
    }
    return result
  }
}
