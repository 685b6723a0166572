#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// What happens to each contiguous Double row besides the softmax itself: the Double
/// counterpart of `RowOptions`, with the same semantics in Double precision.
struct DoubleRowOptions {
  var logarithm: Bool
  var mask: SoftmaxMask = .none
  var sink: Double? = nil
  var fullyMaskedRows: FullyMaskedRows = .zeros
  var queries: Int = 1
  var temperature: Double = 1
  var maskStride: Int = 0

  var isPlain: Bool {
    mask == .none && sink == nil && fullyMaskedRows == .zeros && temperature == 1
  }

  /// Softmax (or log-softmax) of row number `row`, `length` elements at `x`, into `y`.
  func run(
    _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, length: Int, row: Int,
    threads: Int
  ) {
    var kept = length
    if case .causal(let offset) = mask {
      kept = Swift.min(length, Swift.max(0, row % queries + offset + 1))
    }
    if kept < length {
      (y + kept).update(repeating: logarithm ? -.infinity : 0, count: length - kept)
    }
    var x = x
    var sink = sink
    var divided = temperature == 1
    // Masks and temperatures take one extra pass: the effective logits go to the output, and
    // the softmax then runs there in place.
    switch mask {
    case .keep(let keep):
      keep.withUnsafeBufferPointer { k in
        for i in 0..<kept { y[i] = k[row * maskStride + i] ? x[i] : -.infinity }
      }
      x = UnsafePointer(y)
    case .additive(let bias):
      let t = temperature
      bias.withUnsafeBufferPointer { a in
        let a = a.baseAddress! + row * maskStride
        if t == 0 {
          for i in 0..<kept { y[i] = a[i] == -.infinity ? -.infinity : x[i] }
        } else {
          for i in 0..<kept { y[i] = (t == 1 ? x[i] : x[i] / t) + Double(a[i]) }
          divided = true
        }
      }
      x = UnsafePointer(y)
    case .none, .causal: break
    }
    if temperature == 0 {
      return argmax(x, y, kept: kept, length: length)
    }
    if !divided {
      // A division, not a multiplication by 1/T: every quotient is correctly rounded.
      for i in 0..<kept { y[i] = x[i] / temperature }
      x = UnsafePointer(y)
    }
    if temperature != 1 { sink = sink.map { $0 / temperature } }
    if fullyMaskedRows == .nan
      && (kept == 0 || maxDoubleRow(x, count: kept) == -.infinity)
      && !(sink.map { $0 > -.infinity } ?? false)
    {
      y.update(repeating: .nan, count: length)
      return
    }
    guard kept > 0 else { return }
    DoubleRowPlan(x: x, y: y, count: kept, threads: threads)
      .softmax(sink: sink, logarithm: logarithm)
  }

  /// The limit as the temperature goes to 0, as for Float rows: the largest entries share the
  /// mass equally, NaN anywhere gives NaN, a row with nothing kept follows `fullyMaskedRows`,
  /// a sink larger than the row's maximum takes all the mass and one equal to it shares.
  private func argmax(
    _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, kept: Int, length: Int
  ) {
    var maximum = -Double.infinity
    for i in 0..<kept {
      if x[i].isNaN { return y.update(repeating: .nan, count: length) }
      maximum = Swift.max(maximum, x[i])
    }
    if let sink, sink.isNaN { return y.update(repeating: .nan, count: length) }
    let sinkValue = sink ?? -.infinity
    if maximum == -.infinity && sinkValue == -.infinity {
      let fill: Double = fullyMaskedRows == .nan ? .nan : (logarithm ? -.infinity : 0)
      return y.update(repeating: fill, count: length)
    }
    var ties = 0
    for i in 0..<kept where x[i] == maximum && maximum >= sinkValue { ties += 1 }
    let shares = ties + (sinkValue >= maximum ? 1 : 0)
    let share = logarithm ? -log(Double(shares)) : 1 / Double(shares)
    let rest: Double = logarithm ? -.infinity : 0
    for i in 0..<kept { y[i] = x[i] == maximum && maximum >= sinkValue ? share : rest }
  }
}

/// The largest of `count` Doubles, NaN not reported (through the Double row kernel).
private func maxDoubleRow(_ x: UnsafePointer<Double>, count: Int) -> Double {
  DoubleRowPlan(x: x, y: UnsafeMutablePointer(mutating: x), count: count, threads: 1)
    .reduce(DoubleChunkPass(.maximum)) { Swift.max($0, $1) }
}

/// The work of a Double softmax along one axis, as plain data for the worker pool: contiguous
/// rows (inner == 1), or groups of 8 adjacent columns of an inner axis, several per task.
/// Every row or column is computed on one thread, so the result does not depend on the
/// thread count.
struct DoubleAxisJob {
  let x: UnsafePointer<Double>
  let y: UnsafeMutablePointer<Double>
  let layout: AxisLayout
  let options: DoubleRowOptions
  let groups: Int  // column groups of 8 per outer block (inner axes)
  let items: Int  // rows, or column groups
  let itemsPerTask: Int

  func run(task: Int) {
    let n = layout.length
    for item in (task * itemsPerTask)..<Swift.min(items, (task + 1) * itemsPerTask) {
      if layout.inner == 1 {
        options.run(x + item * n, y + item * n, length: n, row: item, threads: 1)
      } else {
        let block = item / groups
        let column = (item % groups) * 8
        let offset = block * n * layout.inner + column
        stridedDoubleColumns(
          x + offset, y + offset, length: n, stride: layout.inner,
          width: Swift.min(8, layout.inner - column), logarithm: options.logarithm)
      }
    }
  }

  /// Runs every task on up to `threads` threads.
  func perform(threads: Int) {
    var job = self
    let tasks = (items + itemsPerTask - 1) / itemsPerTask
    withUnsafeMutablePointer(to: &job) { pointer in
      WorkerPool.shared.run(tasks: tasks, threads: threads, context: pointer) { context, task in
        context.assumingMemoryBound(to: DoubleAxisJob.self).pointee.run(task: task)
      }
    }
  }
}

/// Softmax or log-softmax of Double values along `axis`: the body of the shaped Double entry
/// points.
func doubleAxisSoftmax(
  _ input: UnsafeBufferPointer<Double>, _ output: UnsafeMutableBufferPointer<Double>,
  shape: [Int], axis: Int, threads: Int?, options: DoubleRowOptions, function: String
) {
  let setup = ShapedSetup(
    input, output, shape: shape, axis: axis, threads: threads, mask: options.mask,
    isPlain: options.isPlain, temperature: options.temperature, function: function)
  var options = options
  options.maskStride = setup.maskStride
  options.queries = setup.queries
  guard let x = input.baseAddress, let y = output.baseAddress, input.count > 0 else { return }
  let layout = setup.layout
  if setup.splitsRows {
    // One row, or a few long ones: each split into chunks across the threads.
    for row in 0..<layout.outer {
      let n = layout.length
      options.run(x + row * n, y + row * n, length: n, row: row, threads: setup.threads)
    }
    return
  }
  let groups = (layout.inner + 7) / 8
  let items = layout.inner == 1 ? layout.outer : layout.outer * groups
  let job = DoubleAxisJob(
    x: x, y: y, layout: layout, options: options, groups: groups, items: items,
    itemsPerTask: setup.itemsPerTask(items))
  job.perform(threads: setup.threads)
}
