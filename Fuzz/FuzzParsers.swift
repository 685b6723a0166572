// libFuzzer entry point for the file parsers of SoftmaxFiles, compiled together with that
// target's sources by scripts/fuzz.sh (SwiftPM cannot link a fuzzer executable's main).
// Build with -D FUZZ_TEXT for the text reader, without it for the .npy header parser.
// Besides not crashing, each run checks properties every accepted input must have.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = UnsafeBufferPointer(start: data, count: size)
  #if FUZZ_TEXT
    for separator in TextSeparator.allCases {
      for headerLines in 0...1 {
        guard
          let table = try? TextTable(
            parsing: bytes, separator: separator, headerLines: headerLines)
        else { continue }
        precondition(table.rows > 0 && table.columns > 0, "an accepted table has data")
        precondition(table.values.count == table.rows * table.columns, "rows are not ragged")
        precondition(table.header.count <= headerLines, "at most the header lines asked for")
        let text = table.formatted(table.values, separator: separator) { "\($0)" }
        let again = try! TextTable(
          parsing: text, separator: separator, headerLines: table.header.count)
        precondition(again.values.count == table.values.count, "the output reads back")
      }
    }
  #else
    if let header = try? NPYHeader(parsing: bytes) {
      precondition(header.dataOffset <= size, "the data starts inside the input")
      precondition(header.dataByteCount != nil, "the size of an accepted shape fits in Int")
      let encoded = header.encoded()
      var reparsed = try! NPYHeader(parsing: encoded)
      reparsed.dataOffset = header.dataOffset
      precondition(reparsed == header, "encoding and parsing round-trip")
    }
  #endif
  return 0
}
