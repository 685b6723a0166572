// Scratch memory for rows that must be converted or gathered before they are computed.

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

/// 64 KiB on the stack: four `StackScratch`es side by side, for the 16 gathered rows of a
/// column group (`SoftmaxRows`), which the buffer forms must compute without allocating.
private struct WideStackScratch {
  var a = StackScratch()
  var b = StackScratch()
  var c = StackScratch()
  var d = StackScratch()
}

/// The bytes that `withWideStackScratch` provides.
let wideStackScratchBytes = MemoryLayout<WideStackScratch>.size

/// Calls `body` with `count` uninitialized elements on the stack; `count` elements must fit in
/// `wideStackScratchBytes`.
func withWideStackScratch<Element, Result>(
  of type: Element.Type, count: Int, _ body: (UnsafeMutablePointer<Element>) -> Result
) -> Result {
  precondition(
    count * MemoryLayout<Element>.stride <= wideStackScratchBytes,
    "a wide stack scratch holds \(wideStackScratchBytes) bytes")
  var scratch = WideStackScratch()
  return withUnsafeMutableBytes(of: &scratch) { raw in
    body(raw.baseAddress!.bindMemory(to: Element.self, capacity: count))
  }
}

/// Stack scratch for one row at a time, placed for each row at the same offset within a cache
/// line as that row's output where the stack has room (one vector more than the row): the
/// output's streaming stores are then aligned, and so are the loads from the scratch beside
/// them.
struct RowScratch<Element> {
  private let base: UnsafeMutablePointer<Element>
  private let slack: Bool

  /// Calls `body` with scratch for rows of `count` elements, `count` at most what fits on the
  /// stack (`stackScratchBytes`).
  static func with<Result>(count: Int, _ body: (RowScratch) -> Result) -> Result {
    let vector = 64 / MemoryLayout<Element>.stride
    let capacity = Swift.min(count + vector, stackScratchBytes / MemoryLayout<Element>.stride)
    return withScratch(of: Element.self, count: capacity) { base in
      body(RowScratch(base: base, slack: capacity >= count + vector))
    }
  }

  /// The scratch for the row whose output is at `output`.
  func aligned(like output: UnsafeRawPointer) -> UnsafeMutablePointer<Element> {
    guard slack else { return base }
    let lag = (Int(bitPattern: output) - Int(bitPattern: base)) & 63
    return base + lag / MemoryLayout<Element>.stride
  }
}
