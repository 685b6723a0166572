// The MPI environment: initialization, finalization, the clock, and the one way this package
// ends a job (a message on stderr, then MPI_Abort).

internal import COpenMPI

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The MPI environment of this process. MPI is process-wide by nature: initialize it once
/// before any ``Communicator`` is used and finalize it once at the end. This package asks for
/// `MPI_THREAD_FUNNELED`: call MPI only from the thread that initialized it (the softmax
/// kernels may still use their own worker threads).
public enum MPIEnvironment {
  /// Initializes MPI (`MPI_Init_thread`, funneled) if it is not yet initialized, and makes
  /// MPI errors on `MPI_COMM_WORLD` return to this package, which reports them as one line
  /// and ends the job (``Communicator/fail(_:)``) instead of leaving it to hang or to
  /// MPI's own generic message.
  public static func initialize() {
    var flag: Int32 = 0
    MPI_Initialized(&flag)
    if flag != 0 { return }
    var provided: Int32 = 0
    let status = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
    if status != softmax_mpi_success() {
      writeError("SoftmaxMPI: MPI_Init_thread failed with code \(status)")
      exit(1)
    }
    MPI_Comm_set_errhandler(softmax_mpi_comm_world(), softmax_mpi_errors_return())
  }

  /// Finalizes MPI (`MPI_Finalize`) if it was initialized and not yet finalized. Every rank
  /// must call it; a rank that exits without it makes `mpirun` end the whole job.
  public static func finalize() {
    var initialized: Int32 = 0
    var finalized: Int32 = 0
    MPI_Initialized(&initialized)
    MPI_Finalized(&finalized)
    if initialized != 0 && finalized == 0 { MPI_Finalize() }
  }

  /// Whether MPI is initialized and not finalized.
  public static var isActive: Bool {
    var initialized: Int32 = 0
    var finalized: Int32 = 0
    MPI_Initialized(&initialized)
    MPI_Finalized(&finalized)
    return initialized != 0 && finalized == 0
  }

  /// Seconds on MPI's clock (`MPI_Wtime`), for timing.
  public static var time: Double { MPI_Wtime() }
}

/// Writes one line to stderr with write(2): unbuffered, so it is out before MPI_Abort ends
/// the process.
func writeError(_ message: String) {
  var line = message
  line += "\n"
  line.withUTF8 { bytes in
    var offset = 0
    while offset < bytes.count {
      let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
      if written <= 0 { return }
      offset += written
    }
  }
}

/// The text of an MPI error code (`MPI_Error_string`).
func errorText(_ code: Int32) -> String {
  var buffer = [CChar](repeating: 0, count: Int(softmax_mpi_max_error_string()) + 1)
  var length: Int32 = 0
  MPI_Error_string(code, &buffer, &length)
  let bytes = buffer.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }
  return String(decoding: bytes, as: UTF8.self)
}
