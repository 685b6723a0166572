import SoftmaxBench
import Testing

@Suite struct SizeListTests {
  @Test func parsesSizesSuffixesPowersAndRanges() throws {
    #expect(try SizeList.parse("4096") == [4096])
    #expect(try SizeList.parse("4K, 1M,2^3") == [8, 4096, 1 << 20])
    #expect(try SizeList.parse("1K..8K") == [1024, 2048, 4096, 8192])
    #expect(try SizeList.parse("1K..16K:4") == [1024, 4096, 16384])
    #expect(try SizeList.parse("2^10..2^11,1K,3") == [3, 1024, 2048])
    #expect(try SizeList.parse("1g") == [1 << 30])
  }

  @Test(arguments: ["", "1K,", "abc", "2^", "2^99", "-4", "0", "8..4", "1..8:0", "1..8:x", "1T"])
  func rejectsMalformedLists(_ text: String) {
    #expect(throws: BenchError.self) { try SizeList.parse(text) }
  }

  @Test func labels() {
    #expect(SizeList.label(1 << 20) == "2^20")
    #expect(SizeList.label(1000) == "1000")
  }

  @Test func defaultSweepReachesFarOutOfCache() {
    #expect(BenchConfiguration.defaultSizes.first == 1024)
    #expect(BenchConfiguration.defaultSizes.max()! >= 1 << 27)
    #expect(BenchConfiguration.quickSizes.max()! <= 1 << 20)
  }
}
