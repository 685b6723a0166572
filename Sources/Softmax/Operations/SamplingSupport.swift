// What sampling does around the selection: penalties over a history, greedy decoding, rows
// of other element types as Float, and batches of rows over the worker pool.

internal import SoftmaxKernels

extension TokenSelection {
  /// The first index of the largest logit (+inf included); nil when no logit is finite or
  /// +inf (all −inf or NaN): the greedy distribution's one token, or none.
  func largest() -> Int? {
    let m = maximum()
    if m == -.infinity { return nil }
    return firstIndex(of: m)
  }

  /// The greedy draw: the first index of the largest logit, else, like every draw from an
  /// empty selection, the first non-NaN index (0 for an all-NaN row).
  func greedy() -> Int {
    largest() ?? firstNonNaN()
  }
}

/// Applies the repetition, frequency and presence penalties of `options` to the row for every
/// distinct token of `history`, counting repeats.
func applyPenalties(
  _ options: SamplingOptions, _ history: [Int], to row: UnsafeMutablePointer<Float>
) {
  // Sorting a copy counts repeats without a dictionary; histories are short.
  for (token, occurrences) in tokenCounts(history) {
    var value = row[token]
    if options.repetitionPenalty != 1 {
      value = value > 0 ? value / options.repetitionPenalty : value * options.repetitionPenalty
    }
    value -= Float(occurrences) * options.frequencyPenalty + options.presencePenalty
    row[token] = value
  }
}

/// Each distinct token of a history with its count, in increasing token order.
func tokenCounts(_ history: [Int]) -> [(Int, Int)] {
  var result: [(Int, Int)] = []
  for token in history.sorted() {
    if let last = result.last, last.0 == token {
      result[result.count - 1].1 += 1
    } else {
      result.append((token, 1))
    }
  }
  return result
}

/// The row as Float: itself for Float; Float16 widened; Double rounded to Float, and first
/// shifted by its largest finite value only when some finite value lies beyond Float's range
/// (so that penalties see the caller's logits whenever Float can hold them), into the
/// scratch's row region.
func floatRow<Element: SoftmaxElement>(
  _ x: UnsafeBufferPointer<Element>, _ scratch: SelectionScratch
) -> UnsafeBufferPointer<Float> {
  if Element.self == Float.self {
    return UnsafeRawBufferPointer(x).bindMemory(to: Float.self)
  }
  let n = x.count
  let row = scratch.floats(SelectionScratch.row, Swift.max(n, 1))
  if Element.self == Double.self {
    let source = UnsafeRawBufferPointer(x).bindMemory(to: Double.self)
    var largest = -Double.infinity
    var widest = 0.0
    for v in source where v.isFinite {
      largest = Swift.max(largest, v)
      widest = Swift.max(widest, abs(v))
    }
    let shift = widest > Double(Float.greatestFiniteMagnitude) ? largest : 0
    for i in 0..<n { row[i] = Float(source[i] - shift) }
    return UnsafeBufferPointer(start: row, count: n)
  }
  #if !(os(macOS) && arch(x86_64))
    if Element.self == Float16.self, let base = x.baseAddress {
      HalfConversion.widen(
        UnsafeRawPointer(base).assumingMemoryBound(to: Float16.self),
        into: UnsafeMutableBufferPointer(start: row, count: n))
      return UnsafeBufferPointer(start: row, count: n)
    }
  #endif
  fatalError("sampleToken: logits of type \(Element.self) are not supported")
}

/// Samples rows of `vocabulary` logits, row r with the uniform draw from draws[r], on up to
/// `threads` threads, each with a sampler of its own.
func sampleRows(
  _ x: UnsafeBufferPointer<Float>, vocabulary: Int, options: SamplingOptions,
  draws: UnsafeBufferPointer<UInt64>, into tokens: UnsafeMutableBufferPointer<Int>, threads: Int
) {
  checkSampling(options, count: vocabulary, history: [], function: "sampleTokens")
  let rows = draws.count
  let tasks = Swift.max(1, Swift.min(threads, rows))
  let job = SamplingJob(
    x: x.baseAddress!, vocabulary: vocabulary, options: options, draws: draws.baseAddress!,
    tokens: tokens.baseAddress!, rows: rows, tasks: tasks)
  WorkerPool.shared.perform(job, tasks: tasks, threads: tasks)
}

/// A batch's rows cut into `tasks` contiguous runs.
private struct SamplingJob: PoolJob {
  let x: UnsafePointer<Float>
  let vocabulary: Int
  let options: SamplingOptions
  let draws: UnsafePointer<UInt64>
  let tokens: UnsafeMutablePointer<Int>
  let rows: Int
  let tasks: Int

  func run(task: Int) {
    let scratch = SelectionScratch()
    for r in (rows * task / tasks)..<(rows * (task + 1) / tasks) {
      let selection = TokenSelection(
        x: x + r * vocabulary, count: vocabulary,
        temperature: options.temperature == 0 ? 1 : options.temperature,
        kernels: PassKernels.selected, scratch: scratch)
      if options.temperature == 0 {
        tokens[r] = selection.greedy()
      } else {
        tokens[r] = selection.sample(
          topK: options.topK, topP: options.topP, minP: options.minP, draw: draws[r])
      }
    }
  }
}
