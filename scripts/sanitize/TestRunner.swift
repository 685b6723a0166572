// The entry point of scripts/sanitize.sh's test executables: what SwiftPM's generated test
// runner does for Swift Testing (tests are found in the linked test modules' metadata, and
// --filter and the other `swift test` options are read from the command line).
import Testing

@main
struct SanitizedTestRunner {
  static func main() async {
    await Testing.__swiftPMEntryPoint() as Never
  }
}
