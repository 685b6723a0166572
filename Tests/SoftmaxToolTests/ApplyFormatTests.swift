import Foundation
import SoftmaxFiles
import Testing

/// `softmax apply` end to end: the built executable on files the tests make, every format,
/// element type, byte order and axis, checked against a Double reference.
@Suite struct ApplyFormatTests {
  @Test(arguments: ["<f2", ">f2", "<f4", ">f4", "<f8", ">f8"])
  func npyEveryTypeOrderAndAxis(descr: String) throws {
    let scratch = try Scratch()
    let tolerance = descr.hasSuffix("f2") ? 2e-3 : (descr.hasSuffix("f4") ? 2e-5 : 1e-12)
    for shape in [[7], [3, 5], [2, 3, 4]] {
      let count = shape.reduce(1, *)
      var x = pseudoRandom(count, seed: UInt64(count))
      if descr.hasSuffix("f2") { x = x.map { Double(Float16(Float($0))) } }
      if descr.hasSuffix("f4") { x = x.map { Double(Float($0)) } }
      try scratch.write("in.npy", NPYFixture.bytes(x, descr: descr, shape: shape))
      for axis in -shape.count..<shape.count {
        let result = try ToolRunner.run(
          [
            "apply", scratch.path("in.npy"), "-o", scratch.path("out.npy"), "--axis", "\(axis)",
            "--force",
          ])
        #expect(result.status == 0, "\(result.stderr)")
        let (header, y) = try NPYFixture.read(scratch.read("out.npy"))
        #expect(header.shape == shape)
        #expect(header.elementType.size == Int(String(descr.last!))!)
        #expect(header.byteOrder == (descr.hasPrefix(">") ? .bigEndian : .littleEndian))
        let expected = referenceSoftmax(x, shape: shape, axis: (axis + shape.count) % shape.count)
        #expect(maxRelativeError(y, expected, floor: 1e-3) <= tolerance, "\(shape) axis \(axis)")
      }
    }
    #expect(scratch.contents == ["in.npy", "out.npy"])
  }

  @Test func npyFormatVersionsTwoAndThree() throws {
    let scratch = try Scratch()
    let x: [Double] = [1, 2, 3, 4]
    for major: UInt8 in [2, 3] {
      try scratch.write("v.npy", NPYFixture.bytes(x, descr: "<f4", shape: [4], major: major))
      let result = try ToolRunner.run([
        "apply", scratch.path("v.npy"), "-o", scratch.path("o.npy"), "--force",
      ])
      #expect(result.status == 0, "\(result.stderr)")
      let (_, y) = try NPYFixture.read(scratch.read("o.npy"))
      #expect(maxRelativeError(y, referenceSoftmax(x, shape: [4], axis: 0)) < 1e-6)
    }
  }

  @Test func fortranOrderIsReadAsNumPyMeansIt() throws {
    let scratch = try Scratch()
    let shape = [3, 4]
    // Logical (row-major) values, stored column-major as NumPy does for fortran_order True.
    let logical = pseudoRandom(12, seed: 5)
    let stored = (0..<12).map { k in logical[(k % 3) * 4 + k / 3] }
    try scratch.write("f.npy", NPYFixture.bytes(stored, descr: "<f8", shape: shape, fortran: true))
    for axis in [0, 1] {
      let result = try ToolRunner.run(
        [
          "apply", scratch.path("f.npy"), "-o", scratch.path("o.npy"), "--axis", "\(axis)",
          "--force",
        ])
      #expect(result.status == 0, "\(result.stderr)")
      let (header, y) = try NPYFixture.read(scratch.read("o.npy"))
      #expect(header.fortranOrder)
      let expected = referenceSoftmax(logical, shape: shape, axis: axis)
      let expectedStored = (0..<12).map { k in expected[(k % 3) * 4 + k / 3] }
      #expect(maxRelativeError(y, expectedStored) < 1e-12)
    }
    // Text output of a Fortran array prints the logical rows.
    let text = try ToolRunner.run(["apply", scratch.path("f.npy"), "--output-format", "csv"])
    #expect(text.status == 0)
    let lines = text.stdoutText.split(separator: "\n")
    #expect(lines.count == 3)
    let first = lines[0].split(separator: ",").map { Double($0)! }
    #expect(
      maxRelativeError(first, Array(referenceSoftmax(logical, shape: shape, axis: 1)[0..<4]))
        < 1e-12)
  }

  @Test func logTemperatureArgmaxAndMaskPolicy() throws {
    let scratch = try Scratch()
    let x: [Double] = [1, 5, 5, -2, -.infinity, -.infinity, -.infinity, -.infinity]
    try scratch.write("x.npy", NPYFixture.bytes(x, descr: "<f4", shape: [2, 4]))
    func run(_ extra: [String]) throws -> [Double] {
      let result = try ToolRunner.run(
        ["apply", scratch.path("x.npy"), "-o", scratch.path("o.npy"), "--force"] + extra)
      #expect(result.status == 0, "\(result.stderr)")
      return try NPYFixture.read(scratch.read("o.npy")).1
    }
    let row = Array(x[0..<4])
    let logY = try run(["--log"])
    #expect(
      maxRelativeError(
        Array(logY[0..<4]), referenceSoftmax(row, shape: [4], axis: 0, logarithm: true)) < 1e-6)
    #expect(logY[4...].allSatisfy { $0 == -.infinity })
    let warm = try run(["--temperature", "2.5"])
    #expect(
      maxRelativeError(
        Array(warm[0..<4]), referenceSoftmax(row, shape: [4], axis: 0, temperature: 2.5)) < 1e-6)
    #expect(try run(["--temperature", "0"]) == [0, 0.5, 0.5, 0, 0, 0, 0, 0])
    let nan = try run(["--mask-policy", "nan"])
    #expect(nan[4...].allSatisfy { $0.isNaN })
    #expect(!nan[0..<4].contains { $0.isNaN })
    // Along an inner axis: the tool divides first and applies the policy itself.
    let columns = try run(["--axis", "0", "--temperature", "0.5", "--mask-policy", "nan"])
    #expect(columns[0].isFinite && abs(columns[0] - 1) < 1e-6)
    #expect((4..<8).allSatisfy { columns[$0] == 0 })
    #expect(try run(["--axis", "0", "--log"])[4...].allSatisfy { $0 == -.infinity })
  }

  @Test func csvTsvWhitespaceAndStandardInput() throws {
    let scratch = try Scratch()
    try scratch.write("s.csv", text: "id,a,b\r\n1, 2 ,3\n\n4,5,6\n")
    let csv = try ToolRunner.run(["apply", scratch.path("s.csv"), "--header"])
    #expect(csv.status == 0, "\(csv.stderr)")
    let lines = csv.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 4 && lines[0] == "id,a,b" && lines[3] == "")
    let row = lines[1].split(separator: ",").map { Double($0)! }
    #expect(maxRelativeError(row, referenceSoftmax([1, 2, 3], shape: [3], axis: 0)) < 1e-6)

    try scratch.write("t.tsv", text: "1\t2\n3\t4\n")
    let tsv = try ToolRunner.run([
      "apply", scratch.path("t.tsv"), "--axis", "0", "--dtype", "float64",
    ])
    #expect(tsv.status == 0)
    let first = tsv.stdoutText.split(separator: "\n")[0].split(separator: "\t").map { Double($0)! }
    #expect(maxRelativeError(first, [1 / (1 + exp(2.0)), 1 / (1 + exp(2.0))]) < 1e-15)

    let column = try ToolRunner.run(["apply", "-"], stdin: Data("0\n1\nnan\n".utf8))
    #expect(column.status == 0)
    #expect(column.stdoutText == "nan\nnan\nnan\n")
    let spaces = try ToolRunner.run(["apply", "-", "--log"], stdin: Data("  1 2   3\n".utf8))
    let values = spaces.stdoutText.split(separator: " ").map {
      Double($0.trimmingCharacters(in: .whitespacesAndNewlines))!
    }
    #expect(
      maxRelativeError(values, referenceSoftmax([1, 2, 3], shape: [3], axis: 0, logarithm: true))
        < 1e-6)
    let sniffed = try ToolRunner.run(["apply", "-"], stdin: Data("1,1\n".utf8))
    #expect(sniffed.stdoutText == "0.5,0.5\n")
  }

  @Test func convertsBetweenFormatsAndTypes() throws {
    let scratch = try Scratch()
    try scratch.write("s.csv", text: "1,2,3\n")
    let toNPY = try ToolRunner.run([
      "apply", scratch.path("s.csv"), "-o", scratch.path("s.npy"), "--dtype", "float16",
    ])
    #expect(toNPY.status == 0, "\(toNPY.stderr)")
    let (header, y) = try NPYFixture.read(scratch.read("s.npy"))
    #expect(header.elementType == .float16 && header.shape == [1, 3])
    let expected = referenceSoftmax([1, 2, 3], shape: [3], axis: 0)
    for (value, exact) in zip(y, expected) {
      let nearest = Float16(Float(exact))
      #expect(abs(value - Double(nearest)) <= Double(nearest.ulp))
    }
    try scratch.write("d.npy", NPYFixture.bytes([1, 2, 3], descr: ">f8", shape: [3]))
    let toText = try ToolRunner.run(["apply", scratch.path("d.npy"), "-o", scratch.path("d.txt")])
    #expect(toText.status == 0, "\(toText.stderr)")
    let printed = String(decoding: try scratch.read("d.txt"), as: UTF8.self)
    #expect(maxRelativeError(printed.split(separator: "\n").map { Double($0)! }, expected) < 1e-12)
  }

  @Test func emptyArraysAndScalars() throws {
    let scratch = try Scratch()
    try scratch.write("e.npy", NPYFixture.bytes([], descr: "<f4", shape: [0]))
    let empty = try ToolRunner.run(["apply", scratch.path("e.npy"), "-o", scratch.path("o.npy")])
    #expect(empty.status == 0, "\(empty.stderr)")
    #expect(try NPYFixture.read(scratch.read("o.npy")).1.isEmpty)
    try scratch.write("s.npy", NPYFixture.bytes([42], descr: "<f8", shape: []))
    let scalar = try ToolRunner.run(["apply", scratch.path("s.npy"), "-o", scratch.path("p.npy")])
    #expect(scalar.status == 0, "\(scalar.stderr)")
    let (header, y) = try NPYFixture.read(scratch.read("p.npy"))
    #expect(header.shape == [] && y == [1])
  }
}
