import Softmax
import SoftmaxFiles
internal import SoftmaxKernels

/// What pass 1 keeps of a vector streamed in chunks, and how pass 2 turns each chunk into
/// outputs: the library's, for both. Every chunk of pass 2 must be one pass 1 accumulated,
/// transformed the same way.
protocol StreamingAccumulator {
  associatedtype Scalar: ComputeScalar & SoftmaxElement
  mutating func accumulate(_ chunk: UnsafeBufferPointer<Scalar>, threads: Int?)
  /// Whether only −inf (or nothing) was accumulated.
  var isEmpty: Bool { get }
  func normalize(_ chunk: UnsafeMutableBufferPointer<Scalar>, logarithm: Bool, threads: Int?)
}

/// Float or Double chunks: the library's mergeable normalizer (the Two-Pass sum for Float,
/// the maximum and a compensated Σ e^(x − max) for Double, so logits of any finite Double
/// magnitude keep their precision: log-softmax subtracts the maximum before log Σ).
struct NormalizerAccumulator<Scalar: ComputeScalar & SoftmaxElement>: StreamingAccumulator {
  var total = SoftmaxNormalizer()

  mutating func accumulate(_ chunk: UnsafeBufferPointer<Scalar>, threads: Int?) {
    total.merge(SoftmaxNormalizer(accumulating: chunk, threads: threads))
  }

  var isEmpty: Bool { total.isEmpty }

  func normalize(_ chunk: UnsafeMutableBufferPointer<Scalar>, logarithm: Bool, threads: Int?) {
    if logarithm {
      total.logNormalize(UnsafeBufferPointer(chunk), into: chunk, threads: threads)
    } else {
      total.normalize(UnsafeBufferPointer(chunk), into: chunk, threads: threads)
    }
  }
}

/// Temperature 0: the largest entries share the mass equally (the library's argmax limit).
struct ArgmaxAccumulator<Scalar: ComputeScalar & SoftmaxElement>: StreamingAccumulator {
  var limit = ArgmaxLimit<Scalar>()

  mutating func accumulate(_ chunk: UnsafeBufferPointer<Scalar>, threads: Int?) {
    guard let x = chunk.baseAddress else { return }
    limit.accumulate(x, count: chunk.count)
  }

  var isEmpty: Bool { limit.isEmpty }

  func normalize(_ chunk: UnsafeMutableBufferPointer<Scalar>, logarithm: Bool, threads: Int?) {
    guard let y = chunk.baseAddress else { return }
    limit.write(
      UnsafePointer(y), y, count: chunk.count,
      output: logarithm ? .logProbabilities : .probabilities)
  }
}

/// Softmax of a 1-D `.npy` too large to load: pass 1 reads it chunk by chunk into
/// `accumulator`, pass 2 reads it again, normalizes each chunk and appends it to `sink`.
/// Memory: one chunk in the compute type plus a 1 MiB conversion buffer.
func streamSoftmax<A: StreamingAccumulator>(
  source: NPYSource, sink: NPYSink, accumulator: A, plan: ApplyPlan, progress: ProgressBar
) throws(ToolError) {
  var accumulator = accumulator
  let count = source.count
  let chunk = min(plan.chunkElements, max(count, 1))
  let buffer = UnsafeMutableBufferPointer<A.Scalar>.allocate(capacity: chunk)
  defer { buffer.deallocate() }
  let divisor = A.Scalar(plan.temperature)
  let divides = plan.temperature != 1 && plan.temperature != 0
  let bytesPerElement = source.header.elementType.size

  func load(_ start: Int) throws(ToolError) -> UnsafeMutableBufferPointer<A.Scalar> {
    let part = UnsafeMutableBufferPointer(rebasing: buffer[0..<min(chunk, count - start)])
    try source.read(from: start, into: part)
    if divides { for i in part.indices { part[i] /= divisor } }
    progress.advance(by: part.count * bytesPerElement)
    return part
  }

  for start in stride(from: 0, to: count, by: chunk) {
    accumulator.accumulate(UnsafeBufferPointer(try load(start)), threads: plan.threads)
  }
  let fillNaN = accumulator.isEmpty && plan.fullyMaskedRows == .nan
  for start in stride(from: 0, to: count, by: chunk) {
    let part = try load(start)
    if fillNaN {
      part.update(repeating: .nan)
    } else {
      accumulator.normalize(part, logarithm: plan.logarithm, threads: plan.threads)
    }
    try sink.write(UnsafeBufferPointer(part))
  }
}
