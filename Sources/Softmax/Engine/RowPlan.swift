internal import SoftmaxKernels

// A row's scheduler, for every element type: the row cut into chunks by its length alone
// (`RowChunks`), each pass a `ChunkPassing` value run over the chunks on the worker pool, and
// per-chunk results merged in chunk order, so a row's result is bitwise the same for every
// thread count.

/// One pass over the chunks of a row, as plain data: the worker pool runs it through a C
/// function pointer and a pointer to it, with no closure and no allocation.
protocol ChunkPassing {
  associatedtype Element
  /// One result slot per chunk, of the pass's result type, for `RowPlan.reduce`.
  var results: UnsafeMutableRawPointer? { get set }
  /// Runs the pass on chunk number `chunk`.
  func run(_ row: RowPlan<Element>, chunk: Int)
  /// The chunk that the pass's `task`-th call works on (in order unless the pass says).
  func chunk(forTask task: Int, of count: Int) -> Int
  /// Whether the pass writes with streaming stores, which need a fence after it.
  func streams(_ row: RowPlan<Element>) -> Bool
}

extension ChunkPassing {
  func chunk(forTask task: Int, of count: Int) -> Int { task }

  func streams(_ row: RowPlan<Element>) -> Bool { false }

  /// Stores chunk `chunk`'s result.
  func store<T>(_ value: T, _ chunk: Int) {
    (results!.assumingMemoryBound(to: T.self) + chunk).initialize(to: value)
  }
}

/// One row's execution: its buffers, the kernel table, the chunk cut and the thread budget.
/// `y` is `x` or does not overlap it.
struct RowPlan<Element> {
  var x: UnsafePointer<Element>
  let y: UnsafeMutablePointer<Element>
  let threads: Int
  /// The kernel table, not retained: a plan lives within one call, whose caller holds the
  /// table (the selected tables live as long as the process). With a strong reference, every
  /// copy of a plan that the optimizer left to the generic value witnesses was a retain and a
  /// release, atomic instructions that wait for the row's streaming stores: after an
  /// unrelated change, the staged softmax rows of 4096×1024 took 0.41 ns/element instead of
  /// 0.22. Hot paths call through `table._withUnsafeGuaranteedRef`, which retains nothing.
  let table: Unmanaged<PassKernels>
  let chunks: RowChunks
  /// Whether every output pass streams, whatever the row length: set where the output is
  /// written once from a scratch and the whole array is beyond the caches.
  var streamAlways = false

  init(
    x: UnsafePointer<Element>, y: UnsafeMutablePointer<Element>, count: Int, threads: Int,
    kernels: PassKernels = .selected
  ) {
    self.x = x
    self.y = y
    self.threads = threads
    table = .passUnretained(kernels)
    chunks = RowChunks(rowLength: count)
  }

  /// The kernel table.
  var kernels: PassKernels { table.takeUnretainedValue() }

  var count: Int { chunks.total }

  /// Whether the output passes that rescale stored exponentials use non-temporal stores.
  var stream: Bool { streamAlways || count >= AutoPolicy.streamingThreshold }

  /// The same row with its passes reading `source` (of the row's length) instead of `x`.
  func reading(_ source: UnsafePointer<Element>) -> RowPlan {
    var row = self
    row.x = source
    return row
  }

  /// Whether the output passes that compute from the input use non-temporal stores.
  var streamComputedOutput: Bool {
    stream || count >= AutoPolicy.computedOutputStreamingThreshold
  }

  /// Runs `pass` on every chunk, in parallel when the thread budget allows; a streaming pass
  /// fences once on one thread (unless `fence` is false: the caller fences for many rows), or
  /// after each task on the pool.
  func perform<Pass: ChunkPassing>(_ pass: Pass, fence: Bool = true) where Pass.Element == Element {
    if chunks.count == 1 || threads == 1 {
      for task in 0..<chunks.count {
        pass.run(self, chunk: pass.chunk(forTask: task, of: chunks.count))
      }
      if fence && pass.streams(self) { table._withUnsafeGuaranteedRef { $0.storeFence() } }
      return
    }
    WorkerPool.shared.perform(
      ChunkJob(row: self, pass: pass), tasks: chunks.count, threads: threads)
  }

  /// The per-chunk results of `pass`, merged in chunk order (so the result does not depend on
  /// the thread count). They live on the stack.
  func reduce<Pass: ChunkPassing, T>(_ pass: Pass, as type: T.Type, merge: (T, T) -> T) -> T
  where Pass.Element == Element {
    withUnsafeTemporaryAllocation(of: T.self, capacity: chunks.count) { results in
      let base = results.baseAddress!
      var pass = pass
      pass.results = UnsafeMutableRawPointer(base)
      perform(pass)
      var total = base.move()
      for index in 1..<Swift.max(1, chunks.count) { total = merge(total, (base + index).move()) }
      return total
    }
  }
}

/// One pass of a row over its chunks, for the worker pool.
private struct ChunkJob<Pass: ChunkPassing>: PoolJob {
  let row: RowPlan<Pass.Element>
  let pass: Pass

  func run(task: Int) {
    pass.run(row, chunk: pass.chunk(forTask: task, of: row.chunks.count))
    // Before the pool reports the task done to the thread that reads the output.
    if pass.streams(row) { row.table._withUnsafeGuaranteedRef { $0.storeFence() } }
  }
}
