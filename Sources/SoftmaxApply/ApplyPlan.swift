import Softmax
import SoftmaxFiles

/// The file formats `softmax apply` reads and writes.
enum FileFormat: String, CaseIterable {
  case npy
  case csv
  case tsv
  /// Values separated by spaces or tabs.
  case text

  /// The format a file name's extension names, if any.
  init?(extensionOf path: String) {
    guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
    switch path[path.index(after: dot)...].lowercased() {
    case "npy": self = .npy
    case "csv": self = .csv
    case "tsv", "tab": self = .tsv
    case "txt", "text", "dat": self = .text
    default: return nil
    }
  }

  /// The separator of a text format (nil for npy).
  var separator: TextSeparator? {
    switch self {
    case .npy: nil
    case .csv: .comma
    case .tsv: .tab
    case .text: .whitespace
    }
  }

  init(_ separator: TextSeparator) {
    switch separator {
    case .comma: self = .csv
    case .tab: self = .tsv
    case .whitespace: self = .text
    }
  }

  static let names = allCases.map(\.rawValue).joined(separator: "|")
}

/// When a 1-D `.npy` input is streamed instead of loaded.
enum StreamMode: String, CaseIterable {
  case auto
  case always
  case never

  /// Data above this size streams under `auto`: the loaded path holds the whole array (in the
  /// compute type) in memory, the streamed one a few chunks.
  static let automaticThreshold = 256 << 20
}

/// `softmax apply`'s arguments, checked and resolved: every usage error that the command line
/// alone shows is found here, before any file is opened (the axis is checked against the shape).
struct ApplyPlan {
  var input: String
  /// The output path, or `-` for standard output.
  var output: String
  /// The input format from `--format` or the extension; nil if neither says (standard input is
  /// then text, its separator sniffed).
  var inputFormat: FileFormat?
  /// The output format; nil for the input's.
  var outputFormat: FileFormat?
  var dtype: ElementType?
  var axis: Int
  var logarithm: Bool
  var algorithm: SoftmaxAlgorithm?
  var temperature: Double
  var threads: Int?
  var fullyMaskedRows: FullyMaskedRows
  var headerLines: Int
  var force: Bool
  var forceProgress: Bool
  var stream: StreamMode
  var chunkElements: Int

  /// The most bytes read from a pipe or device (``ApplyArguments/pipeLimit``).
  var pipeLimit: Int

  /// The default of `--pipe-limit`: input that cannot be read twice is held in memory whole.
  static let defaultPipeLimit = 1 << 30

  init(_ arguments: ApplyArguments) throws(ToolError) {
    input = arguments.input
    let outputPath = try once(arguments.output, "-o/--output")
    output = outputPath ?? "-"
    axis = try once(arguments.axis, "--axis") ?? -1
    logarithm = arguments.log
    headerLines = arguments.header ? 1 : 0
    force = arguments.force
    forceProgress = arguments.progress

    if let name = try once(arguments.format, "--format") {
      guard let format = FileFormat(rawValue: name.lowercased()) else {
        throw .usage("--format: unknown format '\(name)' (known: \(FileFormat.names))")
      }
      inputFormat = format
    } else {
      inputFormat = FileFormat(extensionOf: input)
    }
    if inputFormat == .npy && arguments.header {
      throw .usage("--header applies to text input, not .npy (its header is not a text line)")
    }
    if let name = try once(arguments.outputFormat, "--output-format") {
      guard let format = FileFormat(rawValue: name.lowercased()) else {
        throw .usage("--output-format: unknown format '\(name)' (known: \(FileFormat.names))")
      }
      outputFormat = format
    } else if let outputPath, outputPath != "-" {
      outputFormat = FileFormat(extensionOf: outputPath)
    }
    if let name = try once(arguments.dtype, "--dtype") {
      guard let type = ElementType(rawValue: name.lowercased()) else {
        throw .usage("--dtype: unknown type '\(name)' (known: float16|float32|float64)")
      }
      dtype = type
    }
    if let name = try once(arguments.algorithm, "--algorithm") {
      guard let algorithm = SoftmaxAlgorithm(name: name) else {
        let known = SoftmaxAlgorithm.allCases.map(\.description).joined(separator: "|")
        throw .usage("--algorithm: unknown algorithm '\(name)' (known: \(known))")
      }
      if logarithm {
        throw .usage("--algorithm does not apply to --log (log-softmax has one algorithm)")
      }
      self.algorithm = algorithm
    }
    temperature = 1
    if let text = try once(arguments.temperature, "--temperature") {
      guard let value = Double(text) else {
        throw .usage("--temperature: '\(text)' is not a number")
      }
      guard value.isFinite, value >= 0 else {
        throw .usage(
          "--temperature must be a finite number ≥ 0 (0 means argmax), not \(text)")
      }
      temperature = value
    }
    threads = try once(arguments.threads, "--threads")
    if let threads, threads < 1 {
      throw .usage("--threads must be at least 1, not \(threads)")
    }
    let policy = try once(arguments.maskPolicy, "--mask-policy") ?? "zeros"
    switch policy.lowercased() {
    case "zeros": fullyMaskedRows = .zeros
    case "nan": fullyMaskedRows = .nan
    default:
      throw .usage("--mask-policy: unknown policy '\(policy)' (known: zeros|nan)")
    }
    let mode = try once(arguments.stream, "--stream") ?? "auto"
    guard let stream = StreamMode(rawValue: mode.lowercased()) else {
      throw .usage("--stream: unknown mode '\(mode)' (known: auto|always|never)")
    }
    self.stream = stream
    chunkElements = try once(arguments.chunkElements, "--chunk-elements") ?? 1 << 22
    guard chunkElements >= 1 else {
      throw .usage("--chunk-elements must be at least 1, not \(chunkElements)")
    }
    pipeLimit = Self.defaultPipeLimit
    if let text = try once(arguments.pipeLimit, "--pipe-limit") {
      guard let bytes = Self.byteCount(text), bytes >= 0 else {
        throw .usage(
          "--pipe-limit must be a number of bytes ≥ 0, optionally with K, M or G, not '\(text)'")
      }
      pipeLimit = bytes
    }
  }

  /// `text` as a byte count: digits with an optional K, M or G (powers of 1024); nil if it is
  /// not one or overflows.
  static func byteCount(_ text: String) -> Int? {
    var digits = Substring(text)
    var scale = 1
    if let last = digits.last, let shift = ["k": 10, "m": 20, "g": 30][last.lowercased()] {
      scale = 1 << shift
      digits = digits.dropLast()
    }
    guard let value = Int(digits) else { return nil }
    let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
    return overflow ? nil : bytes
  }

  /// The axis as an index into `shape`.
  ///
  /// - Throws: ``ToolError`` (usage) if it is out of range.
  func resolvedAxis(for shape: [Int]) throws(ToolError) -> Int {
    let rank = max(shape.count, 1)
    guard axis >= -rank, axis < rank else {
      throw .usage(
        "--axis \(axis) is out of range for an array of shape \(NPYHeader.describe(shape)) "
          + "(valid: \(-rank)...\(rank - 1))")
    }
    return axis < 0 ? axis + rank : axis
  }
}

/// The one value of an option that may be given at most once (ArgumentParser collects every
/// occurrence; it would keep only the last).
private func once<Value>(_ values: [Value], _ name: String) throws(ToolError) -> Value? {
  guard values.count <= 1 else {
    let given = values.map { "'\($0)'" }.joined(separator: ", ")
    throw .usage("\(name) may be given once, not \(values.count) times (\(given))")
  }
  return values.first
}
