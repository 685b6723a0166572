import Foundation
import SoftmaxFiles
import Testing

/// Standard input, pipes and devices: the header is checked before anything else is read,
/// `.npy` data is read straight into the array, and what must be held in memory is bounded by
/// `--pipe-limit`. Each case finishes in well under a second; the timing bound is generous.
@Suite struct ApplyPipeInputTests {
  func expectQuickFailure(
    _ arguments: [String], in scratch: Scratch, shellPrefix: String? = nil, stdin: Data = Data(),
    status: Int32 = 1, message: String, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let before = scratch.contents
    let start = Date()
    let result = try ToolRunner.run(
      ["apply"] + arguments, stdin: stdin, in: scratch.url, shellPrefix: shellPrefix)
    #expect(Date().timeIntervalSince(start) < 5, sourceLocation: sourceLocation)
    #expect(result.status == status, sourceLocation: sourceLocation)
    #expect(result.stderr == message + "\n", sourceLocation: sourceLocation)
    #expect(scratch.contents == before, "files changed", sourceLocation: sourceLocation)
  }

  @Test func endlessZerosFailAtTheFirstBytes() throws {
    let scratch = try Scratch()
    try expectQuickFailure(
      ["/dev/zero", "--format", "npy", "-o", "o.npy"], in: scratch,
      message: "softmax apply: /dev/zero: not a .npy file (it does not start with \\x93NUMPY)")
    try expectQuickFailure(
      ["/dev/zero", "--format", "csv"], in: scratch,
      message: "softmax apply: /dev/zero:1: a NUL byte at byte 1 of the line: the input is "
        + "binary, not text")
    // Gigabytes on standard input: refused after the first bytes (the writer gets SIGPIPE).
    try expectQuickFailure(
      ["-", "--format", "npy", "-o", "o.npy"], in: scratch,
      shellPrefix: "head -c 4000000000 /dev/zero |",
      message: "softmax apply: <stdin>: not a .npy file (it does not start with \\x93NUMPY)")
  }

  @Test func pipeLimitBoundsText() throws {
    let scratch = try Scratch()
    try expectQuickFailure(
      ["-", "--pipe-limit", "64K"], in: scratch, shellPrefix: "yes 1,2 |",
      message: "softmax apply: <stdin>: more than 65536 bytes from a pipe or device, which must "
        + "be held in memory (--pipe-limit); save the input to a file or raise the limit")
    let within = try ToolRunner.run(
      ["apply", "-", "--pipe-limit", "8"], stdin: Data("1,1\n3,3\n".utf8))
    #expect(within.status == 0 && within.stdoutText == "0.5,0.5\n0.5,0.5\n")
    // Regular files are read in pieces and not bounded.
    try scratch.write("m.csv", text: "1,1\n3,3\n")
    let file = try ToolRunner.run(["apply", "m.csv", "--pipe-limit", "1"], in: scratch.url)
    #expect(file.status == 0 && file.stdoutText == "0.5,0.5\n0.5,0.5\n")
  }

  @Test func npyOnStandardInput() throws {
    let scratch = try Scratch()
    let x = pseudoRandom(12, seed: 7)
    let good = NPYFixture.bytes(x, descr: ">f8", shape: [3, 4])
    let result = try ToolRunner.run(
      ["apply", "-", "--format", "npy", "-o", "o.npy", "--axis", "0"], stdin: Data(good),
      in: scratch.url)
    #expect(result.status == 0, "\(result.stderr)")
    let (header, y) = try NPYFixture.read(scratch.read("o.npy"))
    #expect(header.shape == [3, 4] && header.byteOrder == .bigEndian)
    #expect(maxRelativeError(y, referenceSoftmax(x, shape: [3, 4], axis: 0)) < 1e-15)
    try FileManager.default.removeItem(atPath: scratch.path("o.npy"))

    let arguments = ["-", "--format", "npy", "-o", "o.npy"]
    try expectQuickFailure(
      arguments, in: scratch, stdin: Data(good.dropLast(5)),
      message: "softmax apply: <stdin>: truncated: the header promises 96 bytes of float64 "
        + "data (shape (3, 4)), the input has 91")
    try expectQuickFailure(
      arguments, in: scratch, stdin: Data(good + [0]),
      message: "softmax apply: <stdin>: more bytes follow the 96 bytes of data the header "
        + "describes (a corrupt file, or several arrays in one file)")
    // The limit is checked against the header's promise, before any data is read.
    try expectQuickFailure(
      arguments + ["--pipe-limit", "95"], in: scratch, stdin: Data(good),
      message: "softmax apply: <stdin>: the header promises 96 bytes of data, more than the 95 "
        + "bytes (--pipe-limit) held in memory from a pipe or device; save the input to a "
        + "file or raise the limit")
    // A header promising 4 TiB, then zeros without end: refused after the header.
    try scratch.write("header.bin", NPYFixture.bytes([], descr: "<f4", shape: [1 << 40]))
    try expectQuickFailure(
      arguments, in: scratch, shellPrefix: "cat header.bin /dev/zero |",
      message: "softmax apply: <stdin>: the header promises 4398046511104 bytes of data, more "
        + "than the 1073741824 bytes (--pipe-limit) held in memory from a pipe or device; save "
        + "the input to a file or raise the limit")
    try expectQuickFailure(
      arguments + ["--stream", "always"], in: scratch,
      stdin: Data(NPYFixture.bytes([1, 2], descr: "<f4", shape: [2])), status: 2,
      message: "softmax apply: --stream always needs a 1-D .npy input in a regular file (it is "
        + "read twice) and a .npy output")
  }
}
