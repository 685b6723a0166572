import Foundation
import Testing

/// Every user error: one line on standard error with the exact message, a non-zero status,
/// and no output file (nor temporary file) left behind.
@Suite struct ApplyErrorTests {
  /// Runs `softmax apply arguments…` in `scratch` and checks the failure.
  func expectFailure(
    _ arguments: [String], in scratch: Scratch, status: Int32, message: String,
    stdin: Data = Data(), sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let before = scratch.contents
    let result = try ToolRunner.run(["apply"] + arguments, stdin: stdin, in: scratch.url)
    #expect(result.status == status, "\(result.stderr)", sourceLocation: sourceLocation)
    #expect(result.stderr == message + "\n", sourceLocation: sourceLocation)
    #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
    #expect(scratch.contents == before, "files changed", sourceLocation: sourceLocation)
  }

  @Test func missingDirectoryAndUnknownFormat() throws {
    let scratch = try Scratch()
    try FileManager.default.createDirectory(
      atPath: scratch.path("folder.npy"), withIntermediateDirectories: false)
    try expectFailure(
      ["missing.npy", "-o", "o.npy"], in: scratch, status: 1,
      message: "softmax apply: missing.npy: No such file or directory")
    try expectFailure(
      ["folder.npy", "-o", "o.npy"], in: scratch, status: 1,
      message: "softmax apply: folder.npy: is a directory, not a file")
    try scratch.write("data.bin", [1, 2])
    try expectFailure(
      ["data.bin"], in: scratch, status: 2,
      message: "softmax apply: data.bin: cannot tell the format from the extension; use "
        + "--format npy|csv|tsv|text")
  }

  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
  func unreadableFile() throws {
    let scratch = try Scratch()
    try scratch.write("secret.csv", text: "1,2\n")
    chmod(scratch.path("secret.csv"), 0o000)
    chmod(scratch.url.path, 0o777)
    // Root reads anything; run the tool as nobody, who may not read the file.
    let result = try ToolRunner.run(
      ["apply", "secret.csv", "-o", "out.csv"], in: scratch.url,
      shellPrefix: "exec /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups")
    #expect(result.status == 1)
    #expect(result.stderr == "softmax apply: secret.csv: Permission denied\n")
    #expect(scratch.contents == ["secret.csv"])
  }

  @Test func brokenNPYFiles() throws {
    let scratch = try Scratch()
    let good = NPYFixture.bytes([1, 2, 3, 4], descr: "<f4", shape: [4])
    try scratch.write("truncated.npy", Array(good.dropLast(3)))
    try expectFailure(
      ["truncated.npy", "-o", "o.npy"], in: scratch, status: 1,
      message: "softmax apply: truncated.npy: truncated: the header promises 16 bytes of "
        + "float32 data (shape (4,)), the file has 13")
    try scratch.write("long.npy", good + [0])
    try expectFailure(
      ["long.npy", "-o", "o.npy"], in: scratch, status: 1,
      message: "softmax apply: long.npy: 1 bytes follow the 16 bytes of data the header "
        + "describes (a corrupt file, or several arrays in one file)")
    try scratch.write("magic.npy", Array("1,2,3\n".utf8))
    try expectFailure(
      ["magic.npy", "-o", "o.npy"], in: scratch, status: 1,
      message: "softmax apply: magic.npy: not a .npy file (it does not start with \\x93NUMPY)")
    var corrupt = good
    corrupt[10] = UInt8(ascii: "[")
    try scratch.write("corrupt.npy", corrupt)
    try expectFailure(
      ["corrupt.npy", "-o", "o.npy"], in: scratch, status: 1,
      message: "softmax apply: corrupt.npy: corrupt .npy header: the header is not a dictionary")
    try scratch.write("cut.npy", Array(good[0..<30]))
    try expectFailure(
      ["cut.npy", "-o", "o.npy"], in: scratch, status: 1,
      message: "softmax apply: cut.npy: truncated .npy header: it announces 128 bytes, the "
        + "file has 30")
    try scratch.write("empty.npy", [])
    try expectFailure(
      ["empty.npy", "-o", "o.npy"], in: scratch, status: 1,
      message: "softmax apply: empty.npy: the file is empty, not a .npy file")
  }

  @Test(arguments: [
    ("<i4", "int32"), ("<c16", "complex128"), ("|O", "Python objects"), ("|b1", "bool"),
  ])
  func unsupportedElementTypes(descr: String, name: String) throws {
    let scratch = try Scratch()
    try scratch.write("x.npy", NPYFixture.bytes([], descr: "<f4", shape: [0]).map { $0 })
    let header = NPYFixture.bytes([], descr: descr, shape: [0])
    try scratch.write("x.npy", header)
    try expectFailure(
      ["x.npy", "-o", "o.npy"], in: scratch, status: 1,
      message: "softmax apply: x.npy: unsupported element type '\(descr)' (\(name)): softmax "
        + "needs float16, float32 or float64")
  }

  @Test func textProblemsNameTheLineAndColumn() throws {
    let scratch = try Scratch()
    try scratch.write("bad.csv", text: "1,2,3\n4,five,6\n")
    try expectFailure(
      ["bad.csv"], in: scratch, status: 1,
      message: "softmax apply: bad.csv:2:2: 'five' is not a number")
    try scratch.write("ragged.csv", text: "1,2,3\n4,5\n")
    try expectFailure(
      ["ragged.csv"], in: scratch, status: 1,
      message: "softmax apply: ragged.csv:2: 2 values on this line, but 3 on the lines before "
        + "it (every line must have as many)")
    try scratch.write("empty.csv", text: "")
    try expectFailure(
      ["empty.csv"], in: scratch, status: 1, message: "softmax apply: empty.csv: the input is empty"
    )
    try expectFailure(
      ["-"], in: scratch, status: 1, message: "softmax apply: <stdin>:1:2: 'x' is not a number",
      stdin: Data("1 x\n".utf8))
  }

  @Test func usageErrors() throws {
    let scratch = try Scratch()
    try scratch.write("m.csv", text: "1,2\n3,4\n")
    try expectFailure(
      ["m.csv", "--axis", "2"], in: scratch, status: 2,
      message: "softmax apply: --axis 2 is out of range for an array of shape (2, 2) "
        + "(valid: -2...1)")
    try expectFailure(
      ["m.csv", "--temperature", "nan"], in: scratch, status: 2,
      message: "softmax apply: --temperature must be a finite number ≥ 0 (0 means argmax), "
        + "not nan")
    try expectFailure(
      ["m.csv", "--temperature", "-1"], in: scratch, status: 2,
      message: "softmax apply: --temperature must be a finite number ≥ 0 (0 means argmax), "
        + "not -1")
    try expectFailure(
      ["m.csv", "--temperature", "0", "--axis", "0"], in: scratch, status: 2,
      message: "softmax apply: --temperature 0 (argmax) needs the axis to be contiguous in "
        + "memory: the last axis of a C-order array, the first of a Fortran-order one")
    try expectFailure(
      ["m.csv", "--mask-policy", "ones"], in: scratch, status: 2,
      message: "softmax apply: --mask-policy: unknown policy 'ones' (known: zeros|nan)")
    try expectFailure(
      ["m.csv", "--bogus"], in: scratch, status: 2,
      message:
        "softmax apply: Unknown option '--bogus'. Did you mean '--log'? (see softmax apply --help)")
    try expectFailure(
      [], in: scratch, status: 2,
      message: "softmax apply: Missing expected argument '<input>' (see softmax apply --help)")
  }

  @Test func refusesToReplaceFilesWithoutForce() throws {
    let scratch = try Scratch()
    try scratch.write("m.csv", text: "1,1\n")
    try scratch.write("taken.csv", text: "keep me\n")
    try expectFailure(
      ["m.csv", "-o", "taken.csv"], in: scratch, status: 1,
      message: "softmax apply: taken.csv: already exists (use --force to replace it)")
    try expectFailure(
      ["m.csv", "-o", "m.csv"], in: scratch, status: 1,
      message: "softmax apply: m.csv: refusing to overwrite the input (use --force)")
    #expect(try scratch.read("taken.csv") == Array("keep me\n".utf8))
    let forced = try ToolRunner.run(["apply", "m.csv", "-o", "m.csv", "--force"], in: scratch.url)
    #expect(forced.status == 0)
    #expect(try scratch.read("m.csv") == Array("0.5,0.5\n".utf8))
    #expect(scratch.contents == ["m.csv", "taken.csv"])
  }

  @Test func aFullDiskLeavesNoFile() throws {
    let scratch = try Scratch()
    try scratch.write(
      "x.npy", NPYFixture.bytes(pseudoRandom(100_000, seed: 1), descr: "<f4", shape: [100_000]))
    // /dev/full fails every write with ENOSPC; it is written directly (it is not a file).
    try expectFailure(
      ["x.npy", "-o", "/dev/full"], in: scratch, status: 1,
      message: "softmax apply: cannot write /dev/full: No space left on device")
    // A file-size limit fails the write of a regular output: the temporary file is removed.
    let result = try ToolRunner.run(
      ["apply", "x.npy", "-o", "out.npy"], in: scratch.url, shellPrefix: "ulimit -f 100;")
    #expect(result.status == 1)
    #expect(result.stderr == "softmax apply: cannot write out.npy: File too large\n")
    #expect(scratch.contents == ["x.npy"])
  }
}
