import Foundation
import Softmax

/// Runs `softmax check`: measures every kernel set, prints the table (or JSON) and returns the
/// exit status: 0 when everything is within the README's bounds, 1 when something is not (or a
/// measurement could not be taken), 2 for a usage error, reported as one line on stderr.
public struct CheckRunner {
  /// Where the measurements of each kernel set come from.
  public enum Source: Sendable {
    /// One child process per kernel set: `executable` started with `subcommand` and the hidden
    /// `--child-isa`, and `SOFTMAX_ISA` in its environment, because the library picks its
    /// kernel set once per process.
    case childProcesses(executable: String, subcommand: [String])
    /// This process, which can measure only the kernel set it already runs; without `--isa`
    /// that is the one checked.
    case inProcess
  }

  /// The parsed command line.
  public var arguments: CheckArguments
  /// How each kernel set is measured.
  public var source: Source
  /// Receives each line of the table or the JSON.
  public var standardOutput: (String) -> Void
  /// Receives progress and the one-line usage errors.
  public var standardError: (String) -> Void
  /// A test hook applied to the configuration after it is checked (to zero a bound or
  /// perturb outputs). Child processes never see it, so tests use ``Source/inProcess``.
  package var adjust: ((inout CheckConfiguration) -> Void)?

  /// A runner that prints to the process's stdout and stderr unless told otherwise.
  public init(
    arguments: CheckArguments, source: Source,
    standardOutput: @escaping (String) -> Void = { print($0) },
    standardError: @escaping (String) -> Void = {
      FileHandle.standardError.write(Data(($0 + "\n").utf8))
    }
  ) {
    self.arguments = arguments
    self.source = source
    self.standardOutput = standardOutput
    self.standardError = standardError
  }

  /// Runs the check and returns the process exit status (0, 1 or 2).
  public func run() -> Int32 {
    do {
      var configuration = try CheckConfiguration(arguments)
      adjust?(&configuration)
      if let kernelSet = configuration.childKernelSet {
        let path = try measureHere(kernelSet, configuration, option: "--child-isa")
        standardOutput(try Self.json(path))
        return 0
      }
      let report = try measureAll(configuration)
      if configuration.json {
        standardOutput(try Self.json(report))
      } else {
        CheckTable(report: report).lines.forEach(standardOutput)
      }
      return report.passed ? 0 : 1
    } catch let error as CheckError {
      standardError("softmax check: \(error.description)")
      return 2
    } catch {
      // Not the caller's mistake (an encoding failure): the check did not pass.
      standardError("softmax check: \(error)")
      return 1
    }
  }

  /// The path of the running executable, for ``Source/childProcesses(executable:subcommand:)``.
  public static var currentExecutable: String {
    #if os(Linux)
      if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        return path
      }
    #endif
    return Bundle.main.executablePath ?? CommandLine.arguments[0]
  }

  private func measureAll(_ configuration: CheckConfiguration) throws -> CheckReport {
    var paths: [PathReport] = []
    switch source {
    case .inProcess:
      let kernelSet =
        arguments.isa == nil ? SoftmaxRuntime.selectedKernelSet : configuration.kernelSets[0]
      paths = [try measureHere(kernelSet, configuration, option: "--isa")]
    case .childProcesses(let executable, let subcommand):
      for kernelSet in configuration.kernelSets {
        standardError("softmax check: measuring the \(kernelSet) kernels…")
        let child = ChildMeasurement(
          executable: executable, subcommand: subcommand, kernelSet: kernelSet,
          configuration: configuration)
        paths.append(child.run())
      }
    }
    return CheckReport(
      sizes: configuration.sizes, seed: configuration.seed, quick: configuration.quick,
      distributions: CheckDistribution.allCases.map(\.rawValue),
      specialCases: SpecialCase.all.map(\.name), paths: paths,
      passed: paths.allSatisfy(\.passed))
  }

  /// Measures `kernelSet` in this process, which must be running it.
  private func measureHere(
    _ kernelSet: String, _ configuration: CheckConfiguration, option: String
  ) throws -> PathReport {
    let running = SoftmaxRuntime.selectedKernelSet
    guard running == kernelSet else {
      throw CheckError(
        "\(option): this process runs the \(running) kernels, not \(kernelSet) "
          + "(SOFTMAX_ISA=\(ProcessInfo.processInfo.environment["SOFTMAX_ISA"] ?? "unset"))")
    }
    var measurement = PathMeasurement(configuration: configuration)
    return measurement.run()
  }

  /// Pretty, key-sorted JSON; infinities and NaN as strings, since JSON has no such numbers.
  static func json<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(value), as: UTF8.self)
  }

  /// Decodes what ``json(_:)`` wrote: the JSON of `softmax check --json`.
  public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try decoder.decode(type, from: Data(text.utf8))
  }
}
