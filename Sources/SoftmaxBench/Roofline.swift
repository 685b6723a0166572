import Dispatch
import Softmax
import _SoftmaxRoofline

/// A kernel that moves exactly the bytes of a memory-traffic pattern and does almost no
/// arithmetic: the fastest any softmax with that traffic could run in this binary. Its passes
/// mirror a softmax's: `reads - writes` read-only sweeps of the input, one sweep reading the
/// input and writing the output, then `writes - 1` sweeps rewriting the output in place.
/// The two-input kernel (``inputs`` 2, traffic 2R+1W) instead reads two distinct arrays once
/// each and writes a third, z = x · (y − c), as a softmax backward pass reads y and dy and
/// writes dx. Its by-rows form (``byRows(firstSweepInputs:streaming:)``) first reads each
/// row's inputs, then makes that sweep row by row: the traffic of a backward pass, which needs
/// the row's sum before its first output, so a row whose inputs do not fit in the caches is
/// read twice from the next level.
public struct RooflineKernel: Sendable, Hashable, Codable {
  /// Reads and writes of each element.
  public var traffic: MemoryTraffic
  /// Whether the writes use non-temporal (streaming) stores that bypass the caches.
  public var streaming: Bool
  /// Distinct arrays read: 1 (the input, `traffic.reads` times) or 2 (two inputs read once
  /// each; only with 2R+1W).
  public var inputs: Int
  /// For the by-rows two-input kernel: the arrays its first sweep of each row reads (1: the
  /// second input, as a log-softmax backward sums dy; 2: both, as a softmax backward sums
  /// dy · y); 0 for every other kernel.
  public var firstSweepInputs: Int = 0

  /// A kernel for `traffic`, with streaming stores if `streaming`, reading `inputs` distinct
  /// arrays (2 only for 2R+1W).
  public init(traffic: MemoryTraffic, streaming: Bool, inputs: Int = 1) {
    precondition(
      inputs == 1 || (inputs == 2 && traffic == MemoryTraffic(reads: 2, writes: 1)),
      "a two-input roofline kernel reads each input once and writes one output (2R+1W)")
    self.traffic = traffic
    self.streaming = streaming
    self.inputs = inputs
  }

  /// The two-input kernel row by row: a read-only sweep of `firstSweepInputs` (1 or 2) of the
  /// row's arrays, then the 2R+1W sweep of the row. Its traffic counts every read: 3R+1W or
  /// 4R+1W (a row in the caches reads them the second time).
  public static func byRows(firstSweepInputs: Int, streaming: Bool) -> RooflineKernel {
    precondition(
      firstSweepInputs == 1 || firstSweepInputs == 2,
      "a by-rows roofline kernel first reads one or both of its inputs")
    var kernel = RooflineKernel(
      traffic: MemoryTraffic(reads: 2, writes: 1), streaming: streaming, inputs: 2)
    kernel.traffic = MemoryTraffic(reads: 2 + firstSweepInputs, writes: 1)
    kernel.firstSweepInputs = firstSweepInputs
    return kernel
  }

  /// The same kernel with streaming (or ordinary) stores.
  public func withStreaming(_ streaming: Bool) -> RooflineKernel {
    var kernel = self
    kernel.streaming = streaming
    return kernel
  }

  /// "2R+1W" for two reads and one write per element.
  public static func trafficLabel(_ traffic: MemoryTraffic) -> String {
    traffic.writes == 0 ? "\(traffic.reads)R" : "\(traffic.reads)R+\(traffic.writes)W"
  }

  /// The name in tables, CSV rows and charts, e.g. "roofline 2R+1W nt", "two-input 2R+1W" or
  /// "by rows 4R+1W".
  public var name: String {
    let role: String
    switch (traffic.reads, traffic.writes) {
    case (1, 0): role = "read"
    case (1, 1): role = "copy"
    default: role = firstSweepInputs > 0 ? "by rows" : inputs == 2 ? "two-input" : "roofline"
    }
    return "\(role) \(Self.trafficLabel(traffic))\(streaming ? " nt" : "")"
  }

  /// The kernels a sweep times. With softmax algorithms (or nothing else): the read-only sum,
  /// the copy and the minimum softmax traffic (2R+1W) that the issue asks for, plus one per
  /// traffic pattern of the algorithms timed, so that every algorithm has a roofline of its
  /// own. Then the roofline of each other operation timed (see ``TimedOperation/roofline``)
  /// not already there. Write kernels come in both store flavours when the CPU has streaming
  /// stores.
  public static func kernels(
    for algorithms: [SoftmaxAlgorithm], operations: [TimedOperation] = [],
    streamingAvailable: Bool
  ) -> [RooflineKernel] {
    var plain: [RooflineKernel] = []
    if !algorithms.isEmpty || operations.isEmpty {
      var patterns = [
        MemoryTraffic(reads: 1, writes: 0), MemoryTraffic(reads: 1, writes: 1),
        MemoryTraffic(reads: 2, writes: 1),
      ]
      for traffic in algorithms.map(\.memoryTraffic) where !patterns.contains(traffic) {
        patterns.append(traffic)
      }
      plain = patterns.map { RooflineKernel(traffic: $0, streaming: false) }
    }
    for kernel in operations.flatMap(\.rooflines) where !plain.contains(kernel) {
      plain.append(kernel)
    }
    return plain.flatMap { kernel -> [RooflineKernel] in
      var kernels = [kernel]
      if kernel.traffic.writes > 0 && streamingAvailable {
        kernels.append(kernel.withStreaming(true))
      }
      return kernels
    }
  }

  /// Runs the kernel over `count` floats, splitting the range over `threads` threads (at row
  /// boundaries for a by-rows kernel, whose rows are `rowLength` long). A two-input kernel
  /// reads `second` as its second array (required then).
  func run(
    input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int,
    threads: Int, sink: UnsafeMutablePointer<Float>, second: UnsafePointer<Float>? = nil,
    rowLength: Int? = nil
  ) {
    precondition(inputs == 1 || second != nil, "\(name) needs a second input array")
    let rowLength = max(1, min(rowLength ?? count, count))
    if threads <= 1 || count < 4096 {
      runChunk(input, second, output, count, rowLength, sink)
      return
    }
    // Pointers are not Sendable; pass addresses and rebuild them on each worker.
    let x = UInt(bitPattern: input)
    let x2 = UInt(bitPattern: second)
    let y = UInt(bitPattern: output)
    let s = UInt(bitPattern: sink)
    let chunk =
      firstSweepInputs > 0
      ? ((count + rowLength - 1) / rowLength + threads - 1) / threads * rowLength
      : ((count + threads - 1) / threads + 15) & ~15
    DispatchQueue.concurrentPerform(iterations: threads) { t in
      let start = t * chunk
      let length = min(chunk, count - start)
      guard length > 0, let xt = UnsafePointer<Float>(bitPattern: x),
        let yt = UnsafeMutablePointer<Float>(bitPattern: y),
        let st = UnsafeMutablePointer<Float>(bitPattern: s)
      else { return }
      let x2t = UnsafePointer<Float>(bitPattern: x2).map { $0 + start }
      runChunk(xt + start, x2t, yt + start, length, rowLength, st + 16 * t)
    }
  }

  private func runChunk(
    _ x: UnsafePointer<Float>, _ second: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>,
    _ count: Int, _ rowLength: Int, _ sink: UnsafeMutablePointer<Float>
  ) {
    if firstSweepInputs > 0, let second {
      _softmax_roofline_rows_multiply_difference(
        x, second, y, count, rowLength, Int32(firstSweepInputs), streaming ? 1 : 0)
      return
    }
    if inputs == 2, let second {
      // z = x · y: the C function cannot fold c = 0 away. The inputs the sweep passes (the
      // logits and dy) are never subnormal, so neither are the products.
      if streaming {
        _softmax_roofline_stream_multiply_difference(x, second, y, count, 0)
      } else {
        RooflinePasses.multiplyDifference(x, second, y, count, 0)
      }
      return
    }
    var total: Float = 0
    for _ in 0..<max(0, traffic.reads - traffic.writes) {
      // Each sweep starts from the previous total: two identical read-only calls would
      // otherwise be merged into one by the optimizer, halving the traffic measured.
      total = RooflinePasses.sum(x, count, startingAt: total)
    }
    sink.pointee = total
    guard traffic.writes > 0 else { return }
    // A factor the compiler cannot fold away, like the 1/sum of a softmax; it is 1 in practice
    // so that repeated in-place passes never drift into subnormal numbers.
    let scale: Float = total == .infinity ? 0 : 1
    for pass in 0..<traffic.writes {
      let source = pass == 0 ? x : UnsafePointer(y)
      if streaming {
        _softmax_roofline_stream_scale(source, y, count, scale)
      } else {
        RooflinePasses.scale(source, y, count, scale)
      }
    }
  }
}

/// The roofline loops, in C (`_SoftmaxRoofline`) so that they run on the CPU's widest vectors.
enum RooflinePasses {
  static func sum(_ x: UnsafePointer<Float>, _ count: Int, startingAt start: Float) -> Float {
    _softmax_roofline_sum(x, count, start)
  }

  static func scale(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int, _ factor: Float
  ) {
    _softmax_roofline_scale(x, y, count, factor)
  }

  /// z = x · (y − c): two arrays read, a third written.
  static func multiplyDifference(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>,
    _ count: Int, _ c: Float
  ) {
    _softmax_roofline_multiply_difference(x, y, z, count, c)
  }
}
