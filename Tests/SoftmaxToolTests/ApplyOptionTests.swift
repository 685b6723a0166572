import Foundation
import Testing

/// Options given twice, negative numbers, and options that do not apply: usage errors
/// (status 2) that say which, never silently ignored.
@Suite struct ApplyOptionTests {
  static let bytesNeeded = "--pipe-limit must be a number of bytes ≥ 0, optionally with K, M or G"

  @Test(
    arguments: [
      (
        ["-o", "a.csv", "-o", "b.csv"],
        "-o/--output may be given once, not 2 times ('a.csv', 'b.csv')"
      ),
      (["-o", "a", "--output", "b"], "-o/--output may be given once, not 2 times ('a', 'b')"),
      (["--axis", "0", "--axis", "-1"], "--axis may be given once, not 2 times ('0', '-1')"),
      (["--dtype", "x", "--dtype", "y"], "--dtype may be given once, not 2 times ('x', 'y')"),
      (["--threads", "-1"], "--threads must be at least 1, not -1"),
      (["--threads", "0"], "--threads must be at least 1, not 0"),
      (["--chunk-elements", "-5"], "--chunk-elements must be at least 1, not -5"),
      (["--pipe-limit", "-1"], "\(bytesNeeded), not '-1'"),
      (["--pipe-limit", "99999999999G"], "\(bytesNeeded), not '99999999999G'"),
    ] as [([String], String)])
  func refusedOptions(arguments: [String], message: String) throws {
    let scratch = try Scratch()
    try scratch.write("m.csv", text: "1,1\n")
    let result = try ToolRunner.run(["apply", "m.csv"] + arguments, in: scratch.url)
    #expect(result.status == 2)
    #expect(result.stderr == "softmax apply: \(message)\n")
    #expect(result.stdout.isEmpty && scratch.contents == ["m.csv"])
  }

  @Test func headerDoesNotApplyToNPY() throws {
    let scratch = try Scratch()
    try scratch.write("x.npy", NPYFixture.bytes([1, 2], descr: "<f4", shape: [2]))
    for arguments in [["x.npy"], ["-", "--format", "npy"]] {
      let result = try ToolRunner.run(
        ["apply"] + arguments + ["--header", "-o", "o.npy"], in: scratch.url)
      #expect(result.status == 2)
      #expect(
        result.stderr == "softmax apply: --header applies to text input, not .npy (its header "
          + "is not a text line)\n")
    }
    #expect(scratch.contents == ["x.npy"])
  }

  @Test func validNumbersStillWork() throws {
    let result = try ToolRunner.run(
      ["apply", "-", "--threads", "2", "--axis", "-1", "--pipe-limit", "1k"],
      stdin: Data("1,1\n".utf8))
    #expect(result.status == 0 && result.stdoutText == "0.5,0.5\n")
  }
}
