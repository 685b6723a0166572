internal import SoftmaxKernels

/// Facts about the kernels this build of the library runs, for logs and benchmark headers.
public enum SoftmaxRuntime {
  /// This package's version: the latest release in CHANGELOG.md, with "+unreleased" while
  /// that file lists unreleased changes (a test holds the two together). `softmax --version`
  /// prints it.
  package static let packageVersion = "0.1.0+unreleased"

  /// A one-line description of the kernels in use, such as "AVX-512 C kernels (16 lanes,
  /// vscalefps)". The library picks the widest instruction set the CPU supports, once per
  /// process; the environment variable `SOFTMAX_ISA` (`portable`, `avx2` or `avx512`) forces
  /// another supported one.
  public static var kernelPath: String { PassKernels.selected.description }

  /// The instruction-set names of every kernel set this CPU can run, narrowest first: a subset
  /// of `portable`, `avx2`, `avx512`.
  public static var availableKernelSets: [String] { PassKernels.available.map(\.isa.rawValue) }

  /// The name of the kernel set in use (an element of ``availableKernelSets``).
  public static var selectedKernelSet: String { PassKernels.selected.isa.rawValue }

  /// The CPU architecture the library was compiled for.
  public static var architecture: String {
    #if arch(x86_64)
      "x86_64"
    #elseif arch(arm64)
      "arm64"
    #else
      "other"
    #endif
  }
}
