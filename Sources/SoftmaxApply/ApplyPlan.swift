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

  init(_ arguments: ApplyArguments) throws(ToolError) {
    input = arguments.input
    output = arguments.output ?? "-"
    axis = arguments.axis
    logarithm = arguments.log
    headerLines = arguments.header ? 1 : 0
    force = arguments.force
    forceProgress = arguments.progress

    if let name = arguments.format {
      guard let format = FileFormat(rawValue: name.lowercased()) else {
        throw .usage("--format: unknown format '\(name)' (known: \(FileFormat.names))")
      }
      inputFormat = format
    } else {
      inputFormat = FileFormat(extensionOf: input)
    }
    if let name = arguments.outputFormat {
      guard let format = FileFormat(rawValue: name.lowercased()) else {
        throw .usage("--output-format: unknown format '\(name)' (known: \(FileFormat.names))")
      }
      outputFormat = format
    } else if arguments.output != nil, output != "-" {
      outputFormat = FileFormat(extensionOf: output)
    }
    if let name = arguments.dtype {
      guard let type = ElementType(rawValue: name.lowercased()) else {
        throw .usage("--dtype: unknown type '\(name)' (known: float16|float32|float64)")
      }
      dtype = type
    }
    if let name = arguments.algorithm {
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
    if let text = arguments.temperature {
      guard let value = Double(text) else {
        throw .usage("--temperature: '\(text)' is not a number")
      }
      guard value.isFinite, value >= 0 else {
        throw .usage(
          "--temperature must be a finite number ≥ 0 (0 means argmax), not \(text)")
      }
      temperature = value
    }
    if let threads = arguments.threads, threads < 1 {
      throw .usage("--threads must be at least 1, not \(threads)")
    }
    threads = arguments.threads
    switch arguments.maskPolicy.lowercased() {
    case "zeros": fullyMaskedRows = .zeros
    case "nan": fullyMaskedRows = .nan
    default:
      throw .usage("--mask-policy: unknown policy '\(arguments.maskPolicy)' (known: zeros|nan)")
    }
    guard let mode = StreamMode(rawValue: arguments.stream.lowercased()) else {
      throw .usage("--stream: unknown mode '\(arguments.stream)' (known: auto|always|never)")
    }
    stream = mode
    guard arguments.chunkElements >= 1 else {
      throw .usage("--chunk-elements must be at least 1")
    }
    chunkElements = arguments.chunkElements
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
