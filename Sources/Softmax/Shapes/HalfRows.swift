// Float16 arrays along any axis: every row (or column of an inner axis) is widened to Float in
// a scratch row, computed there in place by the Float row machinery (`RowOptions`), and
// rounded back to Float16. Swift has no Float16 on macOS for Intel; there none of this exists.
#if !(os(macOS) && arch(x86_64))
  /// Softmax or log-softmax of Float16 values along `axis`: the body of the shaped Float16
  /// entry points. `options` carries the Float sink and temperature; `temperature` is the
  /// caller's, for the check's message.
  func halfAxisSoftmax(
    _ input: UnsafeBufferPointer<Float16>, _ output: UnsafeMutableBufferPointer<Float16>,
    shape: [Int], axis: Int, threads: Int?, options: RowOptions, temperature: Float16,
    function: String
  ) {
    let setup = ShapedSetup(
      input, output, shape: shape, axis: axis, threads: threads, mask: options.mask,
      isPlain: options.isPlain, temperature: temperature, function: function)
    var options = options
    options.maskStride = setup.maskStride
    options.queries = setup.queries
    guard let x = input.baseAddress, let y = output.baseAddress, input.count > 0 else { return }
    let layout = setup.layout
    let n = layout.length
    if setup.splitsRows {
      // One row, or a few long ones: each converted and computed across the threads, in one
      // scratch row of n Floats.
      withScratch(of: Float.self, count: n) { floats in
        for row in 0..<layout.outer {
          HalfConversionJob(half: x + row * n, floats: floats, count: n, widen: true)
            .perform(threads: setup.threads)
          options.run(floats, floats, length: n, row: row, threads: setup.threads)
          HalfConversionJob(half: y + row * n, floats: floats, count: n, widen: false)
            .perform(threads: setup.threads)
        }
      }
      return
    }
    let width = layout.inner == 1 ? 1 : HalfAxisJob.columnsPerGroup(length: n)
    let groups = (layout.inner + width - 1) / width
    let items = layout.inner == 1 ? layout.outer : layout.outer * groups
    let job = HalfAxisJob(
      x: x, y: y, layout: layout, options: options, width: width, groups: groups,
      items: items, itemsPerTask: setup.itemsPerTask(items))
    job.perform(threads: setup.threads)
  }

  /// Float16 work spread across the threads, as plain data for the worker pool: contiguous rows
  /// (inner == 1), or groups of `width` adjacent columns of an inner axis, several per task.
  /// Each task has one scratch of `width` × length Floats; every row or column is computed on
  /// one thread, so the result does not depend on the thread count.
  struct HalfAxisJob {
    let x: UnsafePointer<Float16>
    let y: UnsafeMutablePointer<Float16>
    let layout: AxisLayout
    let options: RowOptions
    let width: Int
    let groups: Int  // column groups per outer block (inner axes)
    let items: Int  // rows, or column groups
    let itemsPerTask: Int

    /// Columns gathered at once along an inner axis of `length`: 16 (32 contiguous bytes of
    /// each step) when they fit in the stack scratch, fewer down to 1 to stay there for
    /// lengths up to 4096, and beyond, 16 again while the heap scratch stays within 4 MiB.
    static func columnsPerGroup(length: Int) -> Int {
      let stack = stackScratchBytes / MemoryLayout<Float>.stride
      if length <= stack { return Swift.min(16, stack / length) }
      return Swift.min(16, Swift.max(1, (1 << 20) / length))
    }

    func run(task: Int) {
      let n = layout.length
      let range = (task * itemsPerTask)..<Swift.min(items, (task + 1) * itemsPerTask)
      withScratch(of: Float.self, count: width * n) { floats in
        if layout.inner == 1 {
          for row in range {
            HalfConversion.widen(
              x + row * n, into: UnsafeMutableBufferPointer(start: floats, count: n))
            options.run(floats, floats, length: n, row: row, threads: 1)
            HalfConversion.narrow(UnsafeBufferPointer(start: floats, count: n), into: y + row * n)
          }
          return
        }
        for group in range {
          let block = group / groups
          let column = (group % groups) * width
          let count = Swift.min(width, layout.inner - column)
          let offset = block * n * layout.inner + column
          gather(x + offset, into: floats, columns: count)
          // Inner axes take no masks, sinks or temperatures: row 0 stands for every column.
          for c in 0..<count {
            options.run(floats + c * n, floats + c * n, length: n, row: 0, threads: 1)
          }
          scatter(floats, into: y + offset, columns: count)
        }
      }
    }

    /// Column c of the `columns` at `x` (stride `layout.inner`) into row c of `floats`.
    private func gather(
      _ x: UnsafePointer<Float16>, into floats: UnsafeMutablePointer<Float>, columns: Int
    ) {
      var step = SIMD16<Float>()
      withUnsafeMutableBytes(of: &step) { raw in
        let lanes = raw.bindMemory(to: Float.self)
        let part = UnsafeMutableBufferPointer(rebasing: lanes[0..<columns])
        for k in 0..<layout.length {
          HalfConversion.widen(x + k * layout.inner, into: part)
          for c in 0..<columns { floats[c * layout.length + k] = part[c] }
        }
      }
    }

    /// Row c of `floats` into column c of the `columns` at `y`, rounded to Float16.
    private func scatter(
      _ floats: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float16>, columns: Int
    ) {
      var step = SIMD16<Float>()
      withUnsafeMutableBytes(of: &step) { raw in
        let lanes = raw.bindMemory(to: Float.self)
        for k in 0..<layout.length {
          for c in 0..<columns { lanes[c] = floats[c * layout.length + k] }
          HalfConversion.narrow(
            UnsafeBufferPointer(rebasing: lanes[0..<columns]), into: y + k * layout.inner)
        }
      }
    }

    /// Runs every task on up to `threads` threads.
    func perform(threads: Int) {
      var job = self
      let tasks = (items + itemsPerTask - 1) / itemsPerTask
      withUnsafeMutablePointer(to: &job) { pointer in
        WorkerPool.shared.run(tasks: tasks, threads: threads, context: pointer) { context, task in
          context.assumingMemoryBound(to: HalfAxisJob.self).pointee.run(task: task)
        }
      }
    }
  }

  /// Float16 ↔ Float of one long row, cut into chunks by its length alone (conversions are
  /// exact or correctly rounded element by element, so the cut cannot change the result).
  struct HalfConversionJob {
    let half: UnsafeMutablePointer<Float16>
    let floats: UnsafeMutablePointer<Float>
    let chunks: RowChunks
    let widen: Bool

    init(half: UnsafePointer<Float16>, floats: UnsafeMutablePointer<Float>, count: Int, widen: Bool)
    {
      self.half = UnsafeMutablePointer(mutating: half)
      self.floats = floats
      chunks = RowChunks(rowLength: count)
      self.widen = widen
    }

    func run(chunk: Int) {
      let range = chunks.range(chunk)
      if widen {
        HalfConversion.widen(
          half + range.lowerBound,
          into: UnsafeMutableBufferPointer(start: floats + range.lowerBound, count: range.count))
      } else {
        HalfConversion.narrow(
          UnsafeBufferPointer(start: floats + range.lowerBound, count: range.count),
          into: half + range.lowerBound)
      }
    }

    func perform(threads: Int) {
      if chunks.count == 1 || threads == 1 {
        for chunk in 0..<chunks.count { run(chunk: chunk) }
        return
      }
      var job = self
      withUnsafeMutablePointer(to: &job) { pointer in
        WorkerPool.shared.run(tasks: chunks.count, threads: threads, context: pointer) {
          context, chunk in
          context.assumingMemoryBound(to: HalfConversionJob.self).pointee.run(chunk: chunk)
        }
      }
    }
  }
#endif
