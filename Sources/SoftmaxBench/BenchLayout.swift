import ArgumentParser
import Foundation
import Softmax
internal import SoftmaxKernels

/// The mask of `--mask` for a shaped run.
public enum BenchMask: String, Sendable, Codable, CaseIterable, ExpressibleByArgument {
  /// No mask.
  case none
  /// Causal over [..., queries, keys], aligned so that the last query sees every key.
  case causal
  /// A random boolean mask of the row length, shared by the rows, about 10% dropped.
  case keep
  /// A random additive mask of the row length: about 10% −inf, the rest uniform in [−1, 1).
  case additive
}

/// The shaped array of `--shape`: its dimensions, the axis of the softmax, and the options
/// passed with it (`--temperature`, `--mask`).
public struct BenchLayout: Sendable, Codable, Equatable {
  /// Dimensions, outermost first.
  public var shape: [Int]
  /// The normalized axis, negative counting from the end.
  public var axis: Int
  /// The library's `temperature:`.
  public var temperature: Float = 1
  /// The mask passed as `mask:`.
  public var mask: BenchMask = .none

  /// The length of one row: the size of the axis.
  public var rowLength: Int { shape[(axis + shape.count) % shape.count] }

  /// Elements in the array.
  public var count: Int { shape.reduce(1, *) }

  /// "4096x1024 axis -1", for headers and the CSV's shape column.
  public var label: String {
    shape.map(String.init).joined(separator: "x") + " axis \(axis)"
  }

  /// Parses "4096x1024" (or "4096×1024") with `axis`; every problem is a one-line error.
  public init(parsing text: String, axis: Int) throws {
    let parts = text.split(
      omittingEmptySubsequences: false, whereSeparator: { $0 == "x" || $0 == "×" })
    var dimensions: [Int] = []
    for part in parts {
      guard let value = Int(part.trimmingCharacters(in: .whitespaces)), value >= 1 else {
        throw BenchError(
          "--shape: '\(part)' in '\(text)' is not a dimension (use e.g. 4096x1024 or 8x128256)")
      }
      dimensions.append(value)
    }
    let count = dimensions.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
    guard count >= 1, count <= 1 << 34 else {
      throw BenchError("--shape: \(text) has too many elements (at most 2^34)")
    }
    guard (-dimensions.count..<dimensions.count).contains(axis) else {
      throw BenchError(
        "--axis: \(axis) is out of range for --shape \(text) "
          + "(use \(-dimensions.count)...\(dimensions.count - 1))")
    }
    shape = dimensions
    self.axis = axis
  }

  /// Sets the options, checking them against the shape; every problem is a one-line error.
  public mutating func setOptions(temperature: Float?, mask: BenchMask?) throws {
    if let temperature {
      guard temperature.isFinite, temperature >= 0 else {
        throw BenchError("--temperature must be finite and ≥ 0 (got \(temperature))")
      }
      self.temperature = temperature
    }
    self.mask = mask ?? .none
    let index = (axis + shape.count) % shape.count
    if self.temperature != 1 || self.mask != .none {
      guard shape[(index + 1)...].allSatisfy({ $0 == 1 }) else {
        throw BenchError(
          "--temperature and --mask apply to the last axis; --axis \(axis) of \(shape) is not")
      }
    }
    if self.mask == .causal && shape.count < 2 {
      throw BenchError("--mask causal needs a --shape of rank ≥ 2 ([..., queries, keys])")
    }
  }

  /// The mask argument for the library: random masks of the row length from `seed`, built
  /// once per run (never inside a timed call). The same seed gives the same mask.
  public func softmaxMask(seed: UInt64) -> SoftmaxMask {
    let length = rowLength
    var generator = SplitMix64(seed: seed ^ 0x6D61_736B)
    switch mask {
    case .none:
      return .none
    case .causal:
      let queries = shape[shape.count - 2]
      return .causal(offset: Swift.max(0, length - queries))
    case .keep:
      return .keep((0..<length).map { _ in generator.unitFloat() >= 0.1 })
    case .additive:
      return .additive(
        (0..<length).map { _ in
          generator.unitFloat() < 0.1 ? -.infinity : generator.unitFloat() * 2 - 1
        })
    }
  }

  /// "temperature 0.7, mask keep", for headers and the CSV's columns.
  var optionsLabel: String {
    "temperature \(temperature), mask \(mask.rawValue)"
  }
}
