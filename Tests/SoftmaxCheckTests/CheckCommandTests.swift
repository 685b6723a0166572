import Foundation
import Softmax
import SoftmaxCheck
import Testing

/// Runs `softmax check` in-process (on the kernel set this test process runs) and shows both
/// that the library passes and that the check fails when a result is wrong.
@Suite struct CheckCommandTests {
  /// Captures printed lines; only touched from the test's own thread.
  final class Lines: @unchecked Sendable {
    var lines: [String] = []
  }

  struct Outcome {
    var status: Int32
    var stdout: [String]
    var stderr: [String]

    func report() throws -> CheckReport {
      try CheckRunner.decode(CheckReport.self, from: stdout.joined(separator: "\n"))
    }
  }

  static func run(
    _ arguments: [String], adjust: ((inout CheckConfiguration) -> Void)? = nil
  ) throws -> Outcome {
    let out = Lines()
    let err = Lines()
    var runner = CheckRunner(
      arguments: try CheckArguments.parse(arguments), source: .inProcess,
      standardOutput: { out.lines.append($0) }, standardError: { err.lines.append($0) })
    runner.adjust = adjust
    let status = runner.run()
    return Outcome(status: status, stdout: out.lines, stderr: err.lines)
  }

  @Test func quickCheckPassesOnTheRunningKernelSet() throws {
    let outcome = try Self.run(["--quick", "--json"])
    #expect(outcome.status == 0, "\(outcome.stdout.joined(separator: "\n"))")
    let report = try outcome.report()
    #expect(report.passed && report.quick)
    #expect(report.sizes == CheckConfiguration.quickSizes)
    let path = try #require(report.paths.first)
    #expect(report.paths.count == 1 && path.isa == SoftmaxRuntime.selectedKernelSet)
    #expect(path.kernelPath == SoftmaxRuntime.kernelPath && path.error == nil)
    #expect(path.functions.map(\.function) == CheckedFunction.allCases.map(\.name))
    for function in path.functions {
      #expect(function.passed, "\(function.function): \(function.failures)")
      #expect(function.cases >= 5 * CheckConfiguration.quickSizes.count, "\(function.function)")
      #expect(function.specialTotal == 7 && function.specialPassed == 7, "\(function.function)")
      if let limit = function.bound.maxError { #expect(function.maxError <= limit) }
    }
    // The measurement is real: rounding leaves some error in every Float softmax.
    let twoPass = try #require(path.functions.first { $0.function == "softmax two-pass" })
    #expect(twoPass.maxError > 0 && twoPass.maxSumError! > 0 && twoPass.maxULP! >= 1)
  }

  @Test func tableHasOneLinePerFunctionAndASummary() throws {
    let outcome = try Self.run(["--sizes", "1,7,1000"])
    #expect(outcome.status == 0)
    let isa = SoftmaxRuntime.selectedKernelSet
    for function in CheckedFunction.allCases {
      #expect(
        outcome.stdout.contains { $0.hasPrefix(isa) && $0.contains(function.name + " ") },
        "\(function.name)")
    }
    #expect(outcome.stdout.last?.hasPrefix("PASS: all") == true, "\(outcome.stdout.last ?? "")")
    #expect(outcome.stdout.contains { $0.contains("row lengths 1, 7, 1000") })
  }

  @Test func aPerturbedOutputFailsWithStatusOne() throws {
    // One Float probability of Two-Pass off by 0.1%: a hundred times the documented bound.
    let outcome = try Self.run(["--quick"]) { configuration in
      configuration.perturbation = { function, y in
        if function == .softmax(.twoPass), !y.isEmpty { y[0] *= 1.001 }
      }
    }
    #expect(outcome.status == 1)
    let failing = outcome.stdout.filter { $0.hasSuffix("FAIL") }
    #expect(failing.count == 1 && failing[0].contains("softmax two-pass"), "\(failing)")
    #expect(outcome.stdout.contains { $0.contains("max error 1.0e-3 > 1e-5") })
    #expect(outcome.stdout.last?.hasPrefix("FAIL: 1 of ") == true, "\(outcome.stdout.last ?? "")")
  }

  @Test func aBrokenSpecialValueFailsItsClause() throws {
    // NaN rows come out as zeros from the online algorithm: only that clause breaks.
    let outcome = try Self.run(["--quick", "--json"]) { configuration in
      configuration.perturbation = { function, y in
        if function == .softmax(.online), y.contains(where: { $0.isNaN }) {
          y = y.map { _ in 0 }
        }
      }
    }
    #expect(outcome.status == 1)
    let report = try outcome.report()
    #expect(!report.passed)
    for function in try #require(report.paths.first).functions {
      let broken = function.function == "softmax online"
      #expect(function.passed == !broken, "\(function.function)")
      #expect(function.specialPassed == (broken ? 6 : 7), "\(function.function)")
      if broken {
        #expect(function.failures.contains { $0.contains("NaN anywhere") }, "\(function.failures)")
      }
    }
  }

  @Test func aZeroBoundFailsEveryFloatSoftmax() throws {
    let outcome = try Self.run(["--sizes", "7,100", "--json"]) { configuration in
      configuration.bounds = AccuracyBounds.all.map {
        $0.family == .floatSoftmax ? $0.zeroed : $0
      }
    }
    #expect(outcome.status == 1)
    let functions = try #require(try outcome.report().paths.first).functions
    for function in functions {
      #expect(function.passed == (function.bound.family != .floatSoftmax), "\(function.function)")
      if function.function == "softmax auto" {
        #expect(function.failures.contains { $0.hasPrefix("max error") && $0.contains("> 0") })
      }
    }
  }

  @Test func usageErrorsAreOneLineWithStatusTwo() throws {
    let cases: [([String], String)] = [
      (
        ["--isa", "sse9"],
        "softmax check: --isa: 'sse9' is not available on this CPU (available: "
          + SoftmaxRuntime.availableKernelSets.joined(separator: ", ") + ")"
      ),
      (
        ["--sizes", "7,0"],
        "softmax check: --sizes: '0' is not a row length from 1 to 2^26 (write e.g. 7,1000,64K,2^20)"
      ),
      (["--sizes", "2^27"], "softmax check: --sizes: '2^27' is not a row length from 1 to 2^26"),
    ]
    for (arguments, message) in cases {
      let outcome = try Self.run(arguments)
      #expect(outcome.status == 2, "\(arguments)")
      #expect(outcome.stdout.isEmpty)
      #expect(
        outcome.stderr.count == 1 && outcome.stderr[0].hasPrefix(message), "\(outcome.stderr)")
    }
    // In-process, only the running kernel set can be measured.
    if let other = SoftmaxRuntime.availableKernelSets.first(where: {
      $0 != SoftmaxRuntime.selectedKernelSet
    }) {
      let outcome = try Self.run(["--isa", other, "--quick"])
      #expect(outcome.status == 2 && outcome.stderr.count == 1, "\(outcome.stderr)")
    }
  }

  @Test func sizesAcceptTheDocumentedForms() throws {
    let outcome = try Self.run(["--sizes", "2^3, 1K,7,1k", "--json", "--seed", "9"])
    let report = try outcome.report()
    #expect(report.sizes == [7, 8, 1024] && report.seed == 9 && !report.quick)
  }
}
