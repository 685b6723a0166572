internal import SoftmaxKernels
internal import _SoftmaxCKernels

// The training operations on the engine: log-sum-exp, the backward passes and the losses read
// one or two arrays of one shape along an axis, may write a third (a gradient), and produce
// one value per row. Each says what it does to one contiguous row of its compute type
// (`TrainingRow`); `TrainingRows` runs it over any layout and element type:
//
//   contiguous rows of the compute type → the row itself, at its place in the arrays;
//   Float16 rows, inner-axis columns, or rows the operation rewrites (a temperature)
//       → staged: copied (widened, gathered) into a scratch of the compute type, computed
//         there, and the output copied back. One scratch per task of the pool, never per row.
//
// Per-row values go to a Double buffer indexed by the row number (rows in the order of the
// shape without the axis), which the API reduces in row order: the results do not depend on
// the thread count.

/// What a training operation does to one contiguous row.
protocol TrainingRow {
  associatedtype Compute: TrainingCompute
  /// Whether the row needs its first input in writable scratch (it rewrites it first).
  var rewritesInput: Bool { get }
  /// Row number `index`: `count` elements of the first input `a`, of the second input `b`
  /// (nil for operations with one input), and of the output `out` (nil when nothing is
  /// written). `out` may be `a` or `b`. When `rewritesInput`, `a` is scratch the row may write.
  func row(
    _ a: UnsafePointer<Compute>, _ b: UnsafePointer<Compute>?,
    _ out: UnsafeMutablePointer<Compute>?,
    count: Int, index: Int, threads: Int)

  /// Rows `indices` of `count` contiguous elements each, on this thread, where `a`, `b` and
  /// `out` point at row `indices.lowerBound` (in the arrays, or in the scratch of gathered
  /// columns): an operation that gains from running consecutive rows together
  /// does it here and returns true, with results bitwise those of `row`. The default
  /// returns false (the rows then run one by one).
  func rows(
    _ a: UnsafePointer<Compute>, _ b: UnsafePointer<Compute>?,
    _ out: UnsafeMutablePointer<Compute>?, count: Int, indices: Range<Int>
  ) -> Bool
}

extension TrainingRow {
  func rows(
    _ a: UnsafePointer<Compute>, _ b: UnsafePointer<Compute>?,
    _ out: UnsafeMutablePointer<Compute>?, count: Int, indices: Range<Int>
  ) -> Bool { false }
}

/// A training operation over the arrays of one call, for the engine: the engine's input is
/// the first array `a`, its output `out` (or `a` when nothing is written).
struct TrainingRows<Element: SoftmaxElement, Row: TrainingRow>: AxisOperation {
  let operation: Row
  let a: UnsafePointer<Element>
  let b: UnsafePointer<Element>?
  let out: UnsafeMutablePointer<Element>?
  let layout: AxisLayout

  typealias Compute = Row.Compute

  /// Whether rows run where they are (no conversion and no rewritten input).
  var direct: Bool { Element.self == Compute.self && !operation.rewritesInput }

  /// How many arrays a staged row copies in or out.
  private var stagedArrays: Int { 1 + (b == nil ? 0 : 1) + (out == nil ? 0 : 1) }

  /// Columns gathered at once: 16 (a line of Floats: each step of the axis reads one line)
  /// while the scratch stays within about 1 MiB per array. 32 or 64 columns at once measured
  /// no faster, the cross-entropy up to twice as slow (2026-12-02).
  func columnGroupWidth(length: Int) -> Int {
    Swift.min(16, Swift.max(1, (1 << 18) / Swift.max(1, length)))
  }

  func row(
    _ x: UnsafePointer<Element>, _ y: UnsafeMutablePointer<Element>, length: Int, index: Int,
    threads: Int
  ) {
    let offset = x - a
    if direct {
      return operation.row(
        rebound(a + offset), b.map { rebound($0 + offset) },
        out.map { reboundMutable($0 + offset) },
        count: length, index: index, threads: threads)
    }
    withScratch(of: Compute.self, count: stagedArrays * length) { scratch in
      stagedRow(offset: offset, length: length, index: index, threads: threads, scratch: scratch)
    }
  }

  func columns(
    _ x: UnsafePointer<Element>, _ y: UnsafeMutablePointer<Element>, length: Int, stride: Int,
    width: Int
  ) {
    withScratch(of: Compute.self, count: stagedArrays * width * length) { scratch in
      stagedColumns(offset: x - a, length: length, width: width, scratch: scratch)
    }
  }

  /// One scratch for all the items of the task.
  func task(_ items: Range<Int>, of work: AxisWork<Self>) {
    let n = work.layout.length
    if work.layout.inner == 1 && direct {
      let start = items.lowerBound * n
      let together = operation.rows(
        rebound(a + start), b.map { rebound($0 + start) }, out.map { reboundMutable($0 + start) },
        count: n, indices: items)
      if !together {
        for item in items { work.item(item, operation: self) }
      }
      return
    }
    let rows = work.layout.inner == 1 ? 1 : work.width
    withScratch(of: Compute.self, count: stagedArrays * rows * n) { scratch in
      for item in items {
        if work.layout.inner == 1 {
          stagedRow(offset: item * n, length: n, index: item, threads: 1, scratch: scratch)
        } else {
          let (offset, width) = work.columnGroup(item)
          stagedColumns(offset: offset, length: n, width: width, scratch: scratch)
        }
      }
    }
  }

  /// The row at `offset` copied into `scratch` (a, then b, then out), computed, copied back.
  private func stagedRow(
    offset: Int, length n: Int, index: Int, threads: Int, scratch: UnsafeMutablePointer<Compute>
  ) {
    let sa = scratch
    let sb = b == nil ? nil : scratch + n
    let so = out == nil ? nil : scratch + (stagedArrays - 1) * n
    convert(a + offset, into: sa, count: n, stride: 1)
    if let b, let sb { convert(b + offset, into: sb, count: n, stride: 1) }
    operation.row(sa, sb.map { UnsafePointer($0) }, so, count: n, index: index, threads: threads)
    if let out, let so { convert(so, into: out + offset, count: n, stride: 1) }
  }

  /// `width` adjacent columns starting at `offset`, gathered together into `width` rows of
  /// the scratch (each step of the axis reads the `width` adjacent values of one line), each
  /// row computed, and the output rows scattered back the same way. One column at a time, the
  /// gathers touched a line (and, for long inner axes, a page) per element: a softmax
  /// backward along axis 0 of 1024×4096 took 22 ns/element, 100 times its contiguous rows.
  private func stagedColumns(
    offset: Int, length n: Int, width: Int, scratch: UnsafeMutablePointer<Compute>
  ) {
    let inner = layout.inner
    let span = width * n
    let sa = scratch
    let sb = b == nil ? nil : scratch + span
    let so = out == nil ? nil : scratch + (stagedArrays - 1) * span
    // The row number of column c: columns of one outer block are consecutive rows.
    let block = offset / (n * inner)
    let first = block * inner + (offset - block * n * inner)
    gatherColumns(a + offset, into: sa, width: width, length: n, stride: inner)
    if let b, let sb { gatherColumns(b + offset, into: sb, width: width, length: n, stride: inner) }
    // Consecutive rows of the scratch: together where the operation gains from it.
    if !operation.rows(
      sa, sb.map { UnsafePointer($0) }, so, count: n, indices: first..<first + width)
    {
      for c in 0..<width {
        operation.row(
          sa + c * n, sb.map { UnsafePointer($0 + c * n) }, so.map { $0 + c * n }, count: n,
          index: first + c, threads: 1)
      }
    }
    if let out, let so {
      // Outputs of arrays beyond the caches skip their reads for ownership.
      let stream = layout.outer * n * inner >= AutoPolicy.arrayStreamingThreshold
      scatterColumns(so, into: out + offset, width: width, length: n, stride: inner, stream: stream)
    }
  }

  private func rebound(_ p: UnsafePointer<Element>) -> UnsafePointer<Compute> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Compute.self)
  }

  private func reboundMutable(_ p: UnsafeMutablePointer<Element>) -> UnsafeMutablePointer<Compute> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Compute.self)
  }
}

/// Copies `count` values `stride` apart from `x` into consecutive `y`, converting.
private func convert<Element: SoftmaxElement, Compute: TrainingCompute>(
  _ x: UnsafePointer<Element>, into y: UnsafeMutablePointer<Compute>, count: Int, stride: Int
) {
  #if !(os(macOS) && arch(x86_64))
    if stride == 1 && Element.self == Float16.self && Compute.self == Float.self {
      return HalfConversion.widen(
        UnsafeRawPointer(x).assumingMemoryBound(to: Float16.self),
        into: UnsafeMutableBufferPointer(
          start: UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self), count: count))
    }
  #endif
  for i in 0..<count { y[i] = Compute(x[i * stride]) }
}

/// Copies `count` consecutive values from `x` to `y`, `stride` apart, converting (rounding
/// once to the storage type).
private func convert<Element: SoftmaxElement, Compute: TrainingCompute>(
  _ x: UnsafeMutablePointer<Compute>, into y: UnsafeMutablePointer<Element>, count: Int,
  stride: Int
) {
  #if !(os(macOS) && arch(x86_64))
    if stride == 1 && Element.self == Float16.self && Compute.self == Float.self {
      return HalfConversion.narrow(
        UnsafeBufferPointer(
          start: UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), count: count),
        into: UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float16.self))
    }
  #endif
  for i in 0..<count { y[i * stride] = Element(x[i]) }
}

/// Gathers `width` adjacent columns of `length` steps `stride` apart from `x` into `width`
/// consecutive rows of `y` (row c holds column c), converting.
private func gatherColumns<Element: SoftmaxElement, Compute: TrainingCompute>(
  _ x: UnsafePointer<Element>, into y: UnsafeMutablePointer<Compute>, width: Int, length n: Int,
  stride: Int
) {
  if Element.self == Float.self && Compute.self == Float.self {
    return softmax_gather_columns(
      UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), stride, width, n,
      UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self),
      PassKernels.selected.isa == .avx512 ? 1 : 0)
  }
  for step in 0..<n {
    let line = x + step * stride
    for c in 0..<width { y[c * n + step] = Compute(line[c]) }
  }
}

/// Scatters `width` consecutive rows of `length` from `x` into adjacent columns of `y`,
/// `stride` apart, converting (rounding once to the storage type); Float lines stream when
/// `stream` allows (see `softmax_scatter_columns`).
private func scatterColumns<Element: SoftmaxElement, Compute: TrainingCompute>(
  _ x: UnsafeMutablePointer<Compute>, into y: UnsafeMutablePointer<Element>, width: Int,
  length n: Int, stride: Int, stream: Bool
) {
  if Element.self == Float.self && Compute.self == Float.self {
    return softmax_scatter_columns(
      UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), n, width,
      UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self), stride,
      PassKernels.selected.isa == .avx512 ? 1 : 0, stream ? 1 : 0)
  }
  for step in 0..<n {
    let line = y + step * stride
    for c in 0..<width { line[c] = Element(x[c * n + step]) }
  }
}
