// Array forms of the sharded operations: the same calls, on arrays.

import Softmax

extension ShardedSoftmax {
  /// The softmax of every row, this rank's columns of it, from an array of `rows ×
  /// columns.count` logits. See ``softmax(_:rows:into:)``.
  public func softmax<Element: SoftmaxElement>(_ shard: [Element], rows: Int) -> [Element] {
    var output = [Element](repeating: 0, count: shard.count)
    shard.withUnsafeBufferPointer { x in
      output.withUnsafeMutableBufferPointer { softmax(x, rows: rows, into: $0) }
    }
    return output
  }

  /// The log-softmax of every row, this rank's columns of it, from an array. See
  /// ``logSoftmax(_:rows:into:)``.
  public func logSoftmax<Element: SoftmaxElement>(_ shard: [Element], rows: Int) -> [Element] {
    var output = [Element](repeating: 0, count: shard.count)
    shard.withUnsafeBufferPointer { x in
      output.withUnsafeMutableBufferPointer { logSoftmax(x, rows: rows, into: $0) }
    }
    return output
  }

  /// log Σ e^x of every whole row, from an array. See ``logSumExp(_:rows:)-(UnsafeBufferPointer<Element>,_)``.
  public func logSumExp<Element: SoftmaxElement>(_ shard: [Element], rows: Int) -> [Double] {
    shard.withUnsafeBufferPointer { logSumExp($0, rows: rows) }
  }

  /// The cross-entropy of every row with its label, and this rank's columns of the gradient
  /// into `gradient` (resized to the shard's count if it differs). See
  /// ``crossEntropy(logits:rows:labels:reduction:options:gradient:losses:)``.
  public func crossEntropy<Element: SoftmaxElement>(
    logits: [Element], rows: Int, labels: [Int32], reduction: LossReduction = .mean,
    options: CrossEntropyOptions = .init(), gradient: inout [Element]
  ) -> Double {
    if gradient.count != logits.count {
      gradient = [Element](repeating: 0, count: logits.count)
    }
    return logits.withUnsafeBufferPointer { x in
      labels.withUnsafeBufferPointer { l in
        gradient.withUnsafeMutableBufferPointer { g in
          crossEntropy(
            logits: x, rows: rows, labels: l, reduction: reduction, options: options,
            gradient: g)
        }
      }
    }
  }
}
