import Softmax
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// The library's accuracy bar: every probability ≥ 2^-124 within this relative error.
let relativeTolerance = 1e-5

/// Every kernel set, by name, for parameterized tests; sets this CPU lacks are skipped.
let allISAs = KernelISA.allCases

/// The heaviest sweeps run only in the optimized test run (`swift test -c release`, which CI
/// runs): in a debug build they took 70 of the suite's 240 seconds, repeating at smaller sizes
/// what they check at full size there, and the library has no debug-only checks.
let optimizedRunOnly = ConditionTrait.enabled(
  if: !isDebugBuild, "a heavy sweep: swift test -c release runs it")

/// Runs `algorithm` with the input placed `offset` floats into a larger allocation, so that
/// loads and stores are misaligned for every vector width: through the public buffer API when
/// `isa` is nil, else on that kernel set (which must be available).
func runSoftmax(
  _ x: [Float], _ algorithm: SoftmaxAlgorithm, offset: Int = 0, isa: KernelISA? = nil,
  threads: Int? = nil
) -> [Float] {
  let storage = UnsafeMutableBufferPointer<Float>.allocate(capacity: 2 * x.count + 2 * offset + 2)
  defer { storage.deallocate() }
  storage.initialize(repeating: .nan)
  let input = UnsafeMutableBufferPointer(rebasing: storage[offset..<(offset + x.count)])
  _ = input.initialize(from: x)
  let start = 2 * offset + x.count + 1
  let output = UnsafeMutableBufferPointer(rebasing: storage[start..<(start + x.count)])
  if let isa, let kernels = PassKernels.table(for: isa) {
    if !x.isEmpty {
      RowAlgorithms.run(
        algorithm, input.baseAddress!, output.baseAddress!, count: x.count,
        threads: threads ?? 1, kernels: kernels)
    }
  } else {
    precondition(isa == nil, "kernel set \(isa!) is not available on this CPU")
    softmax(UnsafeBufferPointer(input), into: output, algorithm: algorithm, threads: threads)
  }
  // The floats around the output must be untouched.
  precondition(storage[start - 1].isNaN && storage[start + x.count].isNaN, "wrote out of bounds")
  return Array(output)
}

/// Expects `output` to match the reference softmax of `x` within the contract.
func expectAccurate(
  _ output: [Float], for x: [Float], _ context: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  let report = compare(output, with: ReferenceSoftmax.softmax(x))
  #expect(
    report.maxRelativeError <= relativeTolerance && report.violations.isEmpty,
    "\(context): \(report)", sourceLocation: sourceLocation)
  #expect(report.sumError <= 1e-5, "\(context): \(report)", sourceLocation: sourceLocation)
}

/// Whether this CPU can run the kernel set (tests for other sets return early).
func supported(_ isa: KernelISA) -> Bool { PassKernels.table(for: isa) != nil }
