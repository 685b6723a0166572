import ArgumentParser

/// The command line of `softmax apply`, as typed; ``ApplyPlan`` checks and resolves it.
///
/// Every option is collected as an array, though each may be given once: ArgumentParser keeps
/// the last of a repeated single-valued option, so `-o a.npy -o b.npy` silently wrote only
/// b.npy. ``ApplyPlan`` refuses a repeated option instead. Options that take numbers parse
/// their value unconditionally, so that `--threads -1` is a negative number to refuse, not a
/// missing value.
public struct ApplyArguments: ParsableArguments {
  public init() {}

  @Argument(
    help: ArgumentHelp(
      "The input: a .npy file, a .csv/.tsv/.txt text file, or - for standard input.",
      valueName: "input"))
  public var input: String

  @Option(
    name: [.short, .customLong("output")],
    help: ArgumentHelp(
      "Where to write the result (- for standard output, the default for text).",
      valueName: "file"))
  public var output: [String] = []

  @Option(
    parsing: .unconditionalSingleValue,
    help: ArgumentHelp(
      "The axis to normalize over; negative counts from the end (default: -1, the last).",
      valueName: "axis"))
  public var axis: [Int] = []

  @Flag(help: "Write log-softmax (x − log Σ e^x) instead of softmax.")
  public var log = false

  @Option(
    help: ArgumentHelp(
      "auto, two-pass, three-pass-recompute, three-pass-reload or online (Float rows only).",
      valueName: "name"))
  public var algorithm: [String] = []

  @Option(
    parsing: .unconditionalSingleValue,
    help: ArgumentHelp(
      "Divide the logits by T > 0; 0 gives the argmax (last axis only).", valueName: "T"))
  public var temperature: [String] = []

  @Option(
    parsing: .unconditionalSingleValue,
    help: ArgumentHelp(
      "The most threads to use, at least 1 (default: decided by the size).", valueName: "n"))
  public var threads: [Int] = []

  @Option(
    name: .customLong("mask-policy"),
    help: ArgumentHelp(
      "What a row of only -inf becomes: zeros (log: -inf; the default) or nan.",
      valueName: "zeros|nan"))
  public var maskPolicy: [String] = []

  @Option(
    help: ArgumentHelp(
      "The input format, instead of guessing from the extension.", valueName: "npy|csv|tsv|text")
  )
  public var format: [String] = []

  @Option(
    name: .customLong("output-format"),
    help: ArgumentHelp("The output format (default: the input's).", valueName: "npy|csv|tsv|text"))
  public var outputFormat: [String] = []

  @Option(
    help: ArgumentHelp(
      "The output element type (default: the input's; float32 for text).",
      valueName: "float16|float32|float64"))
  public var dtype: [String] = []

  @Flag(help: "The first line of a text input is a header; it is copied to a text output.")
  public var header = false

  @Flag(help: "Replace an existing output file, even the input itself.")
  public var force = false

  @Flag(help: "Show a progress bar on standard error even when it is not a terminal.")
  public var progress = false

  @Option(
    help: ArgumentHelp(
      "Stream a 1-D .npy file in chunks (two reads of the file, memory bounded by the chunk "
        + "size): auto (above 256 MiB; the default), always or never.",
      valueName: "auto|always|never"))
  public var stream: [String] = []

  @Option(
    name: .customLong("pipe-limit"),
    parsing: .unconditionalSingleValue,
    help: ArgumentHelp(
      "The most bytes read from standard input, a pipe or a device, which are held in memory "
        + "(.npy: of data); K, M or G for KiB, MiB, GiB (default: 1G).", valueName: "bytes"))
  public var pipeLimit: [String] = []

  @Option(
    name: .customLong("chunk-elements"),
    parsing: .unconditionalSingleValue,
    help: ArgumentHelp("Elements per chunk when streaming.", visibility: .hidden))
  public var chunkElements: [Int] = []
}
