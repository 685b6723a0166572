import Foundation
import SoftmaxFiles
import Testing

/// Text as careless tools and editors write it, and values past Float's range: every value is
/// read and computed in Double, and what cannot be read is a one-line error whose quoted
/// input never carries a raw control character.
@Suite struct ApplyCarelessTextTests {
  func apply(_ text: String, _ extra: [String] = []) throws -> ToolRunner.Result {
    try ToolRunner.run(["apply", "-"] + extra, stdin: Data(text.utf8))
  }

  /// 1e39 and 1e40 overflow Float: read as Float they were two infinities that tied.
  @Test func valuesBeyondFloatAreComputedInDouble() throws {
    #expect(try apply("1e39,1e40\n").stdoutText == "0.0,1.0\n")
    #expect(try apply("-1e39,-1e40\n").stdoutText == "1.0,0.0\n")
    // Below Float's smallest subnormal: a temperature separates them.
    #expect(try apply("1e-50,3e-50\n", ["--temperature", "1e-50"]).stdoutText.hasPrefix("0.11920"))
    #expect(try apply("1e39,1e40\n", ["--dtype", "float64"]).stdoutText == "0.0,1.0\n")
    // Infinities spelled out remain data under the special-value contract.
    #expect(try apply("inf,1e39\n").stdoutText == "1.0,0.0\n")
    let npy = try ToolRunner.run(
      ["apply", "-", "--output-format", "npy", "-o", "-"], stdin: Data("1e39 1e40\n".utf8))
    let (header, values) = try NPYFixture.read([UInt8](npy.stdout))
    #expect(header.elementType == .float32 && values == [0, 1])
  }

  @Test func numeralsBeyondDoubleAreErrors() throws {
    let result = try apply("1,2\n3,1e400\n")
    #expect(result.status == 1)
    #expect(
      result.stderr == "softmax apply: <stdin>:2:2: '1e400' is beyond the range of float64 "
        + "(about ±1.8e308)\n")
  }

  @Test func byteOrderMarksAndLineEnds() throws {
    #expect(try apply("\u{FEFF}1,1\n").stdoutText == "0.5,0.5\n")
    let header = try apply("\u{FEFF}a,b\r1,1\r2,2\r", ["--header"])
    #expect(header.stdoutText == "a,b\n0.5,0.5\n0.5,0.5\n")
    let hidden = try apply("1,\u{FEFF}2\n")
    #expect(hidden.status == 1)
    #expect(hidden.stderr == "softmax apply: <stdin>:1:2: '\\u{FEFF}2' is not a number\n")
  }

  @Test func nulBytesAreRefusedWithTheirPlace() throws {
    let result = try apply("1,2\n3,4\u{0}5\n")
    #expect(result.status == 1)
    #expect(
      result.stderr == "softmax apply: <stdin>:2: a NUL byte at byte 4 of the line: the input "
        + "is binary, not text\n")
  }

  /// Cells and file names are quoted in messages; their control characters are escaped.
  @Test func messagesNeverCarryRawControlCharacters() throws {
    let escape = try apply("1,\u{1B}[2J2\u{85}\n")
    #expect(escape.stderr == "softmax apply: <stdin>:1:2: '\\x1B[2J2\\u{85}' is not a number\n")
    let scratch = try Scratch()
    let name = try ToolRunner.run(["apply", "a\nb\rc.csv"], in: scratch.url)
    #expect(name.status == 1)
    #expect(name.stderr == "softmax apply: a\\nb\\rc.csv: No such file or directory\n")
    let usage = try ToolRunner.run(["apply", "m.csv", "--format", "x\u{7}y"], in: scratch.url)
    #expect(usage.status == 2)
    #expect(
      usage.stderr == "softmax apply: --format: unknown format 'x\\x07y' (known: "
        + "npy|csv|tsv|text)\n")
  }
}
