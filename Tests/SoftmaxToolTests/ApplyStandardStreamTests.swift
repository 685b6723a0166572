import Foundation
import Testing

/// A closed or full standard error (or input, or output) changes nothing but what can be
/// seen: the exit status is the same, and no output file receives what was meant for them.
@Suite struct ApplyStandardStreamTests {
  @Test(arguments: ["exec 2>&-;", "exec 2>/dev/full;"])
  func errorsToAnUnwritableStandardErrorKeepTheirStatus(redirect: String) throws {
    let scratch = try Scratch()
    try scratch.write("bad.csv", text: "1,x\n")
    for (arguments, status) in [
      (["apply", "missing.npy"], 1), (["apply", "bad.csv"], 1),
      (["apply", "bad.csv", "--bogus"], 2),
      (["apply", "bad.csv", "--threads", "0"], 2), (["bench", "--sizes", "x"], 2),
    ] as [([String], Int32)] {
      let result = try ToolRunner.run(arguments, in: scratch.url, shellPrefix: redirect)
      #expect(result.status == status, "\(arguments)")
      #expect(result.stderr.isEmpty && result.stdout.isEmpty)
    }
    #expect(scratch.contents == ["bad.csv"])
  }

  /// With standard input and error closed, the input file took descriptor 0 and the output
  /// descriptor 2, so the progress bar was written into the output.
  @Test func closedStandardDescriptorsAreNotReusedForFiles() throws {
    let scratch = try Scratch()
    let x = pseudoRandom(1000, seed: 2)
    try scratch.write("x.npy", NPYFixture.bytes(x, descr: "<f8", shape: [1000]))
    let result = try ToolRunner.run(
      ["apply", "x.npy", "-o", "o.npy", "--progress", "--stream", "always"], in: scratch.url,
      shellPrefix: "exec 0<&- 2>&-;")
    #expect(result.status == 0)
    let output = try scratch.read("o.npy")
    // Exactly the header (128 bytes) and the data: nothing else was written into it.
    try #require(output.count == 128 + 8 * 1000)
    let (_, y) = try NPYFixture.read(output)
    #expect(maxRelativeError(y, referenceSoftmax(x, shape: [1000], axis: 0)) < 1e-13)
    // A closed standard output is still an error, not a silent loss.
    let closed = try ToolRunner.run(["apply", "-"], in: scratch.url, shellPrefix: "exec >&-;")
    #expect(closed.status == 1)
    #expect(closed.stderr == "softmax apply: <stdin>: the input is empty\n")
    let lost = try ToolRunner.run(
      ["apply", "x.npy", "--output-format", "csv"], in: scratch.url, shellPrefix: "exec >&-;")
    #expect(lost.status == 1)
    #expect(lost.stderr == "softmax apply: cannot write <stdout>: Bad file descriptor\n")
  }
}
