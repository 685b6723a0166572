import ArgumentParser
import Foundation
import Softmax

/// The options of `softmax check`. They live here rather than in the tool so that tests can
/// parse a real command line and run it in-process.
public struct CheckArguments: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Check only this kernel set: portable, avx2 or avx512 (default: every one this CPU has).",
      valueName: "name"))
  public var isa: String?

  @Flag(help: "Short rows only (lengths 1, 7, 100, 1000, 4099): seconds even in a debug build.")
  public var quick = false

  @Option(
    help: ArgumentHelp(
      "Row lengths, comma-separated: 1000, 64K, 1M or 2^20 (default: 1,7,1000,2^16,2^20).",
      valueName: "list"))
  public var sizes: String?

  @Option(help: "Seed of the random inputs.")
  public var seed: UInt64 = 1

  @Flag(help: "Print the report as JSON instead of a table.")
  public var json = false

  /// Set by the parent process: measure the kernel set this process was started with (through
  /// SOFTMAX_ISA) and print the measurements as JSON.
  @Option(help: .hidden)
  public var childIsa: String?

  /// Arguments with every option at its default.
  public init() {}
}

/// A mistake in how `softmax check` was called. The tool prints `description` as one line on
/// stderr and exits with status 2.
public struct CheckError: Error, CustomStringConvertible, Equatable {
  /// The one-line message.
  public var description: String

  /// An error with the message `description`.
  public init(_ description: String) { self.description = description }
}

/// The checked, resolved settings of one run.
public struct CheckConfiguration: Sendable {
  /// Default row lengths: a scalar row, a tail shorter than any vector, a row in L1, one in L2,
  /// and one long enough to be cut into chunks on every thread.
  public static let defaultSizes = [1, 7, 1000, 1 << 16, 1 << 20]
  /// `--quick`: fast enough for a debug build in the test suite; 4099 crosses the 4096-element
  /// blocks of the Two-Pass sums and leaves an odd tail.
  public static let quickSizes = [1, 7, 100, 1000, 4099]
  /// The longest row accepted: the reference keeps a few Doubles per element.
  static let maximumSize = 1 << 26

  /// The kernel sets to check, narrowest first.
  public var kernelSets: [String]
  /// Row lengths, ascending.
  public var sizes: [Int]
  /// Seed of the inputs.
  public var seed: UInt64
  /// Whether `--quick` chose the sizes.
  public var quick: Bool
  /// Print JSON rather than the table.
  public var json: Bool
  /// Non-nil in a child process: the kernel set this process must be running.
  public var childKernelSet: String?
  /// The bounds each family is judged by: ``AccuracyBounds/all`` unless a test replaces them.
  package var bounds: [AccuracyBound] = AccuracyBounds.all
  /// A test hook that alters Float outputs before they are measured, to prove the check fails
  /// on a wrong result.
  package var perturbation: (@Sendable (CheckedFunction, inout [Float]) -> Void)?

  /// Checks the arguments; every problem becomes a one-line ``CheckError``.
  public init(_ arguments: CheckArguments) throws {
    let available = SoftmaxRuntime.availableKernelSets
    func validated(_ name: String, option: String) throws -> String {
      guard available.contains(name) else {
        throw CheckError(
          "\(option): '\(name)' is not available on this CPU (available: "
            + "\(available.joined(separator: ", ")))")
      }
      return name
    }
    childKernelSet = try arguments.childIsa.map { try validated($0, option: "--child-isa") }
    if let isa = arguments.isa {
      kernelSets = [try validated(isa, option: "--isa")]
    } else {
      kernelSets = available
    }
    quick = arguments.quick
    if let list = arguments.sizes {
      sizes = try Self.parseSizes(list)
    } else {
      sizes = quick ? Self.quickSizes : Self.defaultSizes
    }
    seed = arguments.seed
    json = arguments.json
  }

  /// The bound for `family` in force.
  func bound(for family: FunctionFamily) -> AccuracyBound {
    bounds.first { $0.family == family } ?? AccuracyBounds.bound(for: family)
  }

  /// "1,7,64K,2^20" → [1, 7, 65536, 1048576], sorted, without duplicates.
  static func parseSizes(_ text: String) throws -> [Int] {
    var sizes = Set<Int>()
    for item in text.split(separator: ",", omittingEmptySubsequences: false) {
      let trimmed = item.trimmingCharacters(in: .whitespaces)
      let value: Int?
      if trimmed.hasPrefix("2^") {
        value = Int(trimmed.dropFirst(2)).flatMap { $0 >= 0 && $0 < 40 ? 1 << $0 : nil }
      } else if let last = trimmed.last, let shift = ["K": 10, "M": 20][last.uppercased()] {
        value = Int(trimmed.dropLast()).flatMap { $0 >= 0 && $0 < 1 << 30 ? $0 << shift : nil }
      } else {
        value = Int(trimmed)
      }
      guard let value, value >= 1, value <= maximumSize else {
        throw CheckError(
          "--sizes: '\(trimmed)' is not a row length from 1 to 2^26 (write e.g. 7,1000,64K,2^20)")
      }
      sizes.insert(value)
    }
    return sizes.sorted()
  }
}
