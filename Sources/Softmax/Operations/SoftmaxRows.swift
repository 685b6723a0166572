internal import SoftmaxKernels
internal import _SoftmaxCKernels

/// Softmax and log-softmax of Float and Double arrays, for the engine: what their rows and
/// columns share. The settings do the masked tail and the argmax limit of every row, and the
/// temperature and policy of every column group; the element type does the rest of a row
/// (`RowElement.row`) and names its strided kernel in the table.
struct SoftmaxRows<Element: RowElement>: AxisOperation {
  let settings: RowSettings
  /// The kernel table: `.selected`, or another one in tests.
  let kernels: PassKernels
  /// Whether the rows are plain (no mask, sink, temperature or policy): they skip the
  /// settings and run the element type's algorithm at once. Decided once per call: a plain
  /// row of 1024 Floats takes about 300 ns, and going through the settings for every row
  /// measured 40-60 ns more (alternating runs, 2026-12-01).
  let isPlain: Bool

  init(settings: RowSettings, kernels: PassKernels = .selected) {
    self.settings = settings
    self.kernels = kernels
    isPlain = settings.isPlain
  }

  func columnGroupWidth(length: Int) -> Int { Element.columnWidth }

  func columns(
    _ x: UnsafePointer<Element>, _ y: UnsafeMutablePointer<Element>, length: Int, stride: Int,
    width: Int
  ) {
    settings.columns(x, y, length: length, stride: stride, width: width) { x, y in
      Element.strided(
        kernels, x, y, length: length, stride: stride, width: width, output: settings.output)
    }
  }

  func row(
    _ x: UnsafePointer<Element>, _ y: UnsafeMutablePointer<Element>, length: Int, index: Int,
    threads: Int
  ) {
    if isPlain {
      return Element.plainRow(
        x, y, count: length, algorithm: settings.algorithm, output: settings.output,
        threads: threads, kernels: kernels)
    }
    let kept = settings.keptPrefix(of: y, length: length, row: index)
    if settings.temperature == 0 {
      return settings.argmax(x, y, kept: kept, length: length, row: index)
    }
    Element.row(self, x, y, kept: kept, length: length, index: index, threads: threads)
  }

  /// Plain rows whose output streams run together (`RowElement.streamedRows`: one scratch for
  /// the task where reload stages its exponentials, one fence); the others one by one.
  func task(_ items: Range<Int>, of work: AxisWork<Self>) {
    let layout = work.layout
    if isPlain && layout.inner == 1
      && Element.streamedRows(
        self, items, x: work.x, y: work.y, length: layout.length,
        arrayStreams: layout.outer * layout.length >= AutoPolicy.arrayStreamingThreshold)
    {
      return
    }
    if gathersColumns(layout) {
      // One scratch of 16 rows for the task, on the stack: the buffer forms allocate nothing.
      let n = layout.length
      withWideStackScratch(of: Float.self, count: 16 * n) { scratch in
        for item in items { gatheredColumns(item, of: work, scratch: scratch) }
      }
      return
    }
    for item in items { work.item(item, operation: self) }
  }

  /// Whether plain Float columns run as rows: gathered 16 at a time into a stack scratch by the
  /// AVX-512 transposes, each computed by the row algorithm, and scattered back. The portable
  /// strided kernel took 1.6-2.1 ns/element on the Zen 5 of 2026-12-02 (BENCHMARKS.md, "Inner
  /// axes"); the rows also give each column the bits of the same values along the last axis.
  /// Columns of 64 to 1024 steps: shorter rows cost more in their calls than the strided
  /// kernel (21 steps: 2.8 against 1.9 ns/element; 64 steps: 1.0 against 2.0); 16 longer ones
  /// would not fit the 64 KiB stack scratch.
  private func gathersColumns(_ layout: AxisLayout) -> Bool {
    Element.self == Float.self && isPlain && layout.inner > 1
      && (64...wideStackScratchBytes / (16 * MemoryLayout<Float>.stride)).contains(layout.length)
      && kernels.isa == .avx512
  }

  /// Column group `item` through `scratch` (16 · length Floats).
  private func gatheredColumns(
    _ item: Int, of work: AxisWork<Self>, scratch: UnsafeMutablePointer<Float>
  ) {
    let n = work.layout.length
    let inner = work.layout.inner
    let (offset, width) = work.columnGroup(item)
    let x = UnsafeRawPointer(work.x + offset).assumingMemoryBound(to: Float.self)
    let y = UnsafeMutableRawPointer(work.y + offset).assumingMemoryBound(to: Float.self)
    softmax_gather_columns(x, inner, width, n, scratch, 1)
    for c in 0..<width {
      Float.plainRow(
        scratch + c * n, scratch + c * n, count: n, algorithm: settings.algorithm,
        output: settings.output, threads: 1, kernels: kernels)
    }
    let stream = work.layout.outer * n * inner >= AutoPolicy.arrayStreamingThreshold
    softmax_scatter_columns(scratch, n, width, y, inner, 1, stream ? 1 : 0)
  }
}

/// An element type with its own row algorithms and strided kernel (Float and Double;
/// Float16 rows are computed as Float rows).
protocol RowElement: BinaryFloatingPoint & Sendable {
  /// Adjacent columns that the strided kernel computes at once (one vector).
  static var columnWidth: Int { get }

  /// `width` ≤ `columnWidth` adjacent columns at T = 1, by the table's strided kernel.
  static func strided(
    _ kernels: PassKernels, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>,
    length: Int, stride: Int, width: Int, output: RowOutput)

  /// The softmax or log-softmax of a whole row of `count` ≥ 0 elements with no options, by
  /// `algorithm` where the type has several.
  static func plainRow(
    _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, count: Int,
    algorithm: SoftmaxAlgorithm, output: RowOutput, threads: Int, kernels: PassKernels)

  /// Row number `index` at T > 0, of which the first `kept` elements count (the rest of its
  /// `length` is written), with the masks, sink and policy of `rows.settings`.
  static func row(
    _ rows: SoftmaxRows<Self>, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>,
    kept: Int, length: Int, index: Int, threads: Int)

  /// The plain softmax or log-softmax (`rows.settings.output`) of rows `items` (each `length`
  /// elements, at `x` and `y` + item · length) on this thread, when the type computes such rows
  /// differently once their output streams (`AutoPolicy.stagesExponentials`,
  /// `streamsComputedRows`, `arrayStreams`); false, having done nothing, otherwise.
  static func streamedRows(
    _ rows: SoftmaxRows<Self>, _ items: Range<Int>, x: UnsafePointer<Self>,
    y: UnsafeMutablePointer<Self>, length: Int, arrayStreams: Bool
  ) -> Bool

  /// The softmax of a whole row of `count` ≥ 2 elements with no options through the selected
  /// kernel set's one-call reload, without touching the kernel table, when `algorithm` takes
  /// Three-Pass reload there and the row is one chunk; false, having written nothing,
  /// otherwise (also for a row whose maximum is not finite).
  static func shortRow(
    _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, count: Int,
    algorithm: SoftmaxAlgorithm
  ) -> Bool
}

extension RowElement {
  static func shortRow(
    _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, count: Int,
    algorithm: SoftmaxAlgorithm
  ) -> Bool { false }
}

/// The one-row entry points of a `RowElement`: no shape, no options, so no settings either.
/// Checks the buffers and the thread count, then runs the type's short row or its plain row.
/// Inlined into the public entry, so that a short row reaches its kernel through the checks'
/// compares and one lazy-global check alone: a row of 16 floats is a few nanoseconds of work.
@inline(__always)
func oneRow<Element: RowElement>(
  _ input: UnsafeBufferPointer<Element>, _ output: UnsafeMutableBufferPointer<Element>,
  algorithm: SoftmaxAlgorithm, logarithm: Bool, threads: Int?, function: StaticString
) {
  checkBuffers(function, input, output)
  checkThreads(threads)
  guard let x = input.baseAddress, let y = output.baseAddress else { return }
  if !logarithm && input.count > 1
    && Element.shortRow(x, y, count: input.count, algorithm: algorithm)
  {
    return
  }
  longRow(x, y, count: input.count, algorithm: algorithm, logarithm: logarithm, threads: threads)
}

/// `oneRow` past the short rows: the thread count, then the type's plain row.
@inline(never)
func longRow<Element: RowElement>(
  _ x: UnsafePointer<Element>, _ y: UnsafeMutablePointer<Element>, count: Int,
  algorithm: SoftmaxAlgorithm, logarithm: Bool, threads: Int?
) {
  Element.plainRow(
    x, y, count: count, algorithm: algorithm,
    output: logarithm ? .logProbabilities : .probabilities,
    threads: AutoPolicy.threads(forCount: count, requested: threads), kernels: .selected)
}
