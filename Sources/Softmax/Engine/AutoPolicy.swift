internal import SoftmaxKernels

/// The choices that `SoftmaxAlgorithm.auto` and an automatic thread count make, from the row
/// length and the cache sizes. The crossovers come from `softmax bench` on the development
/// machine (see BENCHMARKS.md); they follow the cache size, so they move with the hardware.
package enum AutoPolicy {
  /// Two-Pass once the row's input and output together reach ``twoPassCrossoverBytes``;
  /// below, Three-Pass reload, whose exponentials are computed once and whose extra passes hit
  /// the core's caches, is faster.
  ///
  /// The portable kernels take reload at every length: without FMA their exponential costs
  /// more than the extra trip to memory, and Two-Pass computes two of them per element. With
  /// `SOFTMAX_ISA=portable` (one thread, cold outputs, 105 MiB LLC, 2026-12-01, BENCHMARKS.md)
  /// reload took 2.13–2.17 ns/element at 2^24 against Two-Pass 3.06–3.13.
  package static func algorithm(forCount count: Int) -> SoftmaxAlgorithm {
    count >= twoPassFromCount ? .twoPass : .threePassReload
  }

  /// The shortest row `.auto` runs as Two-Pass (`Int.max` on the portable kernels), worked out
  /// once: every call asks, and the cache sizes and the kernel set never change in a process.
  package static let twoPassFromCount: Int = {
    // A pattern, not `==`: KernelISA is Comparable, and its `==` goes through a witness table.
    if case .portable = PassKernels.selected.isa { return .max }
    let elementBytes = 2 * MemoryLayout<Float>.size
    return (twoPassCrossoverBytes + elementBytes - 1) / elementBytes
  }()

  /// Input plus output from which `.auto` takes Two-Pass: four times one core's L2, or half
  /// the last-level cache if that is smaller. Reload's second and third passes are cheap only
  /// while the row stays in caches the core has to itself; a shared last-level cache (105 MiB
  /// on the Xeon VM of 2026-12-01, shared with the host's other tenants) did not keep them
  /// cheap. Measured there with `softmax bench` (one thread, standard normal inputs, outputs
  /// rotated over 8× the LLC, 2026-12-01, BENCHMARKS.md "Against XNNPACK"): at 2^20 Two-Pass
  /// took 0.677 ns/element cold against reload's 1.10, and 0.695 hot against 0.700; at 2^22
  /// 1.10 against 1.46 cold and 1.36 against 1.67 hot; at 2^18, where reload still wins hot
  /// (0.48 against 0.77), the cut stays below. The earlier rule, half the LLC (2^21 on the
  /// Zen 4 of 2026-11-29), came from a cold method whose outputs were still dirty in the LLC,
  /// which favoured reload's write-then-rescale.
  package static var twoPassCrossoverBytes: Int {
    Swift.min(CacheInfo.lastLevelBytes / 2, 4 * CacheInfo.levelTwoBytes)
  }

  /// Rows shorter than this run on one thread: waking a worker costs tens of microseconds.
  package static let parallelThreshold = 1 << 18

  /// The threads to use for a row: `requested` is nil for automatic, else an upper bound.
  package static func threads(forCount count: Int, requested: Int?) -> Int {
    // One thread needs no look at the pool: short rows skip its lazy initialization check.
    guard let requested else {
      return count >= parallelThreshold ? WorkerPool.shared.maximumThreads : 1
    }
    return requested == 1 ? 1 : Swift.min(requested, WorkerPool.shared.maximumThreads)
  }

  /// Three-Pass reload rescales rows of at least this many elements in place with
  /// non-temporal stores, which skip the caches and the read for ownership: once input and
  /// output together exceed the last-level cache, the output would be evicted before the
  /// caller reads it anyway. Below, its exponentials are still in the caches and ordinary
  /// stores win. Measured with `softmax bench` (cold outputs, one thread, 32 MiB LLC,
  /// 2026-11-29): streaming from 2^20 instead of never made reload 19% and 17% slower at 2^20
  /// and 2^21 but 6% faster at 2^22; from 2^17, 16–31% slower at 2^17–2^20 (after the output
  /// passes went last chunk first). So the cut is where input + output = LLC (2^22).
  package static let streamingThreshold: Int =
    CacheInfo.lastLevelBytes / (2 * MemoryLayout<Float>.size)

  /// Output passes that compute each output from the input (Two-Pass pass 2, the last pass of
  /// Three-Pass recompute and of online) stream rows of at least this many elements: the
  /// output is written once, so skipping the read for ownership saves a trip to memory for a
  /// cold output, and leaves the input in the caches for the next pass. Measured with
  /// `softmax bench`, one thread, three or four runs alternating with the 2^22 cut
  /// (2026-11-29): Two-Pass and Three-Pass recompute 13–21% faster with cold outputs from 2^15
  /// to 2^20, and no slower with hot ones (measured to 2^18); at 2^12–2^14 10–17% faster cold
  /// but 3–8% slower hot; at 2^10–2^11 7–42% slower either way. 2^15 floats is 128 KiB.
  package static let computedOutputStreamingThreshold = 1 << 15

  /// Output passes of many short rows (the backward passes) stream every row once the whole
  /// array has this many elements (a sixteenth of the last-level cache in Floats): its rows
  /// are evicted before anyone reads them, however short. Measured with `softmax bench
  /// --operation backward,log-backward` (one thread, cold outputs, 105 MiB LLC, three
  /// alternating runs, 2026-12-01): softmaxBackward on 4096×1024 0.76–0.83 ns/element against
  /// 0.89–0.94 with the row-length rule alone; log-softmax backward within the noise.
  package static let arrayStreamingThreshold: Int =
    CacheInfo.lastLevelBytes / (16 * MemoryLayout<Float>.size)

  /// Whether Three-Pass reload on rows of `count` elements, computed whole on one thread of a
  /// batch whose whole array is beyond ``arrayStreamingThreshold`` (`arrayStreams`), stores
  /// its exponentials in a scratch of the task instead of the output, then writes each output
  /// once from it with streaming stores. In place, reload reads its output for ownership,
  /// writes it, reads it back and writes it again; staged, the memory sees one read of the
  /// input and one write of the output. Measured with `softmax bench --shape 4096x1024` (one
  /// thread, cold outputs, 2026-12-01, BENCHMARKS.md): softmax 0.84 ns/element against 1.05.
  ///
  /// Only rows whose scratch fits on the stack (16 KiB: `withScratch`), so that the call
  /// still allocates nothing. Longer rows would gain as much (8×128256: 0.74 against 1.14 with
  /// a heap scratch per task), but cost an allocation per call.
  package static func stagesExponentials(count: Int, arrayStreams: Bool) -> Bool {
    arrayStreams && count >= stagedRowMinimum
      && count * MemoryLayout<Float>.stride <= stackScratchBytes
  }

  /// Whether output passes computed from the input stream on rows of `count` elements, each
  /// computed whole on one thread of a batch: rows of 2^15 or more, or of 4096 or more in an
  /// array beyond ``arrayStreamingThreshold`` (`arrayStreams`). Reload cannot stream in place,
  /// so such rows that `stagesExponentials` does not take run Two-Pass under `.auto` (the
  /// softmax, and the cross-entropy's fused gradient).
  package static func streamsComputedRows(count: Int, arrayStreams: Bool) -> Bool {
    count >= computedOutputStreamingThreshold
      || arrayStreams && count >= computedOutputStreamingThreshold / 8
  }

  /// The shortest row that `stagesExponentials` takes: below, a row is a few cache lines, and
  /// streaming stores of partial lines cost more than they save.
  static let stagedRowMinimum = 256
}
