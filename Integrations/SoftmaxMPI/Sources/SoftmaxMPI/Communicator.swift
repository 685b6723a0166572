// A communicator: rank, size, split, and the collectives this package runs.

internal import COpenMPI

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// What a communicator's collectives have sent: counted by this package's operations on it,
/// for tests (one collective per batch) and for `softmax-mpi bench`.
public final class CommunicationCounters {
  /// Collectives started (`MPI_Allreduce` calls).
  public private(set) var collectives = 0
  /// Bytes this rank contributed to them: the message size of each collective, summed.
  public private(set) var bytes = 0
  /// Seconds spent inside them (`MPI_Wtime`), waiting for other ranks included.
  public private(set) var seconds = 0.0

  init() {}

  func record(bytes: Int, seconds: Double) {
    collectives += 1
    self.bytes += bytes
    self.seconds += seconds
  }

  /// Sets every count to zero.
  public func reset() {
    collectives = 0
    bytes = 0
    seconds = 0
  }
}

/// An MPI communicator: a group of ranks that take part in collectives together.
///
/// ``world`` is every process of the job; ``split(color:key:)`` makes sub-communicators (for
/// example one per tensor-parallel group). Errors of MPI calls made through this package do
/// not return: they end the job with a one-line message naming the call and the rank (MPI's
/// error handler on these communicators is `MPI_ERRORS_RETURN`, and the package then calls
/// `MPI_Abort`). Not `Sendable`: MPI is initialized funneled, so use a communicator from the
/// thread that initialized MPI.
public struct Communicator {
  let handle: MPI_Comm
  /// This process's rank in the communicator, 0..<size.
  public let rank: Int
  /// The number of ranks.
  public let size: Int
  /// What the collectives on this communicator (this value and its copies) sent.
  public let counters: CommunicationCounters

  init(handle: MPI_Comm) {
    self.handle = handle
    var rank: Int32 = 0
    var size: Int32 = 0
    MPI_Comm_rank(handle, &rank)
    MPI_Comm_size(handle, &size)
    self.rank = Int(rank)
    self.size = Int(size)
    self.counters = CommunicationCounters()
  }

  /// Every process of the job (`MPI_COMM_WORLD`). Initializes MPI if needed
  /// (``MPIEnvironment/initialize()``). Each access makes a value with ``counters`` of its
  /// own: keep one and pass it (or its copies) around.
  public static var world: Communicator {
    MPIEnvironment.initialize()
    return Communicator(handle: softmax_mpi_comm_world())
  }

  /// Splits this communicator (`MPI_Comm_split`, a collective: every rank calls it): ranks
  /// with the same `color` form one new communicator, ordered by `key` and then by their rank
  /// here. A rank that passes a negative color takes part in none and gets nil.
  public func split(color: Int, key: Int) -> Communicator? {
    var result: MPI_Comm? = nil
    let c = color < 0 ? softmax_mpi_undefined() : Int32(clamping: color)
    check(MPI_Comm_split(handle, c, Int32(clamping: key), &result), "MPI_Comm_split")
    guard let result, result != softmax_mpi_comm_null() else { return nil }
    check(MPI_Comm_set_errhandler(result, softmax_mpi_errors_return()), "MPI_Comm_set_errhandler")
    return Communicator(handle: result)
  }

  /// Waits until every rank reaches the barrier (`MPI_Barrier`).
  public func barrier() {
    check(MPI_Barrier(handle), "MPI_Barrier")
  }

  /// The largest of `value` over the ranks (`MPI_Allreduce` with `MPI_MAX`, not counted in
  /// ``counters``: for measurements, not for the sharded operations).
  public func maximum(_ value: Double) -> Double {
    var x = value
    var result = 0.0
    check(
      MPI_Allreduce(&x, &result, 1, softmax_mpi_double(), softmax_mpi_op_max(), handle),
      "MPI_Allreduce")
    return result
  }

  /// Whether every rank passed the same `value` (two `MPI_Allreduce`s, minimum and maximum,
  /// not counted in ``counters``: for checks, not for the sharded operations).
  public func allEqual(_ value: UInt64) -> Bool {
    var x = Int64(bitPattern: value)
    var low: Int64 = 0
    var high: Int64 = 0
    check(
      MPI_Allreduce(&x, &low, 1, softmax_mpi_int64(), softmax_mpi_op_min(), handle),
      "MPI_Allreduce")
    check(
      MPI_Allreduce(&x, &high, 1, softmax_mpi_int64(), softmax_mpi_op_max(), handle),
      "MPI_Allreduce")
    return low == high
  }

  /// The bitwise XOR of `value` over the ranks (not counted in ``counters``: for digests).
  public func exclusiveOr(_ value: UInt64) -> UInt64 {
    var x = value
    var result: UInt64 = 0
    check(
      MPI_Allreduce(&x, &result, 1, softmax_mpi_uint64(), softmax_mpi_op_bxor(), handle),
      "MPI_Allreduce")
    return result
  }

  /// Ends the whole job: writes `SoftmaxMPI: rank R of N: message` to stderr and calls
  /// `MPI_Abort` on this communicator (which ends every rank of the job in Open MPI).
  public func fail(_ message: String) -> Never {
    writeError("SoftmaxMPI: rank \(rank) of \(size): \(message)")
    MPI_Abort(handle, 1)
    exit(1)
  }

  /// Fails the job when an MPI call did not succeed.
  func check(_ status: Int32, _ call: String) {
    if status != softmax_mpi_success() {
      fail("\(call) failed: \(errorText(status)) (a rank died or passed a different message)")
    }
  }

  /// Frees a communicator made by ``split(color:key:)`` (`MPI_Comm_free`, a collective).
  /// Never call it on ``world``.
  public func free() {
    precondition(
      handle != softmax_mpi_comm_world(), "Communicator.free: the world communicator is MPI's")
    var h: MPI_Comm? = handle
    check(MPI_Comm_free(&h), "MPI_Comm_free")
  }
}
