internal import SoftmaxKernels

/// The ways of computing a softmax that the package implements. All of them give the same
/// results up to rounding, follow the same special-value contract and allocate nothing; they
/// differ in how many times they move the row through memory, which decides their speed.
public enum SoftmaxAlgorithm: String, Sendable, Hashable, CaseIterable, Codable,
  CustomStringConvertible
{
  /// The default: picks the fastest algorithm for the row's length on this machine. Rows
  /// whose input and output together stay below four times one core's L2 cache (or half the
  /// last-level cache, if that is smaller) use ``threePassReload``
  /// (there the exponentials, not memory, limit the speed, and it computes them once);
  /// longer rows use ``twoPass``, which moves the least memory. With the portable Swift
  /// kernels (a CPU that has no C kernel set, or `SOFTMAX_ISA=portable`) every row uses
  /// ``threePassReload``: there the exponential costs more than the extra trip to memory.
  ///
  /// Rows of a shaped array whose outputs are written with streaming stores (rows of 2^15
  /// elements or more, or of more than 4096 in an array beyond a sixteenth of the last-level
  /// cache) use ``twoPass`` on the C kernel sets. Rows of 256–4096 elements in such an array
  /// run ``threePassReload`` with their exponentials in a stack scratch, so that each output
  /// is written once (the same results as the row computed alone).
  case auto

  /// The Two-Pass algorithm (Dukhan & Ablavatski, 2020): no maximum. Pass 1 sums every e^x as
  /// a (mantissa, exponent) pair, rescaling to the larger exponent, so nothing overflows;
  /// pass 2 writes y_i = m_i · (1/m_sum) · 2^(n_i − n_sum). Two reads and one write per
  /// element.
  ///
  /// Rows whose largest element lies outside [−2668, 2772], or that contain ±inf or NaN, are
  /// detected at the end of pass 1 and finished by ``threePassRecompute`` instead, which
  /// reads the input once more: the pair representation is exact only in that range.
  case twoPass

  /// Three passes: the maximum; the sum of e^(x − max); then y = e^(x − max) · (1/sum) with
  /// the exponential computed again. Three reads and one write per element.
  case threePassRecompute

  /// Three passes: the maximum; e^(x − max) stored into the output while summing; then the
  /// output scaled by 1/sum. Two reads of the input, one read and two writes of the output.
  case threePassReload

  /// The online softmax (Milakov & Gimelshein, 2018): pass 1 reads the row once and keeps, per
  /// vector lane, a running maximum m and the sum s of e^(x − m); each element costs one
  /// exponential, e^(−|x − m|), and a larger element rescales the old sum (s · e + 1) instead
  /// of being rescaled itself (s + e). Lanes and 4096-element blocks merge by rescaling the
  /// smaller maximum's sum (across blocks and threads in Double), giving the row maximum M and
  /// S = Σ e^(x − M). Pass 2 is that of ``threePassRecompute``: y = e^(x − M) · (1/S). Two
  /// reads and one write per element, like ``twoPass``, and valid for inputs of any magnitude
  /// without a fallback.
  ///
  /// Pass 1 rounds each rescaling factor to Float, so in a row whose maximum grows at every
  /// element a lane's oldest terms are rescaled up to 127 times per 4096-element block; the
  /// sum stays within 3e-6 relative even then (tested on such ramps), and the outputs within
  /// the documented 1e-5. No intermediate is subnormal: each factor is 0 or at least 2^-126
  /// and multiplies a sum of at least 1.
  ///
  /// Rows with +inf, rows of only −inf and rows with NaN get the same results as with every
  /// other algorithm. ``auto`` never chooses it: in cache it computes two exponentials per
  /// element like ``threePassRecompute`` (where ``threePassReload`` computes one), and out of
  /// cache it moves exactly the bytes of ``twoPass``, which is memory-bound there too.
  case online

  /// The algorithm's name as the command-line tool and the benchmark tables print it.
  public var description: String {
    switch self {
    case .auto: "auto"
    case .twoPass: "two-pass"
    case .threePassRecompute: "three-pass-recompute"
    case .threePassReload: "three-pass-reload"
    case .online: "online"
    }
  }

  /// The algorithm whose ``description`` or raw value is `name`, if any (for the command line).
  package init?(name: String) {
    guard let match = Self.allCases.first(where: { $0.description == name || $0.rawValue == name })
    else { return nil }
    self = match
  }

  /// The concrete algorithm that runs for a row of `count` elements: the choice of ``auto``,
  /// or `self` for every other case.
  public func resolved(forCount count: Int) -> SoftmaxAlgorithm {
    self == .auto ? AutoPolicy.algorithm(forCount: count) : self
  }

  /// Whether the algorithm subtracts the row maximum in a first pass (the Three-Pass family).
  package var isThreePass: Bool {
    self == .threePassRecompute || self == .threePassReload
  }

  /// How many times each element crosses the memory bus, as whole-row reads and writes of
  /// 4-byte Floats, for a row too large for the caches. For ``auto`` it is the traffic of
  /// ``twoPass``, which `auto` picks for such rows on the C kernel sets; use
  /// ``resolved(forCount:)`` for one size and this process's kernels.
  public var memoryTraffic: MemoryTraffic {
    switch self {
    case .auto, .twoPass, .online: MemoryTraffic(reads: 2, writes: 1)
    case .threePassRecompute: MemoryTraffic(reads: 3, writes: 1)
    case .threePassReload: MemoryTraffic(reads: 3, writes: 2)
    }
  }
}

/// Whole-row passes over memory: how many times an algorithm reads and writes each element.
public struct MemoryTraffic: Sendable, Hashable, Codable {
  /// Reads of each element (input or intermediate values).
  public var reads: Int
  /// Writes of each element (intermediate values or the output).
  public var writes: Int

  /// Traffic of `reads` reads and `writes` writes per element.
  public init(reads: Int, writes: Int) {
    self.reads = reads
    self.writes = writes
  }

  /// Bytes moved per element when each element is `elementSize` bytes wide.
  package func bytesPerElement(elementSize: Int = MemoryLayout<Float>.size) -> Int {
    (reads + writes) * elementSize
  }
}
