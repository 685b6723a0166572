internal import SoftmaxKernels

/// A row-major array's shape split around the axis of a softmax: `outer` independent blocks,
/// each `length` steps along the axis, each step `inner` contiguous floats apart.
struct AxisLayout {
  let outer: Int
  let length: Int
  let inner: Int

  /// Checks `shape` and `axis` against `count`, trapping with a message that names `function`
  /// and the problem. `axis` may be negative, counting from the last axis (−1).
  init(shape: [Int], axis: Int, count: Int, function: String) {
    guard !shape.isEmpty else {
      fatalError("\(function): the shape must have at least one dimension")
    }
    for dimension in shape where dimension < 0 {
      fatalError("\(function): shape \(shape) has a negative dimension \(dimension)")
    }
    guard (-shape.count..<shape.count).contains(axis) else {
      fatalError(
        "\(function): axis \(axis) is out of range for a shape of rank \(shape.count) "
          + "(use \(-shape.count)...\(shape.count - 1))")
    }
    // Plain loops: no closures, so that even a debug build allocates nothing here.
    var total = 1
    for dimension in shape { total = total.multipliedReportingOverflow(by: dimension).partialValue }
    guard total == count else {
      fatalError(
        "\(function): shape \(shape) has \(total) elements but the buffers have \(count)")
    }
    let index = axis < 0 ? axis + shape.count : axis
    var outer = 1
    var inner = 1
    for position in shape.indices where position != index {
      if position < index { outer *= shape[position] } else { inner *= shape[position] }
    }
    self.outer = outer
    length = shape[index]
    self.inner = inner
  }
}

/// The work of a softmax along one axis, as plain data for the worker pool: contiguous rows
/// (inner == 1), several per task, or 16-column groups of a strided axis, one per task.
struct AxisJob {
  let x: UnsafePointer<Float>
  let y: UnsafeMutablePointer<Float>
  let layout: AxisLayout
  let options: RowOptions
  let rowsPerTask: Int
  let groups: Int  // column groups of 16 per outer block (strided axes)

  var taskCount: Int {
    layout.inner == 1
      ? (layout.outer + rowsPerTask - 1) / rowsPerTask : layout.outer * groups
  }

  func run(task: Int) {
    let n = layout.length
    if layout.inner == 1 {
      for row in (task * rowsPerTask)..<Swift.min(layout.outer, (task + 1) * rowsPerTask) {
        options.run(x + row * n, y + row * n, length: n, row: row, threads: 1)
      }
    } else {
      let block = task / groups
      let column = (task % groups) * 16
      let offset = block * n * layout.inner + column
      stridedSoftmax_simd16(
        x + offset, y + offset, length: n, stride: layout.inner,
        width: Swift.min(16, layout.inner - column), logarithm: options.logarithm)
    }
  }

  /// Runs every task on up to `threads` threads.
  func perform(threads: Int) {
    var job = self
    let tasks = taskCount
    withUnsafeMutablePointer(to: &job) { pointer in
      WorkerPool.shared.run(tasks: tasks, threads: threads, context: pointer) { context, task in
        context.assumingMemoryBound(to: AxisJob.self).pointee.run(task: task)
      }
    }
  }
}

/// Softmax or log-softmax along `axis`: the shared body of the shaped entry points.
func axisSoftmax(
  _ input: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
  shape: [Int], axis: Int, threads: Int?, options: RowOptions, function: String
) {
  checkBuffers(function, input, output)
  let layout = AxisLayout(shape: shape, axis: axis, count: input.count, function: function)
  var options = options
  guard options.temperature.isFinite, options.temperature >= 0 else {
    fatalError("\(function): temperature must be finite and ≥ 0, not \(options.temperature)")
  }
  if !options.isPlain {
    guard layout.inner == 1 else {
      fatalError(
        "\(function): masks, sinks, temperatures and fully-masked-row policies apply to the "
          + "last axis")
    }
    if let count = options.mask.valueCount {
      guard count == layout.length || count == input.count else {
        fatalError(
          "\(function): the mask has \(count) values; it needs one per row element "
            + "(\(layout.length)) or one per array element (\(input.count))")
      }
      options.maskStride = count == layout.length ? 0 : layout.length
    }
    if case .causal = options.mask {
      guard shape.count >= 2 else {
        fatalError("\(function): a causal mask needs a shape [..., queries, keys] of rank ≥ 2")
      }
      options.queries = Swift.max(1, shape[shape.count - 2])
    }
  }
  let threadCount = validatedThreads(threads, count: input.count)
  guard let x = input.baseAddress, let y = output.baseAddress, input.count > 0 else { return }
  if layout.inner == 1
    && (layout.outer == 1
      || layout.length >= AutoPolicy.parallelThreshold
        && layout.outer < 2 * threadCount)
  {
    // One row, or a few long ones: each split across the threads.
    for row in 0..<layout.outer {
      let n = layout.length
      options.run(x + row * n, y + row * n, length: n, row: row, threads: threadCount)
    }
    return
  }
  // Many rows, or a strided axis: rows (or column groups) spread across the threads, each
  // computed on one thread, so the result does not depend on the thread count.
  let rowsPerTask = Swift.max(1, (layout.outer + 8 * threadCount - 1) / (8 * threadCount))
  let job = AxisJob(
    x: x, y: y, layout: layout, options: options, rowsPerTask: rowsPerTask,
    groups: (layout.inner + 15) / 16)
  job.perform(threads: threadCount)
}
