// What the Float16 and Double shaped entry points share: their checks (the same, with the same
// messages, as those of the Float entry points in `axisSoftmax`) and a scratch buffer.

/// The checked layout of a shaped call and what its row options need from the shape.
struct ShapedSetup {
  let layout: AxisLayout
  /// Elements between the masks of consecutive rows: 0 for a mask shared by all rows.
  let maskStride: Int
  /// The size of the second-to-last axis, for causal masks.
  let queries: Int
  /// The thread budget, resolved.
  let threads: Int

  /// Traps, naming `function` and the problem, unless the buffers, shape, axis, temperature,
  /// mask and thread count are valid together. `isPlain` says that nothing beyond a plain
  /// softmax is asked for (no mask, sink, temperature or fully-masked-row policy).
  init<Element, Scalar: BinaryFloatingPoint>(
    _ input: UnsafeBufferPointer<Element>, _ output: UnsafeMutableBufferPointer<Element>,
    shape: [Int], axis: Int, threads: Int?, mask: SoftmaxMask, isPlain: Bool,
    temperature: Scalar, function: String
  ) {
    checkBuffers(function, input, output)
    let layout = AxisLayout(shape: shape, axis: axis, count: input.count, function: function)
    guard temperature.isFinite, temperature >= 0 else {
      fatalError("\(function): temperature must be finite and ≥ 0, not \(temperature)")
    }
    var maskStride = 0
    var queries = 1
    if !isPlain {
      guard layout.inner == 1 else {
        fatalError(
          "\(function): masks, sinks, temperatures and fully-masked-row policies apply to the "
            + "last axis")
      }
      if let count = mask.valueCount {
        guard count == layout.length || count == input.count else {
          fatalError(
            "\(function): the mask has \(count) values; it needs one per row element "
              + "(\(layout.length)) or one per array element (\(input.count))")
        }
        maskStride = count == layout.length ? 0 : layout.length
      }
      if case .causal = mask {
        guard shape.count >= 2 else {
          fatalError("\(function): a causal mask needs a shape [..., queries, keys] of rank ≥ 2")
        }
        queries = Swift.max(1, shape[shape.count - 2])
      }
    }
    self.layout = layout
    self.maskStride = maskStride
    self.queries = queries
    self.threads = validatedThreads(threads, count: input.count)
  }

  /// Whether the rows are few and long enough to split each across the threads (as the Float
  /// entry points decide); otherwise rows, or column groups, are spread across the threads.
  var splitsRows: Bool {
    layout.inner == 1
      && (layout.outer == 1
        || layout.length >= AutoPolicy.parallelThreshold && layout.outer < 2 * threads)
  }

  /// Rows per task when rows are spread across the threads: about 8 tasks per thread. The
  /// grouping never changes a row's result, only who computes it.
  func itemsPerTask(_ items: Int) -> Int {
    Swift.max(1, (items + 8 * threads - 1) / (8 * threads))
  }
}

/// 16 KiB on the stack. `withUnsafeTemporaryAllocation` uses the stack only up to 1 KiB on
/// Linux (measured with Swift 6.3), too little for a row.
private struct StackScratch {
  typealias Block = (
    SIMD64<Float>, SIMD64<Float>, SIMD64<Float>, SIMD64<Float>, SIMD64<Float>, SIMD64<Float>,
    SIMD64<Float>, SIMD64<Float>, SIMD64<Float>, SIMD64<Float>, SIMD64<Float>, SIMD64<Float>,
    SIMD64<Float>, SIMD64<Float>, SIMD64<Float>, SIMD64<Float>
  )
  var a: Block
  var b: Block
  var c: Block
  var d: Block

  init() {
    let zero = SIMD64<Float>()
    a = (
      zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero,
      zero
    )
    (b, c, d) = (a, a, a)
  }
}

/// The bytes that `withScratch` provides on the stack.
let stackScratchBytes = MemoryLayout<StackScratch>.size

/// Calls `body` with `count` uninitialized elements of scratch memory: on the stack when they
/// fit in 16 KiB (4096 Floats, 2048 Doubles), otherwise one heap allocation, freed on return.
/// Callers use one scratch for many rows, so a heap allocation is never made per row.
func withScratch<Element, Result>(
  of type: Element.Type, count: Int, _ body: (UnsafeMutablePointer<Element>) -> Result
) -> Result {
  if count * MemoryLayout<Element>.stride <= stackScratchBytes {
    var scratch = StackScratch()
    return withUnsafeMutableBytes(of: &scratch) { raw in
      body(raw.baseAddress!.bindMemory(to: Element.self, capacity: count))
    }
  }
  let heap = UnsafeMutablePointer<Element>.allocate(capacity: count)
  defer { heap.deallocate() }
  return body(heap)
}
