#if arch(x86_64)
  internal import _SoftmaxCKernels
#endif

/// The kernels of mixture-of-experts gating, outside the pass table: only the AVX-512 set
/// has one, the others compute their rows one by one in Swift.
package enum GatingKernels {
  /// The k largest logits of up to 16 rows at once, with e^(logit − row max) for each:
  /// (x, rows, n, k, maxima, terms, ids) → the mask of rows it could not finish (a NaN or an
  /// infinite maximum). Slot j of row r is at j·16 + r. For k ≤ min(8, n) and n ≤
  /// `topRowsLimit`.
  package typealias TopRows =
    @Sendable (
      UnsafePointer<Float>, Int, Int, Int, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>
    ) -> UInt32

  /// The longest rows `TopRows` takes (its gather offsets are 32-bit).
  package static let topRowsLimit = 1 << 26

  /// The kernel of the selected kernel set, or nil.
  package static let selected: TopRows? = topRows(for: PassKernels.selected.isa)

  /// The kernel of `isa` on this CPU, or nil (for tests of every set).
  package static func topRows(for isa: KernelISA) -> TopRows? {
    #if arch(x86_64)
      if isa == .avx512, PassKernels.table(for: .avx512) != nil {
        return { x, rows, n, k, maxima, terms, ids in
          softmax_gating_top16_avx512(x, rows, n, k, maxima, terms, ids)
        }
      }
    #endif
    return nil
  }
}
