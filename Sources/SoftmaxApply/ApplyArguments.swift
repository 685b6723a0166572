import ArgumentParser

/// The command line of `softmax apply`, as typed; ``ApplyPlan`` checks and resolves it.
public struct ApplyArguments: ParsableArguments {
  public init() {}

  @Argument(
    help: ArgumentHelp(
      "The input: a .npy file, a .csv/.tsv/.txt text file, or - for text on standard input.",
      valueName: "input"))
  public var input: String

  @Option(
    name: [.short, .customLong("output")],
    help: ArgumentHelp(
      "Where to write the result (- for standard output, the default for text).",
      valueName: "file"))
  public var output: String?

  @Option(
    parsing: .unconditional,
    help: "The axis to normalize over; negative counts from the end (-1 is the last).")
  public var axis: Int = -1

  @Flag(help: "Write log-softmax (x − log Σ e^x) instead of softmax.")
  public var log = false

  @Option(
    help: ArgumentHelp(
      "auto, two-pass, three-pass-recompute, three-pass-reload or online (Float rows only).",
      valueName: "name"))
  public var algorithm: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "Divide the logits by T > 0; 0 gives the argmax (last axis only).", valueName: "T"))
  public var temperature: String?

  @Option(help: "The most threads to use (default: decided by the size).")
  public var threads: Int?

  @Option(
    name: .customLong("mask-policy"),
    help: ArgumentHelp(
      "What a row of only -inf becomes: zeros (log: -inf) or nan.", valueName: "zeros|nan"))
  public var maskPolicy: String = "zeros"

  @Option(
    help: ArgumentHelp(
      "The input format, instead of guessing from the extension.", valueName: "npy|csv|tsv|text")
  )
  public var format: String?

  @Option(
    name: .customLong("output-format"),
    help: ArgumentHelp("The output format (default: the input's).", valueName: "npy|csv|tsv|text"))
  public var outputFormat: String?

  @Option(
    help: ArgumentHelp(
      "The output element type (default: the input's; float32 for text).",
      valueName: "float16|float32|float64"))
  public var dtype: String?

  @Flag(help: "The first line of a text input is a header; it is copied to a text output.")
  public var header = false

  @Flag(help: "Replace an existing output file, even the input itself.")
  public var force = false

  @Flag(help: "Show a progress bar on standard error even when it is not a terminal.")
  public var progress = false

  @Option(
    help: ArgumentHelp(
      "Stream a 1-D .npy in chunks (two reads of the file, memory bounded by the chunk size): "
        + "auto (above 256 MiB), always or never.", valueName: "auto|always|never"))
  public var stream: String = "auto"

  @Option(
    name: .customLong("chunk-elements"),
    help: ArgumentHelp("Elements per chunk when streaming.", visibility: .hidden))
  public var chunkElements: Int = 1 << 22
}
