// The row engine: everything about running an operation along one axis of a row-major array
// that does not depend on the operation or the element type. An operation says what it does
// to one contiguous row and to a group of adjacent columns of an inner axis; the engine
// decides who computes what:
//
//   one row, or a few long ones (≥ 2^18 elements, fewer than two per thread)
//       → each row in turn, split by the operation into chunks across the threads;
//   many rows, or an inner axis
//       → rows (or column groups) spread across the threads, about 8 tasks per thread,
//         each row or column computed whole on one thread.
//
// Either way a row's result does not depend on the thread count: chunks are cut by the row
// length alone and merge in chunk order, and spread rows are never split.

/// An operation along one axis, for the engine.
protocol AxisOperation {
  associatedtype Element

  /// Adjacent columns of an inner axis of `length` steps computed together: one work item.
  func columnGroupWidth(length: Int) -> Int

  /// Row number `index`: `length` contiguous elements at `x` into `y` (which is `x` or does not
  /// overlap it), on up to `threads` threads.
  func row(
    _ x: UnsafePointer<Element>, _ y: UnsafeMutablePointer<Element>, length: Int, index: Int,
    threads: Int)

  /// `width` adjacent columns, `length` steps of `stride` elements, on this thread.
  func columns(
    _ x: UnsafePointer<Element>, _ y: UnsafeMutablePointer<Element>, length: Int, stride: Int,
    width: Int)

  /// The items (rows or column groups) of one task, on this thread. The default computes
  /// them one by one; an operation that needs scratch memory takes it here, once per task.
  func task(_ items: Range<Int>, of work: AxisWork<Self>)
}

extension AxisOperation {
  func task(_ items: Range<Int>, of work: AxisWork<Self>) {
    for item in items { work.item(item, operation: self) }
  }
}

/// The work of one call spread across the threads, as plain data for the worker pool.
struct AxisWork<Operation: AxisOperation>: PoolJob {
  let x: UnsafePointer<Operation.Element>
  let y: UnsafeMutablePointer<Operation.Element>
  let layout: AxisLayout
  let operation: Operation
  /// Columns per group (inner axes), 1 for rows.
  let width: Int
  /// Column groups per outer block (inner axes).
  let groups: Int
  /// Rows, or column groups.
  let items: Int
  let itemsPerTask: Int

  var tasks: Int { (items + itemsPerTask - 1) / itemsPerTask }

  func run(task: Int) {
    operation.task(
      (task * itemsPerTask)..<Swift.min(items, (task + 1) * itemsPerTask), of: self)
  }

  /// Where column group `item` starts, relative to `x` and `y`, and how many columns it has.
  func columnGroup(_ item: Int) -> (offset: Int, width: Int) {
    let block = item / groups
    let column = (item % groups) * width
    return (block * layout.length * layout.inner + column, Swift.min(width, layout.inner - column))
  }

  /// Computes one row or column group with `operation`.
  func item(_ item: Int, operation: Operation) {
    let n = layout.length
    if layout.inner == 1 {
      operation.row(x + item * n, y + item * n, length: n, index: item, threads: 1)
    } else {
      let (offset, count) = columnGroup(item)
      operation.columns(x + offset, y + offset, length: n, stride: layout.inner, width: count)
    }
  }
}

enum AxisEngine {
  /// About 8 tasks per thread, so that the pool balances uneven progress, but at least two
  /// items per task where there are enough, and one task on one thread: operations that run
  /// consecutive rows together (the pipelined backward pass) need several rows per task. 8
  /// rows of 128 256 elements on one thread were 8 tasks of one row before.
  static func itemsPerTask(items: Int, threads: Int) -> Int {
    if threads == 1 { return Swift.max(1, items) }
    let tasks = Swift.min(8 * threads, Swift.max(threads, items / 2))
    return Swift.max(1, (items + tasks - 1) / tasks)
  }

  /// Runs `operation` along the axis of `call` over the buffers (checked by `call`).
  static func run<Operation: AxisOperation>(
    _ operation: Operation, _ input: UnsafeBufferPointer<Operation.Element>,
    _ output: UnsafeMutableBufferPointer<Operation.Element>, call: AxisCall
  ) {
    guard let x = input.baseAddress, let y = output.baseAddress, input.count > 0 else { return }
    let layout = call.layout
    let threads = call.threads
    let n = layout.length
    if layout.inner == 1
      && (layout.outer == 1 || n >= AutoPolicy.parallelThreshold && layout.outer < 2 * threads)
    {
      // One row, or a few long ones: each split across the threads.
      for row in 0..<layout.outer {
        operation.row(x + row * n, y + row * n, length: n, index: row, threads: threads)
      }
      return
    }
    let width = layout.inner == 1 ? 1 : operation.columnGroupWidth(length: n)
    let groups = (layout.inner + width - 1) / width
    let items = layout.inner == 1 ? layout.outer : layout.outer * groups
    let work = AxisWork(
      x: x, y: y, layout: layout, operation: operation, width: width, groups: groups,
      items: items, itemsPerTask: itemsPerTask(items: items, threads: threads))
    WorkerPool.shared.perform(work, tasks: work.tasks, threads: threads)
  }
}
