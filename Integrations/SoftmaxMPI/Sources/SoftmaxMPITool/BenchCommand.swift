import ArgumentParser

struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "bench", abstract: "placeholder")
  func run() throws {}
}

struct FaultCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "fault", abstract: "placeholder", shouldDisplay: false)
  func run() throws {}
}
