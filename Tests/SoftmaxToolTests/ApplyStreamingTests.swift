import Foundation
import SoftmaxFiles
import Testing

/// The streamed path for 1-D `.npy` files: the same results as the loaded path, and memory
/// bounded by the chunk size rather than the file.
@Suite struct ApplyStreamingTests {
  @Test(arguments: ["<f2", ">f4", "<f8"])
  func streamingMatchesTheReference(descr: String) throws {
    let scratch = try Scratch()
    let count = 10_007
    var x = pseudoRandom(count, seed: 3, scale: 30)
    x[17] = -.infinity
    x[9_999] = 80
    if descr.hasSuffix("f2") { x = x.map { Double(Float16(Float($0))) } }
    try scratch.write("v.npy", NPYFixture.bytes(x, descr: descr, shape: [count]))
    let tolerance = descr.hasSuffix("f2") ? 1e-3 : (descr.hasSuffix("f4") ? 2e-5 : 1e-12)
    for extra in [[], ["--log"], ["--temperature", "3"], ["--temperature", "0"]] {
      for mode in ["always", "never"] {
        let result = try ToolRunner.run(
          [
            "apply", scratch.path("v.npy"), "-o", scratch.path("\(mode).npy"), "--force",
            "--stream", mode, "--chunk-elements", "1000",
          ] + extra)
        #expect(result.status == 0, "\(result.stderr)")
      }
      let (header, streamed) = try NPYFixture.read(scratch.read("always.npy"))
      let loaded = try NPYFixture.read(scratch.read("never.npy")).1
      #expect(
        header.shape == [count]
          && header.byteOrder == (descr.hasPrefix(">") ? .bigEndian : .littleEndian))
      let logarithm = extra == ["--log"]
      let temperature = extra.count == 2 ? Double(extra[1])! : 1
      if temperature == 0 {
        let argmax = x.indices.max { x[$0] < x[$1] }!
        #expect(streamed == x.indices.map { $0 == argmax ? 1 : 0 })
      } else {
        let expected = referenceSoftmax(
          x, shape: [count], axis: 0, logarithm: logarithm, temperature: temperature)
        // Probabilities: relative error above 1e-30 (the Float outputs flush below 2^-126 there).
        let floor = logarithm ? 1.0 : 1e-30
        // (Float16 outputs are compared where they are normal numbers, above 2^-14.)
        let smallest = descr.hasSuffix("f8") ? 0 : (descr.hasSuffix("f2") ? 0x1p-14 : 1e-35)
        let significant = zip(streamed, expected).filter { logarithm || abs($0.1) > smallest }
        #expect(
          maxRelativeError(significant.map(\.0), significant.map(\.1), floor: floor) <= tolerance,
          "\(extra)")
      }
      // Log-probabilities near 0 agree to the reference's absolute bound: the loaded path
      // takes log Σ after the maximum (exactly 0 for a dominant entry), the streamed one merges
      // Two-Pass normalizers (within 1e-7 of it).
      #expect(
        maxRelativeError(streamed, loaded, floor: logarithm ? 1 : 1e-30) <= 2 * tolerance,
        "\(extra)")
    }
  }

  /// Streamed Double log-softmax of huge logits keeps log(count): [1e17, 1e17] is −log 2 twice
  /// (an online sum once returned 0, computing x − (M + log S) in one rounding).
  @Test func streamedDoubleLogSoftmaxOfHugeLogits() throws {
    let scratch = try Scratch()
    try scratch.write("v.npy", NPYFixture.bytes([1e17, 1e17, -1e300], descr: "<f8", shape: [3]))
    for mode in ["always", "never"] {
      let result = try ToolRunner.run(
        [
          "apply", scratch.path("v.npy"), "-o", scratch.path("\(mode).npy"), "--force",
          "--stream", mode, "--log",
        ])
      #expect(result.status == 0, "\(result.stderr)")
      let values = try NPYFixture.read(scratch.read("\(mode).npy")).1
      #expect(values == [-log(2.0), -log(2.0), -1e300 - 1e17 - log(2.0)], "\(mode)")
    }
  }

  /// A streamed Double row of 2^20 elements whose terms are all 1 − δ but one: a running sum
  /// S ≥ 2^14 rounds S + (1 − δ) up to S + 1 for δ = 2^-40, so an uncompensated sum is off by
  /// almost δ ≈ 9e-13 relative. The maximum comes early (an online sum would otherwise add
  /// exact 1s until it arrives); rescaling is covered by the test above.
  @Test func streamedDoubleSumIsCompensated() throws {
    let scratch = try Scratch()
    let count = 1 << 20
    let delta = 0x1p-40
    var x = [Double](repeating: -delta, count: count)
    x[5] = 0
    try scratch.write("d.npy", NPYFixture.bytes(x, descr: "<f8", shape: [count]))
    let result = try ToolRunner.run(
      [
        "apply", scratch.path("d.npy"), "-o", scratch.path("o.npy"), "--force", "--stream",
        "always", "--chunk-elements", "100000",
      ])
    #expect(result.status == 0, "\(result.stderr)")
    let y = try NPYFixture.read(scratch.read("o.npy")).1
    // The reference sum, compensated (Neumaier): 1 + (n − 1) terms e^-δ.
    let term = exp(-delta)
    var (sum, compensation) = (1.0, 0.0)
    for _ in 1..<count {
      let t = sum + term
      compensation += sum >= term ? (sum - t) + term : (term - t) + sum
      sum = t
    }
    let total = sum + compensation
    let expected = x.map { $0 == 0 ? 1 / total : term / total }
    #expect(maxRelativeError(y, expected) <= 1e-13)
  }

  @Test func specialValuesWhileStreaming() throws {
    let scratch = try Scratch()
    func run(_ x: [Double], _ extra: [String] = []) throws -> [Double] {
      try scratch.write("s.npy", NPYFixture.bytes(x, descr: "<f4", shape: [x.count]))
      let result = try ToolRunner.run(
        [
          "apply", scratch.path("s.npy"), "-o", scratch.path("o.npy"), "--force", "--stream",
          "always", "--chunk-elements", "3",
        ] + extra)
      #expect(result.status == 0, "\(result.stderr)")
      return try NPYFixture.read(scratch.read("o.npy")).1
    }
    let infinities = try run([1, .infinity, 2, 3, .infinity, 0, 0])
    #expect(infinities == [0, 0.5, 0, 0, 0.5, 0, 0])
    #expect(try run([1, 2, .nan, 3, 4]).allSatisfy { $0.isNaN })
    let masked = [Double](repeating: -.infinity, count: 7)
    #expect(try run(masked) == [Double](repeating: 0, count: 7))
    #expect(try run(masked, ["--mask-policy", "nan"]).allSatisfy { $0.isNaN })
    #expect(try run(masked, ["--log"]) == masked)
  }

  /// 128 MiB of floats under a 150 MB address-space limit: loading needs the array plus the
  /// runtime (about 85 MB here), streaming a 16 MiB chunk. With `--stream never` the tool
  /// reports the shortage; by default it falls back to streaming.
  @Test(.enabled(if: ProcessInfo.processInfo.environment["SOFTMAX_SKIP_LARGE_TESTS"] == nil))
  func largerThanTheMemoryLimit() throws {
    let scratch = try Scratch()
    let count = 1 << 25
    var bytes = NPYFixture.bytes([], descr: "<f4", shape: [count])
    bytes.reserveCapacity(bytes.count + 4 * count)
    var state: UInt32 = 1
    for _ in 0..<count {
      state = state &* 1_664_525 &+ 1_013_904_223
      let value = Float(Int32(bitPattern: state >> 8)) * 0x1p-20
      withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
    }
    try scratch.write("big.npy", bytes)
    bytes = []
    let limit = "ulimit -v 150000;"
    let refused = try ToolRunner.run(
      ["apply", "big.npy", "-o", "out.npy", "--stream", "never"], in: scratch.url,
      shellPrefix: limit)
    #expect(refused.status == 1)
    #expect(
      refused.stderr == "softmax apply: big.npy: not enough memory to load the array "
        + "(134217728 bytes); --stream always processes it in chunks\n")
    #expect(scratch.contents == ["big.npy"])
    let streamed = try ToolRunner.run(
      ["apply", "big.npy", "-o", "out.npy", "--progress"], in: scratch.url, shellPrefix: limit)
    #expect(streamed.status == 0, "\(streamed.stderr)")
    #expect(streamed.stderr.contains("softmax apply [##############################] 100%"))
    let output = try scratch.read("out.npy")
    let header = try NPYHeader(parsing: output)
    #expect(header.shape == [count] && output.count == header.dataOffset + 4 * count)
    // Σ y = 1 over the whole file, summed in Double.
    var sum = 0.0
    output[header.dataOffset...].withUnsafeBytes { raw in
      for i in 0..<count {
        sum += Double(Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
      }
    }
    #expect(abs(sum - 1) < 1e-4)
  }
}
