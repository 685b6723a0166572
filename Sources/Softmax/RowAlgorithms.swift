package import SoftmaxKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// Each algorithm as a sequence of passes over one contiguous row of count ≥ 1 elements, each
// pass run chunk by chunk on the worker pool. `y` is either `x` or does not overlap it.

package enum RowAlgorithms {
  /// Three-Pass reload rescales rows of at least this many elements in place with
  /// non-temporal stores, which skip the caches and the read for ownership: once input and
  /// output together exceed the last-level cache, the output would be evicted before the
  /// caller reads it anyway. Below, its exponentials are still in the caches and ordinary
  /// stores win. Measured with `softmax bench` (cold outputs, one thread, 32 MiB LLC,
  /// 2026-11-29): streaming from 2^20 instead of never made reload 19% and 17% slower at 2^20
  /// and 2^21 but 6% faster at 2^22; from 2^17, 16–31% slower at 2^17–2^20 (after the output
  /// passes went last chunk first). So the cut is where input + output = LLC (2^22).
  package static var streamingThreshold: Int {
    CacheInfo.lastLevelBytes / (2 * MemoryLayout<Float>.size)
  }

  /// Output passes that compute each output from the input (Two-Pass pass 2, the last pass of
  /// Three-Pass recompute and of online) stream rows of at least this many elements: the
  /// output is written once, so skipping the read for ownership saves a trip to memory for a
  /// cold output, and leaves the input in the caches for the next pass. Measured with
  /// `softmax bench`, one thread, three or four runs alternating with the 2^22 cut
  /// (2026-11-29): Two-Pass and Three-Pass recompute 13–21% faster with cold outputs from 2^15
  /// to 2^20, and no slower with hot ones (measured to 2^18); at 2^12–2^14 10–17% faster cold
  /// but 3–8% slower hot; at 2^10–2^11 7–42% slower either way. 2^15 floats is 128 KiB.
  package static let computedOutputStreamingThreshold = 1 << 15

  /// Runs `algorithm` on the row; `.auto` is resolved here. `threads` ≥ 1 is an upper bound.
  package static func run(
    _ algorithm: SoftmaxAlgorithm, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    count: Int, threads: Int = 1, kernels: PassKernels = .selected
  ) {
    let row = RowPlan(x: x, y: y, count: count, threads: threads, kernels: kernels)
    switch algorithm.resolved(forCount: count) {
    case .auto, .twoPass: twoPass(row)
    case .threePassRecompute: threePassRecompute(row)
    case .threePassReload: threePassReload(row)
    case .online: online(row)
    }
  }

  static func twoPass(_ row: RowPlan) {
    twoPass(
      row, sum: row.reduce(ChunkPass(.twoPassSum), as: ScaledExpSum.self) { $0.merged(with: $1) })
  }

  /// Two-Pass after pass 1 gave `sum`.
  static func twoPass(_ row: RowPlan, sum: ScaledExpSum) {
    // A NaN input, or one the pair representation clamped: subtract the maximum instead.
    guard sum.isExact else {
      return threePassRecompute(row)
    }
    var output = ChunkPass(.twoPassOutput)
    (output.inverseMantissa, output.exponentBias) = sum.outputParameters
    row.perform(output)
  }

  static func threePassRecompute(_ row: RowPlan) {
    threePassRecompute(row, maximum: maximum(row))
  }

  /// Three-Pass recompute after pass 1 gave the row's `maximum`.
  static func threePassRecompute(_ row: RowPlan, maximum max: Float) {
    guard finite(max, row) else { return }
    let sum = row.reduce(ChunkPass(.sumExp, shift: max), as: Double.self, merge: +)
    guard !sum.isNaN else { return row.y.update(repeating: .nan, count: row.count) }
    var output = ChunkPass(.expScaledOutput, shift: max)
    output.scale = Float(1 / sum)
    output.threshold = flushThreshold(inverseSum: output.scale)
    row.perform(output)
  }

  /// Three-Pass reload, chunk by chunk: each chunk's maximum m_c, then its e^(x − m_c) stored
  /// into y and summed while the chunk is still in L2 (a chunk is at most 256 KiB of input), so
  /// the input is read from memory once, not twice as when the row's maximum comes first; then
  /// y_c · e^(m_c − M) / S with M the row maximum and S = Σ_c s_c · e^(m_c − M) (Double, in
  /// chunk order). A row of one chunk is the classic method. Chunks whose maximum is not finite
  /// are skipped by the first pass, so their input is intact (even in place) for the
  /// non-finite contract. Measured against the row-maximum-first order (`softmax bench`, one
  /// thread, cold outputs, 2026-11-29): 6% and 5% faster at 2^19 and 2^20 in one A/B of 5 runs
  /// each, 1% and 3% in another of 4; within 3% at 2^16–2^18 and 2^21 in both.
  static func threePassReload(_ row: RowPlan) {
    withUnsafeTemporaryAllocation(of: OnlineSum.self, capacity: row.chunks.count) { parts in
      var first = ChunkPass(.maximumAndStoreExp)
      first.results = UnsafeMutableRawPointer(parts.baseAddress!)
      row.perform(first)
      var maximum = -Float.infinity
      var finiteParts = true
      for part in parts {
        if part.maximum.isFinite && !part.sum.isNaN {
          maximum = Swift.max(maximum, part.maximum)
        } else if part.maximum != -.infinity || part.sum.isNaN {
          finiteParts = false
        }
      }
      guard finiteParts, maximum > -.infinity else {
        return nonFiniteChunks(row, parts)
      }
      var sum = 0.0
      for part in parts where part.maximum.isFinite {
        sum += rescaledSum(part.sum, from: part.maximum, to: maximum)
      }
      var output = ChunkPass(.scaleChunks, shift: maximum)
      output.inverseSum = 1 / sum
      output.results = UnsafeMutableRawPointer(parts.baseAddress!)
      row.perform(output)
    }
  }

  /// The non-finite contract after the chunked first pass of Three-Pass reload: finite chunks
  /// hold exponentials in y (their input may be gone), the others are untouched.
  private static func nonFiniteChunks(
    _ row: RowPlan, _ parts: UnsafeMutableBufferPointer<OnlineSum>
  ) {
    var infinities = 0
    for (chunk, part) in parts.enumerated() {
      if part.sum.isNaN || part.maximum.isNaN {
        return row.y.update(repeating: .nan, count: row.count)
      }
      guard !part.maximum.isFinite else { continue }
      for i in row.chunks.range(chunk) {
        if row.x[i].isNaN { return row.y.update(repeating: .nan, count: row.count) }
        if row.x[i] == .infinity { infinities += 1 }
      }
    }
    let share = infinities > 0 ? 1 / Float(infinities) : 0
    for (chunk, part) in parts.enumerated() {
      for i in row.chunks.range(chunk) {
        row.y[i] = !part.maximum.isFinite && row.x[i] == .infinity ? share : 0
      }
    }
  }

  /// Three-Pass reload after pass 1 gave the row's `maximum`.
  static func threePassReload(_ row: RowPlan, maximum max: Float) {
    guard finite(max, row) else { return }
    let sum = row.reduce(ChunkPass(.sumAndStoreExp, shift: max), as: Double.self, merge: +)
    guard !sum.isNaN else { return row.y.update(repeating: .nan, count: row.count) }
    var output = ChunkPass(.scaleInPlace)
    output.scale = Float(1 / sum)
    output.threshold = flushThreshold(inverseSum: output.scale)
    row.perform(output)
  }

  /// Online softmax: pass 1 gives each chunk's maximum and Σ e^(x − maximum) in one read, merged
  /// in chunk order by rescaling to the larger maximum in Double; pass 2 is Three-Pass
  /// recompute's output pass.
  static func online(_ row: RowPlan) {
    online(
      row, total: row.reduce(ChunkPass(.onlineSum), as: OnlineSum.self) { $0.merged(with: $1) })
  }

  /// The online softmax after pass 1 gave `total`.
  static func online(_ row: RowPlan, total: OnlineSum) {
    // +inf, or only −inf: the non-finite contract (it also handles NaN in such rows).
    guard total.maximum.isFinite else {
      return nonFiniteRowSoftmax(row.x, row.y, count: row.count)
    }
    guard !total.sum.isNaN else { return row.y.update(repeating: .nan, count: row.count) }
    var output = ChunkPass(.expScaledOutput, shift: total.maximum)
    output.scale = Float(1 / total.sum)
    output.threshold = flushThreshold(inverseSum: output.scale)
    row.perform(output)
  }

  /// The row maximum, merged so that a NaN chunk maximum reaches the caller's finiteness check.
  private static func maximum(_ row: RowPlan) -> Float {
    row.reduce(ChunkPass(.maximum), as: Float.self, merge: maximumKeepingNaN)
  }

  /// Whether `max` is finite; otherwise writes the non-finite contract's result.
  private static func finite(_ max: Float, _ row: RowPlan) -> Bool {
    guard max.isFinite else {
      nonFiniteRowSoftmax(row.x, row.y, count: row.count)
      return false
    }
    return true
  }
}

/// The larger of two maximums, NaN when either is NaN.
func maximumKeepingNaN(_ a: Float, _ b: Float) -> Float {
  a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
}

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
    stream = count >= RowAlgorithms.streamingThreshold
    streamComputedOutput = stream || count >= RowAlgorithms.computedOutputStreamingThreshold
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
    var job = (row: self, pass: pass)
    withUnsafeMutablePointer(to: &job) { pointer in
      WorkerPool.shared.run(tasks: chunks.count, threads: threads, context: pointer) {
        context, task in
        let job = context.assumingMemoryBound(to: (row: RowPlan, pass: ChunkPass).self)
        let chunk = job.pointee.pass.chunk(forTask: task, of: job.pointee.row.chunks.count)
        job.pointee.pass.run(job.pointee.row, chunk: chunk)
        // Before the pool reports the task done to the thread that reads the output.
        if job.pointee.pass.streams(job.pointee.row) { job.pointee.row.kernels.storeFence() }
      }
    }
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
