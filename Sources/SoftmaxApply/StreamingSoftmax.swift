import Softmax
import SoftmaxFiles

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// What pass 1 keeps of a vector streamed in chunks, and how pass 2 turns each chunk into
/// outputs. Every chunk of pass 2 must be one pass 1 accumulated, transformed the same way.
protocol StreamingAccumulator {
  associatedtype Scalar: ComputeScalar
  mutating func accumulate(_ chunk: UnsafeBufferPointer<Scalar>, threads: Int?)
  /// Whether only −inf (or nothing) was accumulated.
  var isEmpty: Bool { get }
  func normalize(_ chunk: UnsafeMutableBufferPointer<Scalar>, logarithm: Bool, threads: Int?)
}

/// Float chunks: the library's mergeable normalizer (the Two-Pass sum).
struct NormalizerAccumulator: StreamingAccumulator {
  var total = SoftmaxNormalizer()

  mutating func accumulate(_ chunk: UnsafeBufferPointer<Float>, threads: Int?) {
    total.merge(SoftmaxNormalizer(accumulating: chunk, threads: threads))
  }

  var isEmpty: Bool { total.isEmpty }

  func normalize(_ chunk: UnsafeMutableBufferPointer<Float>, logarithm: Bool, threads: Int?) {
    if logarithm {
      total.logNormalize(UnsafeBufferPointer(chunk), into: chunk, threads: threads)
    } else {
      total.normalize(UnsafeBufferPointer(chunk), into: chunk, threads: threads)
    }
  }
}

/// Double chunks: a running maximum M and S = Σ e^(x − M), rescaled when a chunk raises M
/// (the online softmax, chunk by chunk, in Double scalars: streams are read from disk, so the
/// arithmetic is not the bottleneck). Streamed rows have hundreds of millions of terms, so S
/// is a compensated sum (TwoSum into `compensation`, as the library's Double rows): its
/// rounding error stays near one ulp instead of growing with the count, and M moves at most
/// once per chunk, so the rescalings' roundings do not grow with it either. Special values as
/// in the library: NaN anywhere gives NaN, +inf entries share the mass, only −inf gives an
/// empty sum.
struct DoubleOnlineAccumulator: StreamingAccumulator {
  var maximum = -Double.infinity
  var sum = 0.0
  var compensation = 0.0
  var infinities = 0
  var sawNaN = false

  mutating func accumulate(_ chunk: UnsafeBufferPointer<Double>, threads: Int?) {
    var chunkMaximum = -Double.infinity
    for x in chunk {
      if x.isNaN {
        sawNaN = true
      } else if x == .infinity {
        infinities += 1
      } else if x > chunkMaximum {
        chunkMaximum = x
      }
    }
    guard chunkMaximum > -.infinity else { return }
    if chunkMaximum > maximum {
      // e^(M − M') ≤ 1; 0 for the first finite chunk (M = −inf, S = 0).
      let rescale = exp(maximum - chunkMaximum)
      sum *= rescale
      compensation *= rescale
      maximum = chunkMaximum
    }
    // NaN and ±inf fail the comparisons: they were counted above.
    for x in chunk where x > -.infinity && x < .infinity {
      let term = exp(x - maximum)
      let total = sum + term
      let termPart = total - sum
      compensation += (sum - (total - termPart)) + (term - termPart)
      sum = total
    }
  }

  var isEmpty: Bool { !sawNaN && infinities == 0 && sum == 0 }

  func normalize(_ chunk: UnsafeMutableBufferPointer<Double>, logarithm: Bool, threads: Int?) {
    let sum = sum + compensation
    let logSum = maximum + log(sum)
    for i in chunk.indices {
      let x = chunk[i]
      if sawNaN {
        chunk[i] = .nan
      } else if infinities > 0 {
        let share = x == .infinity ? 1 / Double(infinities) : 0
        chunk[i] = logarithm ? log(share) : share
      } else if sum == 0 {
        chunk[i] = logarithm ? -.infinity : 0
      } else {
        chunk[i] = logarithm ? x - logSum : exp(x - maximum) / sum
      }
    }
  }
}

/// Temperature 0: the largest entries share the mass equally (as the library's argmax limit).
struct ArgmaxAccumulator<Scalar: ComputeScalar>: StreamingAccumulator {
  var maximum = -Scalar.infinity
  var ties = 0
  var sawNaN = false

  mutating func accumulate(_ chunk: UnsafeBufferPointer<Scalar>, threads: Int?) {
    for x in chunk {
      if x.isNaN {
        sawNaN = true
      } else if x > maximum {
        maximum = x
        ties = 1
      } else if x == maximum && x > -.infinity {
        ties += 1
      }
    }
  }

  var isEmpty: Bool { !sawNaN && ties == 0 }

  func normalize(_ chunk: UnsafeMutableBufferPointer<Scalar>, logarithm: Bool, threads: Int?) {
    let share = Scalar(1 / Double(max(ties, 1)))
    let logShare = Scalar(-log(Double(max(ties, 1))))
    for i in chunk.indices {
      if sawNaN {
        chunk[i] = .nan
      } else if ties > 0 && chunk[i] == maximum {
        chunk[i] = logarithm ? logShare : share
      } else {
        chunk[i] = logarithm ? -.infinity : 0
      }
    }
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
