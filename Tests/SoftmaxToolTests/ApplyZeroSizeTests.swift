import Foundation
import SoftmaxFiles
import Testing

/// Empty arrays finish at once whatever their other dimensions are (a 128-byte `.npy` of shape
/// (0, 2^40) once looped for minutes), and shapes whose element count overflows `Int` are a
/// one-line error, never a trap.
@Suite struct ApplyZeroSizeTests {
  static let huge = 1 << 40

  @Test(arguments: [
    [0], [0, huge], [huge, 0], [huge, huge, 0], [0, huge, huge], [huge, 0, huge], [1 << 62, 0],
  ])
  func emptyArraysFinishAtOnceOnEveryAxis(shape: [Int]) throws {
    let scratch = try Scratch()
    for descr in ["<f4", ">f8"] {
      try scratch.write("e.npy", NPYFixture.bytes([], descr: descr, shape: shape))
      for axis in -shape.count..<shape.count {
        for extra in [[], ["--log"], ["--temperature", "0.5"]] {
          let start = Date()
          let result = try ToolRunner.run(
            ["apply", "e.npy", "-o", "o.npy", "--force", "--axis", "\(axis)"] + extra,
            in: scratch.url)
          // A hang detector, not a speed test: the loop it guards ran for minutes, while a
          // process launch on a loaded two-core machine took 6.7 s (2026-12-02).
          #expect(Date().timeIntervalSince(start) < 60, "\(shape) axis \(axis)")
          #expect(result.status == 0 && result.stderr.isEmpty, "\(shape) \(axis): \(result.stderr)")
          let (header, values) = try NPYFixture.read(scratch.read("o.npy"))
          #expect(header.shape == shape && values.isEmpty)
        }
      }
    }
    #expect(scratch.contents == ["e.npy", "o.npy"])
  }

  @Test(arguments: [[1 << 32, 1 << 32], [3, 1 << 62], [huge, huge, huge], [1 << 61]])
  func overflowingShapesAreOneLineErrorsOnEveryAxis(shape: [Int]) throws {
    let scratch = try Scratch()
    // Some data, so that only the shape is wrong.
    try scratch.write("big.npy", NPYFixture.bytes([1, 2, 3, 4], descr: "<f8", shape: shape))
    for axis in -shape.count..<shape.count {
      let result = try ToolRunner.run(
        ["apply", "big.npy", "-o", "o.npy", "--axis", "\(axis)"], in: scratch.url)
      #expect(result.status == 1)
      #expect(
        result.stderr == "softmax apply: big.npy: corrupt .npy header: the shape "
          + "\(NPYHeader.describe(shape)) is too large\n")
    }
    #expect(scratch.contents == ["big.npy"])
  }

  /// A (3, 0) array as CSV is three empty lines; read back, blank lines are no values (an
  /// error that says why); (2^40, 0) as text would be 2^40 newlines, a usage error instead.
  @Test func arraysWithoutColumnsKeepTheirRowsAsText() throws {
    let scratch = try Scratch()
    try scratch.write("r.npy", NPYFixture.bytes([], descr: "<f4", shape: [3, 0]))
    let csv = try ToolRunner.run(["apply", "r.npy", "-o", "r.csv"], in: scratch.url)
    #expect(csv.status == 0, "\(csv.stderr)")
    #expect(try scratch.read("r.csv") == Array("\n\n\n".utf8))
    let back = try ToolRunner.run(["apply", "r.csv", "-o", "back.npy"], in: scratch.url)
    #expect(back.status == 1)
    #expect(
      back.stderr == "softmax apply: r.csv: the input has no values, only 3 blank lines (text "
        + "cannot hold an array of empty rows; use .npy)\n")
    try scratch.write("h.npy", NPYFixture.bytes([], descr: "<f4", shape: [Self.huge, 0]))
    let start = Date()
    let refused = try ToolRunner.run(["apply", "h.npy", "-o", "h.csv"], in: scratch.url)
    #expect(Date().timeIntervalSince(start) < 5)
    #expect(refused.status == 2)
    #expect(
      refused.stderr == "softmax apply: text output of shape (1099511627776, 0) would be "
        + "1099511627776 empty lines (at most 1048576); use --output-format npy\n")
    #expect(scratch.contents == ["h.npy", "r.csv", "r.npy"])
  }
}
