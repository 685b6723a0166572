/// Facts about the kernels this build of the library runs, for logs and benchmark headers.
public enum SoftmaxRuntime {
  /// A one-line description of the kernel implementation and instruction set in use, such as
  /// "portable Swift SIMD16<Float> (x86_64, SSE2 baseline)".
  public static var kernelPath: String {
    "portable Swift SIMD16<Float> (\(architecture), \(vectorISA))"
  }

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

  /// The widest vector instruction set the compiler was allowed to use for the portable kernels.
  static var vectorISA: String {
    #if arch(x86_64)
      "SSE2 baseline unless built with -target-cpu"
    #elseif arch(arm64)
      "NEON"
    #else
      "scalar or compiler default"
    #endif
  }
}
