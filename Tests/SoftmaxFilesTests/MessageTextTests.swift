import Testing

import SoftmaxFiles

@Suite struct MessageTextTests {
  @Test func escapesEverythingThatCouldBreakOrHideInALine() {
    #expect(MessageText.escapingControls("a\nb\rc\td\0e") == "a\\nb\\rc\\td\\0e")
    #expect(MessageText.escapingControls("\u{1B}[31mred\u{7F}") == "\\x1B[31mred\\x7F")
    // A byte-order mark, a right-to-left override, C1 NEL, the Unicode line separator.
    #expect(
      MessageText.escapingControls("\u{FEFF}1\u{202E}2\u{85}3\u{2028}")
        == "\\u{FEFF}1\\u{202E}2\\u{85}3\\u{2028}")
  }

  @Test func leavesOrdinaryTextAlone() {
    let text = "scores.csv:3:2: 'é≥√x' is not a number (see --help)"
    #expect(MessageText.escapingControls(text) == text)
  }
}
