internal import SoftmaxKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// The Float rows' scheduler: a row cut into chunks by its length alone, each pass a
// `ChunkPass` run over the chunks on the worker pool, per-chunk results merged in chunk order.

/// One pass over the chunks of a row, as plain data: the worker pool runs it through a C
/// function pointer and a pointer to this value, with no closure and no allocation.
struct ChunkPass {
  enum Kind {
    case maximum, twoPassSum, sumExp, sumAndStoreExp  // write one result per chunk
    case onlineSum  // writes one OnlineSum per chunk
    case maximumAndStoreExp  // one OnlineSum per chunk; e^(x − chunk maximum) into y
    case twoPassOutput, expScaledOutput, scaleInPlace  // write the output
    case scaleChunks  // y ·= e^(chunk maximum − shift) · inverseSum, from maximumAndStoreExp
    case logSoftmaxOutput  // y = ((x − shift) − logHigh) − logLow
    case firstPass  // `transform` into y, then the `parts` of pass 1 on each block
  }

  var kind: Kind
  var shift: Float = 0
  var scale: Float = 0
  var threshold: Float = 0
  var inverseMantissa: Float = 0
  var exponentBias: Float = 0
  var logHigh: Float = 0
  var logLow: Float = 0
  /// For `.scaleChunks`: 1 / S, in Double so that the chunk scale rounds once.
  var inverseSum: Double = 0
  /// For `.firstPass`: the effective logits it writes, and what it computes from them.
  var transform = LogitTransform()
  var parts: FirstPassParts = []
  /// One result slot per chunk, of the pass's result type (Float, ScaledExpSum, Double,
  /// OnlineSum or ChunkFirstPass). 64 slots of at most 16 bytes stay on the stack.
  var results: UnsafeMutableRawPointer? = nil

  init(_ kind: Kind, shift: Float = 0) {
    self.kind = kind
    self.shift = shift
  }

  func run(_ row: RowPlan, chunk: Int) {
    let range = row.chunks.range(chunk)
    let x = row.x + range.lowerBound
    let y = row.y + range.lowerBound
    let n = range.count
    let k = row.kernels
    switch kind {
    case .maximum: store(k.max(x, n), chunk)
    case .twoPassSum: store(k.twoPassSum(x, n), chunk)
    case .sumExp: store(k.sumExp(x, n, shift), chunk)
    case .sumAndStoreExp: store(k.sumAndStoreExp(x, y, n, shift), chunk)
    case .onlineSum: store(k.onlineSum(x, n), chunk)
    case .twoPassOutput:
      k.twoPassOutput(x, y, n, inverseMantissa, exponentBias, row.streamComputedOutput)
    case .expScaledOutput:
      k.expScaledOutput(x, y, n, shift, scale, threshold, row.streamComputedOutput)
    case .scaleInPlace: k.scaleInPlace(y, n, scale, threshold, row.stream)
    case .maximumAndStoreExp:
      let m = k.max(x, n)
      store(OnlineSum(maximum: m, sum: m.isFinite ? k.sumAndStoreExp(x, y, n, m) : 0), chunk)
    case .scaleChunks:
      let part = results!.assumingMemoryBound(to: OnlineSum.self)[chunk]
      guard part.maximum.isFinite else { return y.update(repeating: 0, count: n) }
      let chunkScale = Float(exp(Double(part.maximum) - Double(shift)) * inverseSum)
      k.scaleInPlace(y, n, chunkScale, flushThreshold(inverseSum: chunkScale), row.stream)
    case .logSoftmaxOutput:
      logSoftmaxOutput_simd16(x, y, count: n, shift: shift, high: logHigh, low: logLow)
    case .firstPass: firstPass(row, range, chunk: chunk)
    }
  }

  /// The chunk that the pass's `task`-th call works on. Output passes run the chunks last to
  /// first: the pass before them went first to last, so the row's last chunks are the ones
  /// still in the caches: Two-Pass reads the last ~LLC bytes of its input a second time from
  /// L3, about 10% faster from 2^23 to 2^25 elements (one thread, alternating runs of
  /// `softmax bench`, 2026-11-29), within the noise from 2^26. Each chunk's result does not
  /// depend on the order.
  func chunk(forTask task: Int, of count: Int) -> Int {
    switch kind {
    case .twoPassOutput, .expScaledOutput, .scaleInPlace, .scaleChunks, .logSoftmaxOutput:
      count - 1 - task
    default: task
    }
  }

  /// Whether the pass writes the output with streaming stores, which need a fence after it.
  func streams(_ row: RowPlan) -> Bool {
    switch kind {
    case .twoPassOutput, .expScaledOutput: row.streamComputedOutput
    case .scaleInPlace, .scaleChunks: row.stream
    default: false
    }
  }

  func store<T>(_ value: T, _ chunk: Int) {
    (results!.assumingMemoryBound(to: T.self) + chunk).initialize(to: value)
  }
}

/// One row's execution: its buffers, the kernel table, the chunk cut and the thread budget.
struct RowPlan {
  let x: UnsafePointer<Float>
  let y: UnsafeMutablePointer<Float>
  let count: Int
  let threads: Int
  let kernels: PassKernels
  let chunks: RowChunks
  /// Whether the output passes that rescale stored exponentials use non-temporal stores.
  let stream: Bool
  /// Whether the output passes that compute from the input use non-temporal stores.
  let streamComputedOutput: Bool

  init(
    x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int, threads: Int,
    kernels: PassKernels
  ) {
    self.x = x
    self.y = y
    self.count = count
    self.threads = threads
    self.kernels = kernels
    chunks = RowChunks(rowLength: count)
    stream = count >= AutoPolicy.streamingThreshold
    streamComputedOutput = stream || count >= AutoPolicy.computedOutputStreamingThreshold
  }

  /// Runs `pass` on every chunk, in parallel when the thread budget allows.
  func perform(_ pass: ChunkPass) {
    if chunks.count == 1 || threads == 1 {
      for task in 0..<chunks.count {
        pass.run(self, chunk: pass.chunk(forTask: task, of: chunks.count))
      }
      if pass.streams(self) { kernels.storeFence() }
      return
    }
    WorkerPool.shared.perform(
      ChunkJob(row: self, pass: pass), tasks: chunks.count, threads: threads)
  }

  /// The per-chunk results of `pass`, merged in chunk order (so the result does not depend on
  /// the thread count). They live on the stack.
  func reduce<T>(_ pass: ChunkPass, as type: T.Type, merge: (T, T) -> T) -> T {
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

/// One pass of a Float row over its chunks, for the worker pool.
private struct ChunkJob: PoolJob {
  let row: RowPlan
  let pass: ChunkPass

  func run(task: Int) {
    pass.run(row, chunk: pass.chunk(forTask: task, of: row.chunks.count))
    // Before the pool reports the task done to the thread that reads the output.
    if pass.streams(row) { row.kernels.storeFence() }
  }
}
