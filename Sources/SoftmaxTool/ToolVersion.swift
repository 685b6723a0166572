import Softmax

/// What `softmax --version` prints: the package version on the first line, then the kernel
/// set this process runs (which depends on the CPU and `SOFTMAX_ISA`), since timings and
/// accuracy figures mean little without it.
enum ToolVersion {
  static var text: String {
    """
    softmax \(SoftmaxRuntime.packageVersion)
    kernels: \(SoftmaxRuntime.selectedKernelSet), \(SoftmaxRuntime.kernelPath) \
    (this CPU: \(SoftmaxRuntime.availableKernelSets.joined(separator: ", ")))
    """
  }
}
