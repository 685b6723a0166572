internal import SoftmaxKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// The passes of the Float row algorithms, one case each, run chunk by chunk by `RowPlan`.

/// One pass over the chunks of a row, as plain data: the worker pool runs it through a C
/// function pointer and a pointer to this value, with no closure and no allocation.
struct ChunkPass: ChunkPassing {
  typealias Element = Float

  enum Kind {
    case maximum, twoPassSum, sumExp, sumAndStoreExp  // write one result per chunk
    case onlineSum  // writes one OnlineSum per chunk
    case maximumAndStoreExp  // one OnlineSum per chunk; e^(x − chunk maximum) into y
    case maximumAndSumExp  // the same OnlineSum, bitwise, without the store
    case twoPassOutput, expScaledOutput  // write the output
    case scale  // y = x · scale: x holds the exponentials (the output itself, or a scratch)
    case scaleChunks  // y = x · e^(chunk maximum − shift) · inverseSum, x as for `scale`
    case logSoftmaxOutput  // y = ((x − shift) − logHigh) − logLow
    case firstPass  // `transform` into y, then the `parts` of pass 1 on each block
    case shiftedFirstPass  // a ChunkFirstPass: the chunk's sum after its own shift
    case shiftedOutput, shiftedLogOutput  // a shifted row's output, from its first pass
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
  /// For the shifted passes (`ShiftedRows.swift`): one shift per chunk (a logit, in Double),
  /// then the total's shift and the rest of log Σ.
  var shifts: UnsafeMutablePointer<Double>? = nil

  /// One result slot per chunk, of the pass's result type (Float, ScaledExpSum, Double,
  /// OnlineSum or ChunkFirstPass). 64 slots of at most 16 bytes stay on the stack.
  var results: UnsafeMutableRawPointer? = nil

  init(_ kind: Kind, shift: Float = 0) {
    self.kind = kind
    self.shift = shift
  }

  func run(_ row: RowPlan<Float>, chunk: Int) {
    // Once per chunk, and a row of a batch is often one chunk: no retain of the table
    // (`RowPlan.table`).
    row.table._withUnsafeGuaranteedRef { run(row, chunk: chunk, kernels: $0) }
  }

  private func run(_ row: RowPlan<Float>, chunk: Int, kernels k: PassKernels) {
    let range = row.chunks.range(chunk)
    let x = row.x + range.lowerBound
    let y = row.y + range.lowerBound
    let n = range.count
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
    case .scale: k.scale(x, y, n, scale, threshold, row.stream)
    case .maximumAndStoreExp:
      if let reloadSum = k.reloadSum {
        // The same maximum and sum, and the spread that spares the scale its compares.
        var (m, spread): (Float, Float) = (0, 0)
        let sum = reloadSum(x, y, n, &m, &spread)
        store(OnlineSum(maximum: m, sum: m.isFinite ? sum : 0, spread: spread), chunk)
      } else {
        let m = k.max(x, n)
        store(OnlineSum(maximum: m, sum: m.isFinite ? k.sumAndStoreExp(x, y, n, m) : 0), chunk)
      }
    case .maximumAndSumExp:
      let m = k.max(x, n)
      store(OnlineSum(maximum: m, sum: m.isFinite ? k.sumExp(x, n, m) : 0), chunk)
    case .scaleChunks:
      let part = results!.assumingMemoryBound(to: OnlineSum.self)[chunk]
      guard part.maximum.isFinite else { return y.update(repeating: 0, count: n) }
      let chunkScale = Float(exp(Double(part.maximum) - Double(shift)) * inverseSum)
      k.scale(
        x, y, n, chunkScale, flushThreshold(inverseSum: chunkScale, spread: part.spread),
        row.stream)
    case .logSoftmaxOutput:
      k.logSoftmaxOutput(x, y, n, shift, logHigh, logLow, row.streamComputedOutput)
    case .firstPass: firstPass(row, range, chunk: chunk)
    case .shiftedFirstPass: shiftedFirstPass(row, range, chunk: chunk)
    case .shiftedOutput, .shiftedLogOutput: shiftedOutput(row, range, chunk: chunk)
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
    case .twoPassOutput, .expScaledOutput, .scale, .scaleChunks, .logSoftmaxOutput,
      .shiftedOutput, .shiftedLogOutput:
      count - 1 - task
    default: task
    }
  }

  /// Whether the pass writes the output with streaming stores, which need a fence after it.
  func streams(_ row: RowPlan<Float>) -> Bool {
    switch kind {
    case .twoPassOutput, .expScaledOutput, .logSoftmaxOutput: row.streamComputedOutput
    case .shiftedOutput, .shiftedLogOutput: row.stream
    case .scale, .scaleChunks: row.stream
    default: false
    }
  }
}
