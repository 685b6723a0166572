// Float16 arrays: Float16 storage, Float arithmetic, Double sums. Swift has no Float16 on
// macOS for Intel; there none of this exists.
#if !(os(macOS) && arch(x86_64))
  internal import _SoftmaxCKernels
  internal import SoftmaxKernels

  /// Softmax and log-softmax of Float16 rows, for the engine, computed by the Float rows
  /// (`SoftmaxRows<Float>`) and rounded once to Float16.
  ///
  /// - Plain Two-Pass rows (`.auto` picks it beyond the caches) longer than the stack
  ///   scratch (4096 elements) stream: pass 1 widens each 4096-element block into a stack
  ///   buffer and adds its Two-Pass sum to a `SoftmaxNormalizer` (chunk by chunk across the
  ///   threads, merged in chunk order); pass 2 widens each block again, normalizes it and
  ///   rounds it. Two reads of the Float16 input and one write, no scratch row, no allocation.
  /// - Other rows (up to 4096 elements, Three-Pass rows, or rows with masks, sinks,
  ///   temperatures or the `.nan` policy) are widened into a scratch row of Floats, computed
  ///   there in place with every option and the caller's algorithm, and rounded back. The scratch is on the stack up to
  ///   16 KiB, else allocated once per call or per task of the pool, never per row.
  /// - Inner axes gather up to 16 adjacent columns into contiguous Float rows of a scratch, so
  ///   `algorithm` applies there too.
  struct HalfSoftmax: AxisOperation {
    let settings: RowSettings
    /// The Float rows with the same settings.
    let float: SoftmaxRows<Float>

    init(settings: RowSettings) {
      self.settings = settings
      float = SoftmaxRows(settings: settings)
    }

    /// Floats that `withScratch` keeps on the stack.
    static let stackFloats = stackScratchBytes / MemoryLayout<Float>.stride

    /// Whether row `length` streams through blocks instead of a scratch row: plain rows
    /// beyond the stack scratch that run Two-Pass (`.auto` picks it for rows too long for the
    /// caches), where reading the Float16 input twice beats writing and reading a Float copy.
    /// In cache the scratch row was faster: Three-Pass reload computes each exponential once
    /// (8 × 128256, alternating runs, one and two threads, 2026-12-01: streaming 13-23% slower
    /// for softmax, up to 25% for log-softmax with two threads).
    private func streams(length: Int) -> Bool {
      settings.isPlain && length > Self.stackFloats
        && settings.algorithm.resolved(forCount: length) == .twoPass
    }

    /// Columns gathered at once along an inner axis of `length`: 16 (32 contiguous bytes of
    /// each step) when they fit in the stack scratch, fewer down to 1 to stay there for
    /// lengths up to 4096, and beyond, 16 again while the heap scratch stays within 4 MiB.
    func columnGroupWidth(length: Int) -> Int {
      if length <= Self.stackFloats { return Swift.min(16, Self.stackFloats / length) }
      return Swift.min(16, Swift.max(1, (1 << 20) / length))
    }

    func row(
      _ x: UnsafePointer<Float16>, _ y: UnsafeMutablePointer<Float16>, length: Int, index: Int,
      threads: Int
    ) {
      if streams(length: length) {
        let total = Float16.accumulate(x, count: length, threads: threads)
        return Float16.normalize(
          NormalizeCall(
            normalizer: total, x: x, y: y, count: length, output: settings.output,
            threads: threads))
      }
      withScratch(of: Float.self, count: length) { floats in
        HalfConversionJob(half: x, floats: floats, count: length, widen: true)
          .perform(threads: threads)
        float.row(floats, floats, length: length, index: index, threads: threads)
        HalfConversionJob(half: y, floats: floats, count: length, widen: false)
          .perform(threads: threads)
      }
    }

    func columns(
      _ x: UnsafePointer<Float16>, _ y: UnsafeMutablePointer<Float16>, length: Int, stride: Int,
      width: Int
    ) {
      withScratch(of: Float.self, count: width * length) { floats in
        columns(x, y, length: length, stride: stride, width: width, scratch: floats)
      }
    }

    /// One scratch for all the items of the task.
    func task(_ items: Range<Int>, of work: AxisWork<HalfSoftmax>) {
      let n = work.layout.length
      if work.layout.inner == 1 && streams(length: n) {
        for item in items { work.item(item, operation: self) }
        return
      }
      withScratch(of: Float.self, count: work.width * n) { floats in
        for item in items {
          if work.layout.inner == 1 {
            HalfConversion.widen(
              work.x + item * n, into: UnsafeMutableBufferPointer(start: floats, count: n))
            float.row(floats, floats, length: n, index: item, threads: 1)
            HalfConversion.narrow(
              UnsafeBufferPointer(start: floats, count: n), into: work.y + item * n)
          } else {
            let (offset, count) = work.columnGroup(item)
            columns(
              work.x + offset, work.y + offset, length: n, stride: work.layout.inner,
              width: count, scratch: floats)
          }
        }
      }
    }

    /// `width` columns gathered into rows of `scratch`, computed there, and scattered back.
    /// Inner axes take no masks or sinks: row 0 stands for every column (the temperature and
    /// the fully-masked-row policy apply as they do to rows).
    private func columns(
      _ x: UnsafePointer<Float16>, _ y: UnsafeMutablePointer<Float16>, length: Int, stride: Int,
      width: Int, scratch floats: UnsafeMutablePointer<Float>
    ) {
      var step = SIMD16<Float>()
      withUnsafeMutableBytes(of: &step) { raw in
        let lanes = raw.bindMemory(to: Float.self)
        let part = UnsafeMutableBufferPointer(rebasing: lanes[0..<width])
        for k in 0..<length {
          HalfConversion.widen(x + k * stride, into: part)
          for c in 0..<width { floats[c * length + k] = part[c] }
        }
        for c in 0..<width {
          float.row(floats + c * length, floats + c * length, length: length, index: 0, threads: 1)
        }
        for k in 0..<length {
          for c in 0..<width { part[c] = floats[c * length + k] }
          HalfConversion.narrow(UnsafeBufferPointer(part), into: y + k * stride)
        }
      }
    }
  }

  extension Float16 {
    public static func _accumulate(_ values: UnsafeBufferPointer<Float16>, threads: Int?)
      -> SoftmaxNormalizer
    {
      SoftmaxNormalizer.accumulate(values, threads: threads, accumulate)
    }

    public static func _normalize(
      _ values: UnsafeBufferPointer<Float16>, into output: UnsafeMutableBufferPointer<Float16>,
      by normalizer: SoftmaxNormalizer, logarithm: Bool, threads: Int?
    ) {
      normalizer.normalize(values, output, logarithm: logarithm, threads: threads, normalize)
    }

    /// Widens each block of 4096 into a stack buffer and merges the blocks' Float
    /// normalizers; across the threads chunk by chunk, merged in chunk order.
    static func accumulate(_ x: UnsafePointer<Float16>, count: Int, threads: Int)
      -> SoftmaxNormalizer
    {
      let chunks = RowChunks(rowLength: count)
      if chunks.count == 1 { return HalfBlocks(x: x).sum(0..<count) }
      // At most 64 normalizers of 32 bytes: one allocation per row of 2^17 elements or more.
      let sums = UnsafeMutablePointer<SoftmaxNormalizer>.allocate(capacity: chunks.count)
      defer { sums.deallocate() }
      WorkerPool.shared.perform(
        HalfBlocksJob(blocks: HalfBlocks(x: x), chunks: chunks, sums: sums), tasks: chunks.count,
        threads: threads)
      var total = SoftmaxNormalizer()
      for chunk in 0..<chunks.count { total.merge(sums[chunk]) }
      return total
    }

    /// Widens each block again, normalizes it in Float and rounds it once.
    static func normalize(_ call: NormalizeCall<Float16>) {
      let chunks = RowChunks(rowLength: call.count)
      let blocks = HalfBlocks(x: call.x, y: call.y, total: call.normalizer, output: call.output)
      WorkerPool.shared.perform(
        HalfBlocksJob(blocks: blocks, chunks: chunks), tasks: chunks.count, threads: call.threads)
    }
  }

  /// Float16 values processed in blocks of the stack scratch (4096), widened to Float.
  private struct HalfBlocks {
    let x: UnsafePointer<Float16>
    var y: UnsafeMutablePointer<Float16>? = nil
    var total = SoftmaxNormalizer()
    var output = RowOutput.probabilities

    static let block = HalfSoftmax.stackFloats

    /// Pass 1 over `range`: the normalizer of its blocks, merged in order.
    func sum(_ range: Range<Int>) -> SoftmaxNormalizer {
      withScratch(of: Float.self, count: Self.block) { floats in
        var total = SoftmaxNormalizer()
        for start in stride(from: range.lowerBound, to: range.upperBound, by: Self.block) {
          let block = UnsafeMutableBufferPointer(
            start: floats, count: Swift.min(Self.block, range.upperBound - start))
          HalfConversion.widen(x + start, into: block)
          total.merge(Float.accumulate(floats, count: block.count, threads: 1))
        }
        return total
      }
    }

    /// Pass 2 over `range`: each block normalized by `total` and rounded into `y`.
    func normalize(_ range: Range<Int>) {
      withScratch(of: Float.self, count: Self.block) { floats in
        for start in stride(from: range.lowerBound, to: range.upperBound, by: Self.block) {
          let count = Swift.min(Self.block, range.upperBound - start)
          HalfConversion.widen(
            x + start, into: UnsafeMutableBufferPointer(start: floats, count: count))
          Float.normalize(
            NormalizeCall(
              normalizer: total, x: floats, y: floats, count: count, output: output, threads: 1))
          HalfConversion.narrow(UnsafeBufferPointer(start: floats, count: count), into: y! + start)
        }
      }
    }
  }

  /// One pass of `HalfBlocks` over the chunks of a row: pass 1 when `sums` is set, else pass 2.
  private struct HalfBlocksJob: PoolJob {
    let blocks: HalfBlocks
    let chunks: RowChunks
    var sums: UnsafeMutablePointer<SoftmaxNormalizer>? = nil

    func run(task: Int) {
      if let sums {
        (sums + task).initialize(to: blocks.sum(chunks.range(task)))
      } else {
        blocks.normalize(chunks.range(task))
      }
    }
  }

  /// Float16 ↔ Float of one long row, cut into chunks by its length alone (conversions are
  /// exact or correctly rounded element by element, so the cut cannot change the result).
  struct HalfConversionJob: PoolJob {
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

    func run(task chunk: Int) {
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
      WorkerPool.shared.perform(self, tasks: chunks.count, threads: threads)
    }
  }

  /// Float16 ↔ Float for whole blocks: F16C instructions where the CPU has them (a default
  /// x86-64 build would otherwise call a library routine per element), Swift elsewhere.
  enum HalfConversion {
    static let hasF16C: Bool = {
      #if arch(x86_64)
        softmax_x86_cpu_features() & UInt32(SOFTMAX_X86_F16C) != 0
      #else
        false
      #endif
    }()

    static func widen(_ x: UnsafePointer<Float16>, into y: UnsafeMutableBufferPointer<Float>) {
      #if arch(x86_64)
        if hasF16C {
          x.withMemoryRebound(to: UInt16.self, capacity: y.count) {
            softmax_f16_to_f32_f16c($0, y.baseAddress!, y.count)
          }
          return
        }
      #endif
      for i in 0..<y.count { y[i] = Float(x[i]) }
    }

    static func narrow(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutablePointer<Float16>) {
      #if arch(x86_64)
        if hasF16C {
          y.withMemoryRebound(to: UInt16.self, capacity: x.count) {
            softmax_f32_to_f16_f16c(x.baseAddress!, $0, x.count)
          }
          return
        }
      #endif
      for i in 0..<x.count { y[i] = Float16(x[i]) }
    }
  }
#endif
