// The one collective: MPI_Allreduce of a message of records with the user-defined operation.

internal import COpenMPI
import Softmax

/// The layout of records of `bytes` bytes: the operation learns it from the datatype alone,
/// so every layout a batch or `allReduce` uses has a size of its own (a test checks it).
func recordLayout(ofSize bytes: Int) -> RecordLayout {
  switch bytes {
  case 8: RecordLayout(.compact)
  case 12: RecordLayout(.compact, targetWords: 1)
  case 20: RecordLayout(.compact, targetWords: 1, hasLogitSum: true)
  case 24: RecordLayout(.full)
  case 32: RecordLayout(.full, targetWords: 2)
  default: RecordLayout(.full, targetWords: 2, hasLogitSum: true)
  }
}

/// The MPI user function: merges the records of `input` into `inout` (`len` of them, of the
/// contiguous datatype whose size says the layout).
private func mergeOperation(
  _ input: UnsafeMutableRawPointer?, _ accumulated: UnsafeMutableRawPointer?,
  _ length: UnsafeMutablePointer<Int32>?, _ datatype: UnsafeMutablePointer<MPI_Datatype?>?
) {
  guard let input, let accumulated, let length, let datatype else { return }
  var size: Int32 = 0
  MPI_Type_size(datatype.pointee, &size)
  mergeRecords(
    input.assumingMemoryBound(to: UInt32.self),
    into: accumulated.assumingMemoryBound(to: UInt32.self),
    count: Int(length.pointee), layout: recordLayout(ofSize: Int(size)))
}

extension Communicator {
  /// Reduces `message` (records of `layout`, the first a header) in place across the ranks:
  /// one `MPI_Allreduce` with a commutative user operation on a contiguous datatype of one
  /// record. The datatype and the operation are made and freed around the call (local calls,
  /// no communication), so nothing is kept between calls.
  func reduce(_ message: UnsafeMutableBufferPointer<UInt32>, layout: RecordLayout) {
    let records = message.count / layout.words
    precondition(records * layout.words == message.count)
    if records > Int(Int32.max) {
      fail(
        "a batch of \(records - layout.headerRecords) rows is beyond MPI's count limit of 2^31 - 1 - \(layout.headerRecords)"
      )
    }
    var type: MPI_Datatype? = nil
    check(
      MPI_Type_contiguous(Int32(layout.bytes), softmax_mpi_byte(), &type), "MPI_Type_contiguous")
    check(MPI_Type_commit(&type), "MPI_Type_commit")
    var op: MPI_Op? = nil
    check(MPI_Op_create(mergeOperation, 1, &op), "MPI_Op_create")
    let start = MPI_Wtime()
    check(
      MPI_Allreduce(
        softmax_mpi_in_place(), message.baseAddress, Int32(records), type, op, handle),
      "MPI_Allreduce")
    counters.record(bytes: message.count * 4, seconds: MPI_Wtime() - start)
    check(MPI_Op_free(&op), "MPI_Op_free")
    check(MPI_Type_free(&type), "MPI_Type_free")
  }

  /// Merges `normalizers` element by element across the ranks, in place: every rank ends
  /// with the normalizers of everything every rank accumulated, for data-parallel streaming
  /// (each rank accumulates its part of a long row, or its slice of a batch's statistics).
  ///
  /// One `MPI_Allreduce` of 24 bytes per normalizer (shift, mantissa, exponent and +inf
  /// count, exact for normalizers of any element type) and a 24-byte header. Every rank gets the same bits, and a run gives the same bits
  /// again for the same rank count: the merge of two normalizers does not depend on which
  /// comes first. Ranks that pass different counts end the job with a message.
  public func allReduce(_ normalizers: inout [SoftmaxNormalizer]) {
    let layout = RecordLayout.normalizers
    var fingerprint = Fingerprint()
    fingerprint.add(0x4e4f_524d)  // "NORM"
    fingerprint.add(normalizers.count)
    let first = layout.headerRecords
    var message = [UInt32](repeating: 0, count: layout.messageWords(rows: normalizers.count))
    message.withUnsafeMutableBufferPointer { m in
      let base = m.baseAddress!
      storeHeader(fingerprint: fingerprint.value, width: 0, layout: layout, base)
      for (i, n) in normalizers.enumerated() { store(n, base + (first + i) * layout.words, layout) }
      reduce(m, layout: layout)
      if let problem = headerProblem(
        base, fingerprint: fingerprint.value, ranks: size, classes: nil, layout: layout)
      {
        fail("allReduce of \(normalizers.count) normalizers: \(problem)")
      }
      for i in normalizers.indices {
        normalizers[i] = load(base + (first + i) * layout.words, layout)
      }
    }
  }
}
